// HTTP-date exactly as RFC 9110 §5.6.7 defines it: the preferred IMF-fixdate and the two obsolete
// forms a recipient must still accept (RFC 850 and asctime). Anything else — `UTC` for `GMT`, a
// missing comma, doubled spaces, dashes in an IMF-fixdate, a one-digit hour — is not a date, and a
// caller treats it as invalid (an invalid Expires means already expired, RFC 9111 §5.3). Date.parse
// is not used: it accepts far more than HTTP allows, differently from one engine to the next.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// The names are case-sensitive (%s"…" in the grammar), and every separator is exactly one SP.
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850 = /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{2}| \d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

function build(year: number, month: string, day: number, hour: number, minute: number, second: number): number {
  // second 60 is a leap second (RFC 9110 allows it); minutes and hours have no slack.
  if (hour > 23 || minute > 59 || second > 60 || day < 1) return NaN;
  const m = MONTHS.indexOf(month);
  const t = Date.UTC(year, m, day, hour, minute, Math.min(second, 59));
  // 31 Feb and the like roll over into the next month: not a date.
  if (new Date(t).getUTCDate() !== day) return NaN;
  return t + (second === 60 ? 1000 : 0);
}

/**
 * RFC 850's two-digit year: a timestamp that appears more than 50 years in the future is in the
 * most recent past year with the same last two digits (RFC 9110 §5.6.7).
 */
export function rfc850Year(yy: number, now: number): number {
  const current = new Date(now).getUTCFullYear();
  let year = Math.floor(current / 100) * 100 + yy;
  if (year > current + 50) year -= 100;
  return year;
}

/** One HTTP-date → epoch ms; NaN when it is not exactly one of the three forms. */
export function parseHttpDateValue(value: string, now = Date.now()): number {
  let m = IMF_FIXDATE.exec(value);
  if (m) return build(Number(m[4]), m[3]!, Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7]));
  m = RFC850.exec(value);
  if (m) return build(rfc850Year(Number(m[4]), now), m[3]!, Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7]));
  m = ASCTIME.exec(value);
  if (m) return build(Number(m[7]), m[2]!, Number(m[3]!.trim()), Number(m[4]), Number(m[5]), Number(m[6]));
  return NaN;
}

/**
 * A date field as received: one field line holding one HTTP-date. Several lines (or a list) are
 * not a date — nothing says which one to believe.
 */
export function parseHttpDate(value: string | string[] | undefined, now?: number): number {
  if (value === undefined) return NaN;
  if (Array.isArray(value)) {
    if (value.length !== 1) return NaN;
    value = value[0]!;
  }
  return parseHttpDateValue(value, now);
}

/** epoch ms → IMF-fixdate (what Date#toUTCString writes). */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
