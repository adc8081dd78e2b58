// WarmQueue: coalescing (a URL queued twice before it is sent is warmed once; queued again after it
// was sent, it is warmed again) and the per-edge rate limit, on a manual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EdgeTarget, WarmOutcome } from './edge-admin.js';
import { WarmQueue } from './warm-queue.js';

function harness(options: { ratePerSecond?: number; batchSize?: number; inFlight?: number } = {}) {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  const sent: { edge: string; urls: string[]; at: number; finish(): void }[] = [];
  const queue = new WarmQueue({
    ...options,
    clock: { now: () => now, setTimeout: (fn, ms) => timers.push({ at: now + ms, fn }) },
    send: (edge, urls) =>
      new Promise<WarmOutcome[]>((resolve) => sent.push({ edge: edge.admin, urls, at: now, finish: () => resolve(urls.map((url) => ({ url, result: 'stored' }))) })),
  });
  const advance = async (ms: number) => {
    now += ms;
    for (const t of timers.splice(0).sort((a, b) => a.at - b.at)) {
      if (t.at <= now) t.fn();
      else timers.push(t);
    }
    await new Promise((resolve) => setImmediate(resolve));
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { queue, sent, advance, settle };
}

const A: EdgeTarget = { admin: 'http://edge-a' };
const B: EdgeTarget = { admin: 'http://edge-b' };

test('a URL queued twice before it is sent is warmed once; queued after it was sent, it is warmed again', async () => {
  const { queue, sent, settle } = harness({ inFlight: 1 });
  const first = queue.warm(A, ['/x', '/y']);
  // The first batch is in flight; these wait behind it, and /z is asked for twice.
  const second = queue.warm(A, ['/x', '/z']);
  const third = queue.warm(A, ['/z']);
  assert.deepEqual(sent.map((s) => s.urls), [['/x', '/y']]);
  sent[0]!.finish();
  await settle();
  assert.deepEqual(sent.map((s) => s.urls), [['/x', '/y'], ['/x', '/z']], '/x again (it was already sent), /z once');
  sent[1]!.finish();
  assert.deepEqual((await second).map((o) => o.url), ['/x', '/z']);
  assert.deepEqual((await third).map((o) => o.url), ['/z']);
  assert.equal((await first).length, 2);
  assert.deepEqual(queue.counts, { sent: 4, coalesced: 1 });
});

test('each edge is rate-limited on its own: a burst of a batch, then ratePerSecond', async () => {
  const { queue, sent, advance, settle } = harness({ ratePerSecond: 10, batchSize: 5, inFlight: 1 });
  // The edge answers each batch at once: only the rate holds URLs back.
  const answer = async (ms: number) => {
    for (const s of sent) s.finish();
    await advance(ms);
  };
  const urls = Array.from({ length: 20 }, (_, i) => `/p${i}`);
  const all = queue.warm(A, urls);
  const other = queue.warm(B, ['/only']);
  await settle();
  const toA = () => sent.filter((s) => s.edge === A.admin);
  assert.deepEqual(toA().map((s) => s.urls.length), [5], 'the burst: one batch');
  assert.equal(sent.filter((s) => s.edge === B.admin).length, 1, 'edge B is not held back by edge A');
  await answer(0);
  assert.equal(toA().flatMap((s) => s.urls).length, 5, 'no token left: nothing more yet');
  await answer(100);
  assert.equal(toA().flatMap((s) => s.urls).length, 6, 'one more URL after 100 ms at 10/s');
  await answer(400);
  assert.equal(toA().flatMap((s) => s.urls).length, 10);
  for (let i = 0; i < 10; i++) await answer(100);
  assert.deepEqual(toA().flatMap((s) => s.urls), urls, 'every URL once, in order');
  for (const s of sent) s.finish();
  assert.equal((await all).length, 20);
  assert.equal((await other).length, 1);
});

test('an edge that fails rejects the warms of its batch', async () => {
  const queue = new WarmQueue({ send: async () => Promise.reject(new Error('connection refused')) });
  await assert.rejects(queue.warm(A, ['/a', '/b']), /connection refused/);
});
