// Admission: what a site refuses before the cache or the origin is asked — its deny rules (scanner
// paths, methods it does not take) and its rate limits (per client address, per host). Called from
// recv; with `exemptHits`, the rate limits are checked only once the cache cannot answer (fetch and
// pass), so readers of cached pages are never slowed by a crawler's misses.
import { clock } from '../clock.js';
import { EdgeError } from '../errors.js';
import type { RequestContext } from './context.js';

/** Refuses the request if one of the site's deny rules covers it (403, 404, 444…). */
export function checkDeny(ctx: RequestContext): void {
  const rule = ctx.site!.deny?.match(ctx.method, ctx.path);
  if (rule === undefined) return;
  ctx.refused = { kind: 'denied', key: `${ctx.site!.name} ${rule.status}` };
  throw new EdgeError('denied', `(${rule.label})`, { status: rule.status === 444 ? 444 : rule.status, close: rule.status === 444 });
}

/**
 * Takes a token from the site's per-client and per-host buckets; over either limit: 429 with
 * Retry-After. `onMiss` tells whether the cache already failed to answer (exemptHits).
 */
export function checkRateLimit(ctx: RequestContext, onMiss: boolean): void {
  const limit = ctx.site?.rateLimit;
  // Warming and background refreshes are the edge's own requests: never limited.
  if (limit === undefined || limit.exemptHits !== onMiss || ctx.rateChecked || !ctx.fromClient) return;
  ctx.rateChecked = true;
  const client = ctx.clientIp;
  if (limit.allow.has(client)) return;
  const now = clock.now();
  const waitClient = limit.perClient?.take(client, now) ?? 0;
  const waitHost = waitClient > 0 ? 0 : (limit.perHost?.take(ctx.host, now) ?? 0);
  const wait = Math.max(waitClient, waitHost);
  if (wait === 0) return;
  ctx.refused = { kind: 'rateLimited', key: `${ctx.site!.name} ${waitClient > 0 ? 'client' : 'host'}` };
  throw new EdgeError('rate_limited', waitClient > 0 ? '(this client)' : '(this host)', { headers: { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) } });
}
