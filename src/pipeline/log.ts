// log: once per request, after the response is finished (or abandoned): counters for the admin
// API and metrics, and the access log line.
import type { RequestContext } from './context.js';

export function log(ctx: RequestContext): void {
  if (ctx.logged) return;
  ctx.logged = true;
  const { stats } = ctx.edge;
  stats.count(ctx.outcome, ctx.status, ctx.bytes);
  stats.timing(ctx.outcome, (performance.now() - ctx.started) / 1000, ctx.originMs === undefined ? undefined : ctx.originMs / 1000);
  if (ctx.error) stats.bump(stats.errors, ctx.error.code);
  if (ctx.refused) stats.bump(stats[ctx.refused.kind], ctx.refused.key);
  const fwd = ctx.cacheStatus.fwd;
  if (fwd !== undefined && fwd !== 'bypass' && fwd !== 'method' && !ctx.cacheStatus.collapsed) stats.missed(ctx.primary || `${ctx.scheme}://${ctx.host}${ctx.path}`);
  ctx.edge.accessLog?.(ctx);
}
