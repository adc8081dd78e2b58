// The pipeline's side of the HTTP/1 fast lane (src/server/fast-lane.ts): a request the lane read
// runs recv → hash → lookup like any other; when that ends at once in a whole-body hit held in
// memory with a prepared head, the answer's bytes are returned for the lane to write and the
// request is logged. Anything else — a miss, a pass, an answer of the edge's own, a body on disk, a
// conditional or a range — returns undefined, and the lane hands the connection to Node's HTTP
// server, which runs that request again from recv (what recv did is undone by nothing: a deny or an
// unknown host is decided again the same way; a rate-limit token may be taken twice for that one
// request).
import { currentAge } from '../cache/policy.js';
import { clock } from '../clock.js';
import { dateLine } from '../http/prepared-head.js';
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

export function fastHit(ctx: RequestContext, keepAlive: string): FastAnswer | undefined {
  const h = ctx.req.headers;
  if (h['range'] !== undefined || hasConditionals(h)) return undefined;
  const next = drive(ctx, 'recv', UNTIL);
  // Waiting (a disk read, a domain lookup): Node runs the request instead; this run stops at deliver.
  if (typeof next !== 'string') return undefined;
  const object = ctx.object;
  if (next !== 'deliver' || ctx.outcome !== 'hit' || ctx.flight !== undefined || object?.body === undefined) return undefined;
  const meta = object.meta;
  const head = preparedHead(meta, ctx.behavior?.responseRules);
  if (head === undefined) return undefined;
  const fields = hitHead(ctx, head, Math.floor(currentAge(meta, clock.now())), meta);
  const withBody = ctx.method !== 'HEAD' && meta.size > 0;
  ctx.status = meta.status;
  ctx.bytes = withBody ? object.body.length : 0;
  const answer = { head: `${fields}${head.date ? '' : dateLine()}${keepAlive}\r\n`, body: withBody ? object.body : undefined };
  ctx.edge.stats.laneHits++;
  log(ctx);
  return answer;
}
