// hash and lookup: build the cache key, find the stored variant, and classify the request as a hit,
// a stale hit (served now, refreshed in the background), or a miss that must go to the origin.
import { primaryKey } from '../cache/cache-key.js';
import { currentAge, usability } from '../cache/policy.js';
import type { StoredObject } from '../cache/store.js';
import { EdgeError } from '../errors.js';
import type { RequestContext } from './context.js';
import { refreshInBackground } from './refresh.js';
import { asEncoded, encodedKey } from '../cache/compression.js';
import { negotiateEncoding } from '../cache/vary.js';
import { clock } from '../clock.js';

export function hash(ctx: RequestContext): 'lookup' {
  ctx.primary = primaryKey(ctx.scheme, ctx.host, ctx.path, ctx.query);
  ctx.key = ctx.edge.cache.keyFor(ctx.primary, ctx.req.headers);
  return 'lookup';
}

/**
 * For a client that accepts br or gzip, the object's compressed copy if there is one; otherwise the
 * identity object now, and a copy made in the background for the next client.
 */
function withEncoding(ctx: RequestContext, identity: StoredObject): 'deliver' | Promise<'deliver'> {
  const { compressor, cache } = ctx.edge;
  if (compressor === undefined || identity.meta.size < compressor.options.minSize) return 'deliver';
  const encoding = negotiateEncoding(ctx.req.headers['accept-encoding']);
  if (encoding === 'identity') return 'deliver';
  const use = (copy: StoredObject | undefined): 'deliver' => {
    const encoded = copy && asEncoded(identity, copy);
    if (encoded) ctx.object = encoded;
    else compressor.request(identity, encoding);
    return 'deliver';
  };
  const copy = cache.get(encodedKey(identity.meta.key, encoding));
  return copy instanceof Promise ? copy.then(use) : use(copy);
}

export function lookup(ctx: RequestContext): 'deliver' | 'fetch' | Promise<'deliver' | 'fetch'> {
  const found = ctx.edge.cache.get(ctx.key);
  if (found instanceof Promise) return found.then((object) => classify(ctx, object));
  return classify(ctx, found);
}

function classify(ctx: RequestContext, object: StoredObject | undefined): 'deliver' | 'fetch' | Promise<'deliver'> {
  const now = clock.now();
  if (object !== undefined) {
    ctx.object = object;
    const meta = object.meta;
    if (ctx.purgedAt !== undefined && meta.storedAt <= ctx.purgedAt) {
      // A peer edge purged this after we stored it (we may not have heard yet): ask the origin again.
      ctx.cacheStatus = { fwd: 'stale', detail: 'peer-purge' };
      if (ctx.reqDirectives?.onlyIfCached) throw new EdgeError('not_cached');
      return 'fetch';
    }
    switch (usability(meta, now, ctx.reqDirectives)) {
      case 'fresh':
        ctx.outcome = 'hit';
        ctx.cacheStatus = { hit: true, ttl: meta.lifetimeMs / 1000 - currentAge(meta, now) };
        return meta.compressible ? withEncoding(ctx, object) : 'deliver';
      case 'stale-while-revalidate':
        // RFC 5861 §3: answer now with the stale object; one background fetch refreshes it.
        ctx.outcome = 'stale';
        ctx.cacheStatus = { hit: true, ttl: meta.lifetimeMs / 1000 - currentAge(meta, now), detail: 'stale-while-revalidate' };
        refreshInBackground(ctx);
        return meta.compressible ? withEncoding(ctx, object) : 'deliver';
      case 'revalidate': {
        // RFC 9211 §2.2: `request` when only the client's directives made a usable object go forward.
        const forced = ctx.reqDirectives !== undefined && usability(meta, now) !== 'revalidate';
        ctx.cacheStatus = { fwd: forced ? 'request' : 'stale' };
        if (ctx.reqDirectives?.onlyIfCached) throw new EdgeError('not_cached');
        return 'fetch';
      }
    }
  }
  // RFC 9111 §5.2.1.7: only-if-cached and nothing usable stored → 504.
  if (ctx.reqDirectives?.onlyIfCached) throw new EdgeError('not_cached');
  const uncacheable = ctx.edge.cache.uncacheableReason(ctx.primary);
  if (uncacheable !== undefined) {
    // Recently not storable: fetch without queueing behind another request (hit-for-miss).
    ctx.noCoalesce = true;
    ctx.cacheStatus = { fwd: 'miss', detail: `uncacheable-${uncacheable}` };
  } else {
    ctx.cacheStatus = { fwd: ctx.key === ctx.primary ? 'miss' : 'vary-miss' };
  }
  return 'fetch';
}
