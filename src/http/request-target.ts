// The request path, made canonical once in recv (RFC 3986 §6.2.2): percent-encoded unreserved
// characters decoded, other escapes upper-cased, dot segments removed, repeated slashes merged (as
// nginx's merge_slashes does). Behaviors are chosen on it, the cache keys on it and the origin is
// sent it, so `/echo/../live/feed`, `/echo/%2e%2e/live/feed` and `//live/feed` all are `/live/feed`
// to every one of them — nothing can be cached under one name while the origin serves another.
// An encoded slash (`%2F`) stays encoded: opaque, never a separator. NUL, raw backslashes, control
// characters and broken escapes are refused.

export type NormalisedPath = { ok: true; path: string } | { ok: false; reason: string };

const HEX = '0123456789ABCDEF';

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** pchar without escapes (RFC 3986 §3.3): unreserved, sub-delims, ":" and "@". */
const PCHAR = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@") PCHAR[c.charCodeAt(0)] = 1;

/**
 * The fast path, one linear scan (a regular expression here backtracked exponentially on long
 * paths): nothing to decode, no segment starting with a dot, no repeated slash — most requests.
 */
function isPlain(raw: string): boolean {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x2f) {
      const next = raw.charCodeAt(i + 1);
      if (next === 0x2f || next === 0x2e) return false;
    } else if (c > 0x7f || PCHAR[c] === 0) return false;
  }
  return true;
}

export function normaliseRequestPath(raw: string): NormalisedPath {
  if (raw.length === 0 || raw.charCodeAt(0) !== 0x2f) return { ok: false, reason: 'The path must start with "/".' };
  if (isPlain(raw)) return { ok: true, path: raw };
  // 1. Escapes: decode the unreserved, upper-case the rest; refuse what must never reach a path.
  let decoded = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return { ok: false, reason: 'The path has a broken percent-escape.' };
      const byte = hi * 16 + lo;
      if (byte === 0) return { ok: false, reason: 'The path holds an encoded NUL.' };
      decoded += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[hi]}${HEX[lo]}`;
      i += 2;
      continue;
    }
    if (c < 0x21 || c === 0x7f) return { ok: false, reason: 'The path holds a control character or a space.' };
    if (c === 0x5c /* \ */) return { ok: false, reason: 'The path holds a backslash.' };
    if (c > 0x7e) {
      // A byte Node let through unencoded: encode it, so it is one spelling in the key and upstream.
      for (const b of Buffer.from(raw[i]!, 'latin1')) decoded += `%${HEX[b >> 4]}${HEX[b & 15]}`;
      continue;
    }
    decoded += raw[i];
  }
  // 2. Dot segments (RFC 3986 §5.2.4) and repeated slashes, on the whole segments.
  const trailing = decoded.endsWith('/') || /\/\.{1,2}$/.test(decoded);
  const out: string[] = [];
  for (const segment of decoded.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const path = '/' + out.join('/') + (trailing && out.length > 0 ? '/' : '');
  return { ok: true, path };
}
