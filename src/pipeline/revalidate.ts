// Freshening a stored object from a 304 (RFC 9111 §4.3.4): the new response's header fields replace
// the stored ones (except Content-Length and fields the edge keeps to itself, §3.2), and freshness
// is computed again from the merged fields as if the response had just arrived.
import { freshnessMeta } from '../cache/policy.js';
import type { CacheMeta } from '../cache/store.js';
import { endToEnd, firstValue, joinValues, type HeaderMap } from '../http/headers.js';
import type { RequestContext } from './context.js';
import { decideForBehavior, parseTags } from './store.js';
import { addVaryAcceptEncoding } from '../cache/compression.js';

/** Fields a 304 must not change in the stored response. */
const KEEP = new Set(['content-length', 'surrogate-control', 'surrogate-key', 'cache-tag', 'age', 'via', 'x-served-by-origin', 'cache-status']);

function withoutFields(flat: readonly string[], names: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if (!names.has(flat[i]!)) out.push(flat[i]!, flat[i + 1]!);
  return out;
}

/** Flat list → map of name → value(s). */
export function flatToMap(flat: readonly string[]): HeaderMap {
  const out: HeaderMap = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    const prev = out[name];
    out[name] = prev === undefined ? flat[i + 1]! : ([] as string[]).concat(prev, flat[i + 1]!);
  }
  return out;
}

export function mergeHeaders(stored: readonly string[], update: HeaderMap): string[] {
  const fresh = endToEnd(update);
  const replaced = new Set(Object.keys(fresh).filter((n) => !KEEP.has(n)));
  const out: string[] = [];
  for (let i = 0; i < stored.length; i += 2) if (!replaced.has(stored[i]!)) out.push(stored[i]!, stored[i + 1]!);
  for (const name of replaced) {
    const v = fresh[name]!;
    for (const value of Array.isArray(v) ? v : [v]) out.push(name, value);
  }
  return out;
}

/** Refusals that are about this one request, not the response: they must not evict the object. */
const REQUEST_ONLY = new Set(['request-no-store', 'authorization']);

export type Refreshed =
  | { kind: 'updated'; meta: CacheMeta }
  /** The response may not be stored any more: the object goes. */
  | { kind: 'unstorable' }
  /** This request may not update the store (its no-store, its Authorization): serve, keep as is. */
  | { kind: 'request-only'; meta: CacheMeta };

/** The stored object's metadata after a 304 (RFC 9111 §4.3.4). */
export function refreshedMeta(ctx: RequestContext, meta: CacheMeta, update: HeaderMap, now: number): Refreshed {
  let headers = mergeHeaders(meta.headers, update);
  // Surrogate-Control is kept apart from the client's fields: the 304's, else the stored one.
  const surrogateControl = joinValues(update['surrogate-control']) ?? meta.surrogateControl;
  const merged = surrogateControl === undefined ? flatToMap(headers) : { ...flatToMap(headers), 'surrogate-control': surrogateControl };
  const decision = decideForBehavior(ctx, meta.status, merged, now);
  if (!decision.storable && !REQUEST_ONLY.has(decision.reason!)) return { kind: 'unstorable' };
  // Fields the response says must not be stored stay out, whatever the 304 carried (§5.2.2.4, §5.2.2.7).
  if (decision.stripFields.length > 0) headers = withoutFields(headers, new Set(decision.stripFields));
  // The edge's own Vary: Accept-Encoding stays on objects it compresses.
  if (meta.compressible) addVaryAcceptEncoding(headers);
  const tags = parseTags(update);
  const refreshed: CacheMeta = {
    ...meta,
    headers,
    tags: tags.length > 0 ? tags : meta.tags,
    etag: firstValue(update['etag']) ?? meta.etag,
    lastModified: firstValue(update['last-modified']) ?? meta.lastModified,
    storedAt: now,
    surrogateControl,
    ...freshnessMeta(decision, now),
  };
  return decision.storable ? { kind: 'updated', meta: refreshed } : { kind: 'request-only', meta: refreshed };
}
