// The request path, in one place. Each step does one thing and names the step that comes next,
// like Varnish's VCL states:
//
//   recv ──► challenge | redirect                              (ACME HTTP-01; HTTP → HTTPS)
//   recv ──► hash ──► lookup ──► deliver                      (hit, or stale-while-revalidate)
//     │                 │
//     │                 └──────► fetch ──► store ──► deliver  (miss: one origin fetch per key)
//     │                            ├─────────────────► deliver (joined another request's fetch)
//     └──► pass ─────────────────────────────────────► deliver (methods and bypassed paths)
//
//   any step ──► synth (the edge's own answer for an EdgeError);  then log, exactly once.
//
// Steps are synchronous where they can be: a memory hit runs recv → hash → lookup → deliver
// without a single await, so the hit path costs little more than Node's HTTP stack itself.
import { toEdgeError } from '../errors.js';
import type { RequestContext } from './context.js';
import { deliver } from './deliver.js';
import { fetch } from './fetch.js';
import { log } from './log.js';
import { hash, lookup } from './lookup.js';
import { pass } from './pass.js';
import { recv } from './recv.js';
import { store } from './store.js';
import { synth } from './synth.js';
import { challenge, redirect } from './redirect.js';

const STEPS = { recv, challenge, redirect, hash, lookup, fetch, store, pass, deliver, synth } as const;

export type StepName = keyof typeof STEPS | 'done';
type StepResult = StepName | Promise<StepName>;

/**
 * The one step driver: runs `ctx` from step `from` until a step named in `until` is next (that
 * step is not run) or the request is done, and returns where it stopped. Synchronous as long as
 * every step is, so a memory hit never awaits. A step that throws sends the request to `synth`
 * (the edge's own answer for its error) — unless it was already answering, when the response is
 * cut off instead. Client requests, warming and background refreshes all run through here, so the
 * order of the request path is written once: in the steps' return values.
 */
export function drive(ctx: RequestContext, from: StepName, until?: ReadonlySet<StepName>): StepResult {
  let step = from;
  while (step !== 'done' && until?.has(step) !== true) {
    let next: StepResult;
    try {
      next = (STEPS[step] as (c: RequestContext) => StepResult)(ctx);
    } catch (err) {
      next = failed(ctx, err, step);
    }
    if (typeof next !== 'string') {
      const at = step;
      return next.then(
        (name) => drive(ctx, name, until),
        (err: unknown) => drive(ctx, failed(ctx, err, at), until),
      );
    }
    step = next;
  }
  return step;
}

/** Where a request goes when step `step` failed: synth, or done when it was already answering. */
function failed(ctx: RequestContext, err: unknown, step: StepName): StepName {
  ctx.error = toEdgeError(err);
  if (step === 'synth' || step === 'deliver') {
    // Failing while answering: nothing sensible can be sent any more.
    ctx.res?.destroy();
    return 'done';
  }
  return 'synth';
}

/** A client's request: every step from recv, then the log line, exactly once. */
export function handleRequest(ctx: RequestContext): void {
  const end = drive(ctx, 'recv');
  if (typeof end === 'string') log(ctx);
  else end.then(() => log(ctx), () => log(ctx));
}
