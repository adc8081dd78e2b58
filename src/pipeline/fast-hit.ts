// The pipeline's side of the fast lanes (src/server/fast-lane.ts for HTTP/1, HttpsListener's
// stream lane for HTTP/2): a request the lane read
// runs recv → hash → lookup like any other; when that ends at once in a whole-body hit held in
// memory with a prepared head, the answer's bytes are returned for the lane to write and the
// request is logged. Anything else — a miss, a pass, an answer of the edge's own, a body on disk, a
// conditional or a range — returns undefined, and the lane hands the connection to Node's HTTP
// server, which runs that request again from recv (what recv did is undone by nothing: a deny or an
// unknown host is decided again the same way; a rate-limit token may be taken twice for that one
// request).
import { currentAge } from '../cache/policy.js';
import { clock } from '../clock.js';
import type { StoredObject } from '../cache/store.js';
import { formatCacheStatus } from '../http/cache-status.js';
import { dateLine, type PreparedHead } from '../http/prepared-head.js';
import type { RequestContext } from './context.js';
import { hasConditionals, hitHead, preparedHead } from './deliver.js';
import { log } from './log.js';
import { drive, type StepName } from './pipeline.js';

/** Steps the lane does not run: it answers only what reaches deliver as a hit. */
const UNTIL: ReadonlySet<StepName> = new Set<StepName>(['deliver', 'fetch', 'store', 'pass', 'synth', 'challenge', 'redirect']);

export interface FastAnswer {
  head: string;
  body: Buffer | undefined;
}

/** An HTTP/2 answer: the header object for `stream.respond` (`:status` included) and the body. */
export interface FastStreamAnswer {
  headers: Record<string, string | string[] | number>;
  body: Buffer | undefined;
}

/** Runs the request up to deliver; the object and its prepared head when it is a plain whole-body hit in memory. */
function plainHit(ctx: RequestContext): { object: StoredObject & { body: Buffer }; head: PreparedHead } | undefined {
  const h = ctx.req.headers;
  if (h['range'] !== undefined || hasConditionals(h)) return undefined;
  const next = drive(ctx, 'recv', UNTIL);
  // Waiting (a disk read, a domain lookup): Node runs the request instead; this run stops at deliver.
  if (typeof next !== 'string') return undefined;
  const object = ctx.object;
  if (next !== 'deliver' || ctx.outcome !== 'hit' || ctx.flight !== undefined || object?.body === undefined) return undefined;
  const head = preparedHead(object.meta, ctx.behavior?.responseRules);
  if (head === undefined) return undefined;
  return { object: object as StoredObject & { body: Buffer }, head };
}

/** Counts and logs a lane answer; the body to send, if any. */
function answered(ctx: RequestContext, object: StoredObject & { body: Buffer }): Buffer | undefined {
  const withBody = ctx.method !== 'HEAD' && object.meta.size > 0;
  ctx.status = object.meta.status;
  ctx.bytes = withBody ? object.body.length : 0;
  ctx.edge.stats.laneHits++;
  log(ctx);
  return withBody ? object.body : undefined;
}

export function fastHit(ctx: RequestContext, keepAlive: string): FastAnswer | undefined {
  const hit = plainHit(ctx);
  if (hit === undefined) return undefined;
  const { object, head } = hit;
  const fields = hitHead(ctx, head, Math.floor(currentAge(object.meta, clock.now())), object.meta);
  return { head: `${fields}${head.date ? '' : dateLine()}${keepAlive}\r\n`, body: answered(ctx, object) };
}

/**
 * The same for an HTTP/2 stream: the fields Node's compatibility layer would send for this hit
 * (Date is added by `respond` when the object has none, as it is there).
 */
export function fastStreamHit(ctx: RequestContext): FastStreamAnswer | undefined {
  const hit = plainHit(ctx);
  if (hit === undefined || hit.head.h2 === undefined) return undefined;
  const { object, head } = hit;
  const meta = object.meta;
  const headers: FastStreamAnswer['headers'] = { ':status': meta.status, ...head.h2 };
  headers['age'] = String(Math.floor(currentAge(meta, clock.now())));
  headers['cache-status'] = formatCacheStatus(ctx.edge.cdnId, ctx.cacheStatus);
  headers['content-length'] = String(meta.size);
  if (meta.status === 200) headers['accept-ranges'] = 'bytes';
  return { headers, body: answered(ctx, object) };
}
