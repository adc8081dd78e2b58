// pass: send the request to the origin and hand back whatever it answers, storing nothing. Used
// for methods other than GET/HEAD and for behaviors that bypass the cache. A successful unsafe
// request invalidates what the cache holds for the URL (RFC 9111 §4.4) — in every worker of the
// machine — before it is answered.
import { primaryKey } from '../cache/cache-key.js';
import { normaliseHost } from '../sites/host.js';
import { toEdgeError } from '../errors.js';
import { firstValue } from '../http/headers.js';
import type { RequestContext } from './context.js';
import { originRequest } from './origin-request.js';
import { checkRateLimit } from './admission.js';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export async function pass(ctx: RequestContext): Promise<'deliver' | 'synth'> {
  checkRateLimit(ctx, true);
  const res = ctx.res;
  const abort = new AbortController();
  // The client left before the origin answered: stop the origin request too.
  const onClose = () => abort.abort();
  res?.once('close', onClose);
  ctx.edge.stats.originFetches++;
  ctx.outcome = 'pass';
  try {
    const originRes = await ctx.behavior!.origin.fetch(originRequest(ctx, false), abort.signal);
    ctx.originRes = originRes;
    ctx.member = originRes.member;
    ctx.attempts = originRes.attempts;
    ctx.originMs = performance.now() - ctx.started;
  } catch (err) {
    ctx.error = toEdgeError(err);
    return 'synth';
  } finally {
    res?.off('close', onClose);
  }
  if (!SAFE.has(ctx.method) && ctx.originRes.status < 400) await invalidateAfterUnsafe(ctx);
  return 'deliver';
}

/** The target URI, and Location / Content-Location when they name the same host (§4.4). */
async function invalidateAfterUnsafe(ctx: RequestContext): Promise<void> {
  const targets = new Set([primaryKey(ctx.scheme, ctx.host, ctx.path, ctx.query)]);
  for (const field of ['location', 'content-location']) {
    const value = firstValue(ctx.originRes!.headers[field]);
    if (value === undefined) continue;
    try {
      const url = new URL(value, `${ctx.scheme}://${ctx.authority}${ctx.path}`);
      if (normaliseHost(url.host) === ctx.host) targets.add(primaryKey(ctx.scheme, ctx.host, url.pathname, url.search));
    } catch {
      // not a URL: nothing to invalidate
    }
  }
  for (const key of targets) await ctx.edge.invalidate(key);
}
