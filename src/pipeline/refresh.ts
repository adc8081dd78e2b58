// A background refresh for stale-while-revalidate (RFC 5861 §3): one fetch per key (it becomes the
// key's flight, so further stale hits do not start another), run without a client attached. The
// stored object's validators make it a conditional request, so an unchanged object costs a 304.
import { RequestContext } from './context.js';
import { toEdgeError } from '../errors.js';
import { fetch } from './fetch.js';
import { store } from './store.js';
import { discardBody } from '../origins/origin.js';

export function refreshInBackground(ctx: RequestContext): void {
  const { cache } = ctx.edge;
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
  void run(bg);
}

async function run(bg: RequestContext): Promise<void> {
  try {
    if ((await fetch(bg)) !== 'store') return;
    store(bg);
    // Not storable: nobody reads this body, let it go.
    if (bg.flight === undefined && bg.originRes) discardBody(bg.originRes.body);
  } catch (err) {
    // Counted by its code (labels stay bounded); the message goes to the event log.
    const error = toEdgeError(err);
    bg.edge.stats.bump(bg.edge.stats.errors, error.code);
    bg.edge.events.warn({ code: error.code, url: bg.primary, err: (err as Error).message }, 'background refresh failed');
  }
}
