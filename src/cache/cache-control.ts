// Parsing of Cache-Control and the targeted fields that share its syntax (CDN-Cache-Control,
// Surrogate-Control). Written here rather than taken from a library because it runs on every
// origin response and we need the exact RFC edge cases (first occurrence wins, quoted values with
// commas, delta-seconds overflow) in one place that the policy module can rely on.
import { parseDictionary, Token } from 'structured-headers';

/** Directive name (lower case) → value (`true` when it has none). First occurrence wins. */
export type Directives = Map<string, string | true>;

const EMPTY: Directives = new Map();

/**
 * Parses `a, b=1, c="x, y"` into directives (RFC 9111 §5.2: `token [ "=" ( token / quoted-string ) ]`).
 * Several field lines are one comma-separated list (RFC 9110 §5.3).
 */
export function parseDirectives(value: string | string[] | undefined): Directives {
  if (value === undefined) return EMPTY;
  const text = Array.isArray(value) ? value.join(',') : value;
  if (text.length === 0) return EMPTY;
  const out: Directives = new Map();
  let i = 0;
  const n = text.length;
  while (i < n) {
    // skip separators and whitespace
    while (i < n && (text[i] === ',' || text[i] === ' ' || text[i] === '\t')) i++;
    if (i >= n) break;
    let start = i;
    while (i < n && text[i] !== '=' && text[i] !== ',') i++;
    const name = text.slice(start, i).trim().toLowerCase();
    let val: string | true = true;
    if (i < n && text[i] === '=') {
      i++;
      while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
      if (text[i] === '"') {
        i++;
        let s = '';
        while (i < n && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < n) i++;
          s += text[i];
          i++;
        }
        i++; // closing quote
        val = s;
        while (i < n && text[i] !== ',') i++;
      } else {
        start = i;
        while (i < n && text[i] !== ',') i++;
        val = text.slice(start, i).trim();
      }
    }
    // RFC 9111 §4.2.1: with duplicated directives a cache may use the first occurrence.
    if (name && !out.has(name)) out.set(name, val);
  }
  return out;
}

/** Largest delta-seconds value a cache has to represent (RFC 9111 §1.2.2). */
export const DELTA_SECONDS_MAX = 2_147_483_648;

/**
 * The delta-seconds value of a directive: a non-negative integer, capped at 2^31 (RFC 9111 §1.2.2).
 * `invalid` when present but not a number, which callers treat as "stale" (RFC 9111 §4.2.1).
 */
export function deltaSeconds(d: Directives, name: string): number | undefined | 'invalid' {
  const v = d.get(name);
  if (v === undefined) return undefined;
  if (v === true || !/^\d+$/.test(v)) return 'invalid';
  const n = Number(v);
  return n > DELTA_SECONDS_MAX ? DELTA_SECONDS_MAX : n;
}

/**
 * Surrogate-Control (W3C Edge Architecture 1.0) allows `max-age=N+M` where M is a stale grace; we
 * read N as max-age and M as stale-while-revalidate, and keep no-store.
 */
export function parseSurrogateControl(value: string | string[] | undefined): Directives {
  const raw = parseDirectives(value);
  if (raw.size === 0) return raw;
  const out: Directives = new Map();
  for (const [k, v] of raw) {
    if (k === 'max-age' && typeof v === 'string' && v.includes('+')) {
      const [age, grace] = v.split('+');
      out.set('max-age', age!.trim());
      if (!out.has('stale-while-revalidate')) out.set('stale-while-revalidate', grace!.trim());
    } else if (!out.has(k)) out.set(k, v);
  }
  return out;
}

/** Directives whose value is delta-seconds: in a Structured Field they must be Integers. */
const DELTA_DIRECTIVES = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error']);

/**
 * A targeted field (CDN-Cache-Control, `<cdnId>-Cache-Control`) is a Structured Field dictionary
 * (RFC 9213 §2.1, RFC 8941). Returns undefined when the field must be ignored as a whole: it does
 * not parse (`max-age=10000, &&&&&`), or a delta-seconds directive is not a non-negative Integer
 * (`max-age="10000"`, `max-age=1.5`). Several field lines are one dictionary (RFC 8941 §4.2).
 */
export function parseTargetedField(value: string | string[]): Directives | undefined {
  const text = Array.isArray(value) ? value.join(', ') : value;
  let dict: ReturnType<typeof parseDictionary>;
  try {
    dict = parseDictionary(text);
  } catch {
    return undefined;
  }
  const out: Directives = new Map();
  for (const [name, member] of dict) {
    const item = member[0];
    if (Array.isArray(item)) return undefined; // an inner list is no directive of ours
    if (DELTA_DIRECTIVES.has(name)) {
      if (typeof item !== 'number' || !Number.isInteger(item) || item < 0) return undefined;
      out.set(name, String(item));
    } else if (item === true) out.set(name, true);
    else if (typeof item === 'string' || typeof item === 'number') out.set(name, String(item));
    else if (item instanceof Token) out.set(name, item.toString());
    // byte sequences, dates and false booleans name nothing a cache acts on
  }
  return out;
}
