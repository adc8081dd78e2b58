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

export function handleRequest(ctx: RequestContext): void {
  run(ctx, 'recv');
}

function run(ctx: RequestContext, first: StepName): void {
  let step = first;
  try {
    while (step !== 'done') {
      const next: StepResult = (STEPS[step] as (c: RequestContext) => StepResult)(ctx);
      if (typeof next !== 'string') {
        next.then(
          (name) => run(ctx, name),
          (err) => fail(ctx, err, step),
        );
        return;
      }
      step = next;
    }
  } catch (err) {
    fail(ctx, err, step);
    return;
  }
  log(ctx);
}

function fail(ctx: RequestContext, err: unknown, step: StepName): void {
  ctx.error = toEdgeError(err);
  if (step === 'synth' || step === 'deliver') {
    // Failing while answering: nothing sensible can be sent any more.
    ctx.res?.destroy();
    log(ctx);
    return;
  }
  run(ctx, 'synth');
}
