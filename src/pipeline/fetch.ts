// fetch: get the object from the origin group — or join the fetch another request already started
// for the same key, and read the body as it streams in. Only one origin request is made per key at
// a time; joiners of a response that turns out not storable go to the origin themselves.
import { Flight } from '../cache/flight.js';
import { canServeStaleOnError, currentAge, usability } from '../cache/policy.js';
import { clock } from '../clock.js';
import { Uncacheable } from '../cache/single-flight.js';
import { EdgeError, toEdgeError } from '../errors.js';
import { clientGone, type RequestContext } from './context.js';
import { originRequest } from './origin-request.js';
import { checkRateLimit } from './admission.js';

/** A flight ended by a revalidation (304): the stored object is fresh again, look it up anew. */
export class LookupAgain extends Error {
  constructor() {
    super('object revalidated; look it up again');
    this.name = 'LookupAgain';
  }
}

const MAX_RESTARTS = 3;

export async function fetch(ctx: RequestContext): Promise<'store' | 'deliver' | 'fetch' | 'lookup' | 'synth'> {
  const { cache, stats } = ctx.edge;
  checkRateLimit(ctx, true);
  if (!ctx.noCoalesce) {
    const running = cache.flights.get(ctx.key);
    // A fetch that began before a peer edge's purge may bring the old copy back: not joined.
    if (running !== undefined && ctx.purgedAt !== undefined && running.startedAt <= ctx.purgedAt) ctx.noCoalesce = true;
    else if (running !== undefined && running.joinable) return join(ctx, running);
  }
  // A client that went away before its miss was fetched (a reset HTTP/2 stream) starts nothing.
  if (ctx.res !== undefined && clientGone(ctx.res)) throw new EdgeError('client_gone');
  // Lead: the flight is registered so later requests for this key join it instead of fetching.
  const flight = ctx.noCoalesce ? new Flight(ctx.key) : cache.flights.begin(ctx.key);
  ctx.flight = flight;
  stats.originFetches++;
  // When every client waiting on this fetch has gone away before the origin answered, the origin
  // request is cancelled (a flood of reset streams must not become a flood of origin fetches).
  const abort = new AbortController();
  flight.onUnwanted = () => {
    if (flight.head === undefined) abort.abort();
  };
  waitOn(ctx, flight);
  try {
    const res = await ctx.behavior!.origin.fetch(originRequest(ctx, true), abort.signal);
    ctx.originRes = res;
    ctx.member = res.member;
    ctx.attempts = res.attempts;
    ctx.originMs = performance.now() - ctx.started;
    return 'store';
  } catch (err) {
    const error = abort.signal.aborted ? new EdgeError('client_gone', '(every client waiting on this fetch went away)') : toEdgeError(err);
    cache.flights.finish(flight);
    flight.fail(error);
    ctx.flight = undefined;
    return staleOrError(ctx, error);
  }
}

/** This request waits on `flight` until its client goes away (the edge's own requests always do). */
function waitOn(ctx: RequestContext, flight: Flight): void {
  if (ctx.res === undefined) return flight.pin();
  const release = flight.addInterest();
  ctx.res.once('close', release);
}

async function join(ctx: RequestContext, flight: Flight): Promise<'deliver' | 'fetch' | 'lookup' | 'synth'> {
  flight.joined++;
  waitOn(ctx, flight);
  ctx.edge.stats.collapsed++;
  let head;
  try {
    head = await flight.waitHead();
  } catch (err) {
    if (err instanceof Uncacheable) {
      ctx.noCoalesce = true;
      ctx.cacheStatus = { fwd: 'miss', detail: `uncacheable-${err.reason}` };
      return 'fetch';
    }
    if (err instanceof LookupAgain) return restart(ctx);
    return staleOrError(ctx, toEdgeError(err));
  }
  // The response may vary on a field this request has a different value for (RFC 9111 §4.1).
  const mine = ctx.edge.cache.variantKey(ctx.primary, head.vary, ctx.req.headers);
  if (mine !== head.key) {
    ctx.key = mine;
    return restart(ctx);
  }
  // A response on its way is reused by the same rules as a stored one (RFC 9111 §4, §4.2.4): one
  // that must be validated first (no-cache, max-age=0), or that this client's own directives
  // refuse, is not handed over — this request asks the origin itself.
  const meta = flight.meta;
  const now = clock.now();
  if (meta !== undefined && usability(meta, now, ctx.reqDirectives) === 'revalidate') {
    ctx.noCoalesce = true;
    ctx.cacheStatus = { fwd: ctx.cacheStatus.fwd ?? 'miss', detail: 'not-reusable' };
    return 'fetch';
  }
  ctx.flight = flight;
  ctx.member = head.member;
  if (flight.hasAllBytes) {
    // Every byte is in (the store is only finishing its write): this is a hit in all but name.
    ctx.outcome = 'hit';
    ctx.cacheStatus = { hit: true, ttl: meta === undefined ? undefined : meta.lifetimeMs / 1000 - currentAge(meta, now) };
    return 'deliver';
  }
  ctx.outcome = 'miss';
  ctx.cacheStatus = { fwd: ctx.cacheStatus.fwd ?? 'miss', stored: true, collapsed: true };
  return 'deliver';
}

function restart(ctx: RequestContext): 'lookup' | 'fetch' {
  if (++ctx.restarts > MAX_RESTARTS) {
    ctx.noCoalesce = true;
    return 'fetch';
  }
  return 'lookup';
}

/** The origin failed: serve the stale object if RFC 5861 stale-if-error (or grace) allows. */
export function staleOrError(ctx: RequestContext, error: EdgeError): 'deliver' | 'synth' {
  const object = ctx.object;
  if (object !== undefined && canServeStaleOnError(object.meta, clock.now())) {
    ctx.outcome = 'stale';
    ctx.cacheStatus = { fwd: 'stale', detail: 'stale-if-error' };
    ctx.error = error;
    return 'deliver';
  }
  ctx.object = undefined;
  ctx.error = error;
  return 'synth';
}
