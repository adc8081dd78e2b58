// Vary (RFC 9111 §4.1): a response that varies is stored under its primary key plus a secondary key
// made of the request's values for the named fields, normalised so equivalent requests share one
// variant. Accept-Encoding is reduced to the encoding the client would actually get (br, gzip or
// identity) so `gzip, deflate, br` and `br;q=1, gzip` do not each make a copy.
import { connectionListed, type HeaderMap } from '../http/headers.js';

/** Field names from Vary, lower case, sorted and without duplicates; `*` when it contains `*`. */
export function parseVary(value: string | string[] | undefined): string[] | '*' {
  if (value === undefined) return [];
  const names = new Set<string>();
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '*') return '*';
    if (name) names.add(name);
  }
  return [...names].sort();
}

/** Parses `gzip;q=0.5, br` into coding → q (RFC 9110 §12.5.3); codings are case-insensitive. */
function acceptedCodings(value: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of value.split(',')) {
    const [coding, ...params] = part.split(';');
    const name = coding!.trim().toLowerCase();
    if (!name) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (!out.has(name)) out.set(name, Number.isFinite(q) ? q : 0);
  }
  return out;
}

export type ServedEncoding = 'br' | 'gzip' | 'identity';

/** The one encoding the edge would serve for this Accept-Encoding: br, then gzip, else identity. */
export function negotiateEncoding(value: string | string[] | undefined): ServedEncoding {
  if (value === undefined) return 'identity';
  const codings = acceptedCodings(Array.isArray(value) ? value.join(',') : value);
  const star = codings.get('*');
  const q = (name: string) => codings.get(name) ?? (star !== undefined ? star : 0);
  if (q('br') > 0) return 'br';
  if (q('gzip') > 0 || (codings.get('x-gzip') ?? 0) > 0) return 'gzip';
  return 'identity';
}

/** A header's value as the secondary key sees it: lines joined, whitespace around commas folded. */
export function normaliseFieldValue(name: string, value: string | string[] | undefined): string {
  if (value === undefined) return '';
  if (name === 'accept-encoding') return negotiateEncoding(value);
  const joined = Array.isArray(value) ? value.join(',') : value;
  return joined
    .split(',')
    .map((s) => s.trim().replace(/\s+/g, ' '))
    .filter(Boolean)
    .join(',');
}

/**
 * The secondary key for `names` (already sorted) from the request headers. An absent field is
 * written without a colon, so it matches only another absent field, not an empty one (§4.1). A field
 * the client's Connection names is hop-by-hop: the origin is never sent it, so it keys as absent
 * (else `Accept-Language: de` + `Connection: accept-language` would store the page the origin built
 * without it as the German copy).
 */
export function secondaryKey(names: readonly string[], headers: HeaderMap): string {
  const hopByHop = headers['connection'] === undefined ? undefined : connectionListed(headers);
  let out = '';
  for (const name of names) {
    const value = hopByHop?.has(name) ? undefined : headers[name];
    out += value === undefined && name !== 'accept-encoding' ? `\n${name}` : `\n${name}:${normaliseFieldValue(name, value)}`;
  }
  return out;
}
