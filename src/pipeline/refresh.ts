// A background refresh for stale-while-revalidate (RFC 5861 §3): the request's own fetch and store
// steps, run by the step driver without a client attached. It becomes the key's flight, so further
// stale hits do not start another; the stored object's validators make it a conditional request,
// so an unchanged object costs a 304. Run as a named background task (deduplicated by key).
import { toEdgeError } from '../errors.js';
import { RequestContext } from './context.js';
import { drive, type StepName } from './pipeline.js';
import { discardBody } from '../origins/origin.js';

/** A refresh stops where a client would be answered: nobody is waiting for the answer. */
const UNTIL: ReadonlySet<StepName> = new Set(['deliver', 'synth']);

export function refreshInBackground(ctx: RequestContext): void {
  const { cache, tasks } = ctx.edge;
  if (cache.flights.get(ctx.key) !== undefined) return;
  const bg = new RequestContext(ctx.req, undefined, ctx.edge, ctx.scheme);
  bg.authority = ctx.authority;
  bg.host = ctx.host;
  bg.path = ctx.path;
  bg.query = ctx.query;
  bg.site = ctx.site;
  bg.behavior = ctx.behavior;
  bg.primary = ctx.primary;
  bg.key = ctx.key;
  bg.object = ctx.object;
  bg.reqDirectives = ctx.reqDirectives;
  void tasks.run('refresh', ctx.key, () => refresh(bg));
}

async function refresh(bg: RequestContext): Promise<void> {
  await drive(bg, 'fetch', UNTIL);
  // Not stored (or revalidated): nobody reads this body, let it go.
  if (bg.flight === undefined && bg.originRes) discardBody(bg.originRes.body);
  if (bg.error !== undefined && bg.outcome !== 'stale') {
    // Counted by its code (labels stay bounded); the message goes to the event log.
    const error = toEdgeError(bg.error);
    bg.edge.stats.bump(bg.edge.stats.errors, error.code);
    bg.edge.events.warn({ code: error.code, url: bg.primary, err: error.message }, 'background refresh failed');
  }
}
