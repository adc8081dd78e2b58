// Warming: a URL fetched through this edge's own cache path (recv, hash, lookup, fetch, store)
// without a client attached, so the object is stored exactly as a reader's request would store it
// — same site, behavior, key and policy. Used by POST /warm and `blotcdn warm`.
import type { IncomingHttpHeaders } from 'node:http';
import { toEdgeError } from '../errors.js';
import { formatCacheStatus } from '../http/cache-status.js';
import { RequestContext, type EdgeRequest, type EdgeRuntime } from './context.js';
import { fetch } from './fetch.js';
import { hash, lookup } from './lookup.js';
import { recv } from './recv.js';
import { store } from './store.js';
import { discardBody } from '../origins/origin.js';

export interface WarmResult {
  url: string;
  /** `hit` (already fresh), `stored`, `not-stored` (the origin's answer may not be cached) or `error`. */
  result: 'hit' | 'stored' | 'not-stored' | 'error';
  status?: number;
  cache?: string;
  bytes?: number;
  ms: number;
  error?: string;
}

/** A request as the pipeline sees one, for a URL and no client. */
function syntheticRequest(url: URL, headers: IncomingHttpHeaders): EdgeRequest {
  return {
    method: 'GET',
    httpVersion: '1.1',
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    url: url.pathname + url.search,
    headers: { host: url.host, 'user-agent': 'blotcdn-warm', ...headers },
    socket: { remoteAddress: '127.0.0.1' },
  } as unknown as EdgeRequest;
}

export async function warmUrl(edge: EdgeRuntime, raw: string, headers: IncomingHttpHeaders = {}): Promise<WarmResult> {
  const started = performance.now();
  const done = (r: Omit<WarmResult, 'url' | 'ms'>): WarmResult => ({ url: raw, ms: Math.round((performance.now() - started) * 10) / 10, ...r });
  let url: URL;
  try {
    url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('only http and https URLs can be warmed');
  } catch (err) {
    return done({ result: 'error', error: (err as Error).message });
  }
  const ctx = new RequestContext(syntheticRequest(url, headers), undefined, edge, url.protocol === 'https:' ? 'https' : 'http');
  try {
    const next = await recv(ctx);
    if (next !== 'hash') return done({ result: 'not-stored', error: next === 'pass' ? 'this path bypasses the cache' : `answered by the edge itself (${next})` });
    hash(ctx);
    let step: string = await lookup(ctx);
    if (step === 'deliver' && (ctx.outcome === 'hit' || ctx.outcome === 'stale')) return done({ result: 'hit', status: ctx.object!.meta.status, cache: formatCacheStatus(edge.cdnId, ctx.cacheStatus) });
    while (step === 'fetch' || step === 'lookup') step = step === 'fetch' ? await fetch(ctx) : await lookup(ctx);
    if (step === 'store') step = store(ctx);
    if (step === 'synth') return done({ result: 'error', error: toEdgeError(ctx.error).message, status: toEdgeError(ctx.error).status });
    const cache = formatCacheStatus(edge.cdnId, ctx.cacheStatus);
    const flight = ctx.flight;
    if (flight?.head !== undefined) {
      // Wait for the whole body, as a reader would, so "stored" means stored.
      let bytes = 0;
      for await (const chunk of flight.read()) bytes += chunk.length;
      const result = ctx.outcome === 'hit' ? 'hit' : ctx.cacheStatus.stored ? 'stored' : 'not-stored';
      return done({ result, status: flight.head.status, cache, bytes });
    }
    if (ctx.originRes) discardBody(ctx.originRes.body);
    const status = ctx.originRes?.status ?? ctx.object?.meta.status;
    return done({ result: ctx.outcome === 'revalidated' ? 'stored' : 'not-stored', status, cache });
  } catch (err) {
    return done({ result: 'error', error: toEdgeError(err).message });
  }
}

/** Warms many URLs, at most `concurrency` at a time; results in the order given. */
export async function warmAll(edge: EdgeRuntime, urls: string[], concurrency = 4, onResult?: (r: WarmResult) => void): Promise<WarmResult[]> {
  const results: WarmResult[] = new Array(urls.length);
  let next = 0;
  const worker = async () => {
    while (next < urls.length) {
      const i = next++;
      results[i] = await warmUrl(edge, urls[i]!);
      onResult?.(results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, urls.length)) }, worker));
  return results;
}
