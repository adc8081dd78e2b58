// Conditional requests answered by the edge (RFC 9110 §13): a client's If-None-Match or
// If-Modified-Since that matches what the edge holds gets a 304 without touching the origin; a
// failed If-Match / If-Unmodified-Since gets 412. Evaluated in the order of §13.2.2.
import { parseHttpDateValue } from './http-date.js';
import type { HeaderMap } from './headers.js';

export type ConditionalResult = 'none' | 'not-modified' | 'precondition-failed';

/** Splits an entity-tag list, keeping quoted tags whole (`W/"a", "b,c"`). */
function entityTags(value: string): string[] {
  return value.match(/(W\/)?"[^"]*"|\*/g) ?? [];
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** Weak comparison (§8.8.3.2): equal opaque tags, either may be weak. */
export function weakMatch(list: string, etag: string | undefined): boolean {
  const tags = entityTags(list);
  // `*` matches any current representation, with or without an entity tag (§13.1.2).
  if (tags.includes('*')) return true;
  if (etag === undefined) return false;
  const mine = opaque(etag);
  return tags.some((t) => opaque(t) === mine);
}

/** Strong comparison (§8.8.3.2): both strong and identical. */
export function strongMatch(list: string, etag: string | undefined): boolean {
  const tags = entityTags(list);
  // `*` matches any current representation (§13.1.1).
  if (tags.includes('*')) return true;
  if (etag === undefined || etag.startsWith('W/')) return false;
  return tags.some((t) => !t.startsWith('W/') && t === etag);
}

function asString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

export function evaluateConditionals(
  method: string,
  req: HeaderMap,
  status: number,
  etag: string | undefined,
  lastModified: string | undefined,
): ConditionalResult {
  // Preconditions apply to successful responses only (§13.2.1).
  if (status < 200 || status >= 300) return 'none';
  const lm = lastModified ? parseHttpDateValue(lastModified) : NaN;
  const ifMatch = asString(req['if-match']);
  if (ifMatch !== undefined) {
    if (!strongMatch(ifMatch, etag)) return 'precondition-failed';
  } else {
    const ius = asString(req['if-unmodified-since']);
    if (ius !== undefined) {
      const t = parseHttpDateValue(ius);
      if (!Number.isNaN(t) && (Number.isNaN(lm) || lm > t)) return 'precondition-failed';
    }
  }
  const inm = asString(req['if-none-match']);
  if (inm !== undefined) {
    if (weakMatch(inm, etag)) return method === 'GET' || method === 'HEAD' ? 'not-modified' : 'precondition-failed';
    return 'none';
  }
  if (method === 'GET' || method === 'HEAD') {
    const ims = asString(req['if-modified-since']);
    if (ims !== undefined && !Number.isNaN(lm)) {
      const t = parseHttpDateValue(ims);
      if (!Number.isNaN(t) && lm <= t) return 'not-modified';
    }
  }
  return 'none';
}

/** Fields a 304 carries from the full response (RFC 9110 §15.4.5). */
export const NOT_MODIFIED_FIELDS = new Set(['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified', 'via', 'x-served-by-origin', 'cdn-cache-control']);
