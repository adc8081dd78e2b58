// Redis Stream entry ids (`<ms>-<seq>`): ordering and the time they carry. Kept apart so the purge
// bus's catch-up arithmetic can be unit-tested without a server.

/** -1, 0 or 1 as `a` is before, equal to or after `b`. */
export function compareIds(a: string, b: string): number {
  const [am, as] = split(a);
  const [bm, bs] = split(b);
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

/** The epoch ms an id was made at (its first part). */
export function idTime(id: string): number {
  return Number(split(id)[0]);
}

function split(id: string): [bigint, bigint] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(id);
  if (!m) throw new Error(`not a stream id: ${JSON.stringify(id)}`);
  return [BigInt(m[1]!), BigInt(m[2] ?? '0')];
}

/** Reads XINFO STREAM's flat reply ([name, value, …]) into an object. */
export function infoFields(reply: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
  return out;
}
