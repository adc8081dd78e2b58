// Warming: a URL fetched through this edge's own request path — the step driver runs recv, hash,
// lookup, fetch and store without a client attached — so the object is stored exactly as a
// reader's request would store it (same site, behavior, key and policy). Each URL is a `warm` task
// (bounded concurrency). Two warms of one URL at once share one origin fetch through the flight —
// not through the task runner, which would also merge a warm asked after a purge into one that
// began before it and whose answer the purge refuses. Used by POST /warm and `blotcdn warm`.
import type { IncomingHttpHeaders } from 'node:http';
import { toEdgeError } from '../errors.js';
import { formatCacheStatus } from '../http/cache-status.js';
import { RequestContext, type EdgeRequest, type EdgeRuntime } from './context.js';
import { drive, type StepName } from './pipeline.js';
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

/** Where a warm stops: where a client would be answered, or the edge answers itself. */
const UNTIL: ReadonlySet<StepName> = new Set(['deliver', 'pass', 'challenge', 'redirect', 'synth']);

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

let warms = 0;

export function warmUrl(edge: EdgeRuntime, raw: string, headers: IncomingHttpHeaders = {}): Promise<WarmResult> {
  return edge.tasks.run('warm', `${raw}\u0000${++warms}`, () => warmOnce(edge, raw, headers));
}

async function warmOnce(edge: EdgeRuntime, raw: string, headers: IncomingHttpHeaders): Promise<WarmResult> {
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
    const end = await drive(ctx, 'recv', UNTIL);
    const cache = formatCacheStatus(edge.cdnId, ctx.cacheStatus);
    switch (end) {
      case 'pass':
        return done({ result: 'not-stored', error: 'this path bypasses the cache' });
      case 'challenge':
      case 'redirect':
        return done({ result: 'not-stored', error: `answered by the edge itself (${end})` });
      case 'synth': {
        const error = toEdgeError(ctx.error);
        return done({ result: 'error', error: error.message, status: error.status });
      }
    }
    if (ctx.flight === undefined && (ctx.outcome === 'hit' || ctx.outcome === 'stale')) return done({ result: 'hit', status: ctx.object?.meta.status, cache });
    const flight = ctx.flight;
    if (flight?.head !== undefined) {
      // Wait for the whole body, as a reader would, and for the store's verdict: "stored" means
      // stored (a purge that came meanwhile may have refused it).
      let bytes = 0;
      for await (const chunk of flight.read()) bytes += chunk.length;
      if (ctx.outcome === 'hit') return done({ result: 'hit', status: flight.head.status, cache, bytes });
      const stored = ctx.cacheStatus.stored === true && (await flight.committed);
      return done({ result: stored ? 'stored' : 'not-stored', status: flight.head.status, cache, bytes });
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
