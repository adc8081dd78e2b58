// What the edge sends to the origin, and what of the origin's answer it passes on. Requests made to
// fill the cache are normalised: always GET (a HEAD miss fills the cache too), no client
// conditionals or ranges (the edge answers those itself from the full object), the edge's own
// validators when it revalidates, and Accept-Encoding reduced to what the stored variant stands for.
import { endToEnd, forwardRequestHeaders, type HeaderMap } from '../http/headers.js';
import { negotiateEncoding } from '../cache/vary.js';
import type { OriginRequest } from '../origins/origin.js';
import type { EdgeResponse, RequestContext } from './context.js';
import type { Socket } from 'node:net';
import { peerAddress } from '../server/proxy-protocol.js';
import { PURGED_AT, purgedAtFor } from '../cluster/shield.js';

const CLIENT_CONDITIONALS = ['range', 'if-range', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since'];
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE']);

export function originRequest(ctx: RequestContext, forCache: boolean): OriginRequest {
  const { edge } = ctx;
  const headers = forwardRequestHeaders(ctx.req.headers, {
    peer: peerAddress(ctx.req.socket as Socket | undefined),
    proto: ctx.scheme,
    host: ctx.authority,
    via: edge.via,
    cdnLoop: edge.cdnLoopEntry,
    drop: ctx.behavior?.forwardDrop,
  });
  ctx.behavior?.requestRules?.applyMap(headers, ctx);
  // Only this node says when it purged (and only to a shield: HttpOrigin drops it for others).
  delete headers[PURGED_AT];
  if (forCache && edge.toShield) {
    const at = purgedAtFor(edge.purger.held, ctx.primary, ctx.purgedAt);
    if (at !== undefined) headers[PURGED_AT] = String(at);
  }
  const onInfo = ctx.res === undefined ? undefined : (_status: number, hints: HeaderMap) => forwardEarlyHints(ctx, hints);
  if (!forCache) {
    const hasBody = !BODYLESS.has(ctx.method) || headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined;
    return { method: ctx.method, path: ctx.path + ctx.query, headers, body: hasBody ? ctx.req : null, onInfo };
  }
  for (const name of CLIENT_CONDITIONALS) delete headers[name];
  // With edge compression the edge asks for identity and compresses once itself; otherwise the
  // origin sees the one encoding the stored variant stands for.
  if (edge.compressor) headers['accept-encoding'] = 'identity';
  else if (headers['accept-encoding'] !== undefined) headers['accept-encoding'] = negotiateEncoding(headers['accept-encoding']);
  const meta = ctx.object?.meta;
  if (meta) {
    // RFC 9111 §4.3.1: validate the stored response with its own validators.
    if (meta.etag) headers['if-none-match'] = meta.etag;
    if (meta.lastModified) headers['if-modified-since'] = meta.lastModified;
  }
  return { method: 'GET', path: ctx.path + ctx.query, headers, body: null, onInfo };
}

/**
 * A 103 Early Hints from the origin, passed on to the client that is waiting for this answer (never
 * stored: RFC 9110 §15.2). Only its Link fields matter to a client; one without any is dropped.
 */
function forwardEarlyHints(ctx: RequestContext, hints: HeaderMap): void {
  const res = ctx.res as (EdgeResponse & { writeEarlyHints?: (h: Record<string, string | string[]>) => void }) | undefined;
  const link = hints['link'];
  if (res === undefined || link === undefined || res.headersSent || typeof res.writeEarlyHints !== 'function') return;
  try {
    res.writeEarlyHints({ link });
  } catch {
    // a Link value Node refuses to write: the hint is only a hint
  }
}

/** Fields the edge consumes and never passes to clients (targeted at surrogates, or purge tags). */
const EDGE_ONLY = new Set(['surrogate-control', 'surrogate-key', 'cache-tag']);
/** Stored objects get Age (from their own age, RFC 9111 §4.2.3) and Content-Length when served. */
const NOT_STORED = new Set([...EDGE_ONLY, 'age']);

/**
 * The origin's response headers as the client gets them, as a flat list for writeHead: end-to-end
 * fields only, without edge-only fields or `strip`, plus Via and the member that answered. For a
 * stored object (`forStore`), without Age and Content-Length too: both are written at delivery.
 */
export function clientHeaders(ctx: RequestContext, origin: HeaderMap, strip?: readonly string[], forStore = false): string[] {
  const base = forStore ? NOT_STORED : EDGE_ONLY;
  const drop = strip && strip.length > 0 ? new Set([...base, ...strip]) : base;
  const fields = endToEnd(origin, drop);
  const out: string[] = [];
  let via: string | undefined;
  for (const name in fields) {
    if (name === 'via') {
      via = Array.isArray(fields[name]) ? (fields[name] as string[]).join(', ') : (fields[name] as string);
      continue;
    }
    if (forStore && name === 'content-length') continue;
    if (name === 'x-served-by-origin' && ctx.edge.servedByHeader) continue;
    const value = fields[name]!;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  out.push('via', via ? `${via}, ${ctx.edge.via}` : ctx.edge.via);
  if (ctx.edge.servedByHeader && ctx.member) out.push('x-served-by-origin', ctx.member);
  return out;
}

/** A flat header list → a field value (first occurrence), for the few fields the edge reads back. */
export function headerValue(flat: readonly string[], name: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}
