import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AcmeLimitError, AcmeLimits } from './acme-limits.js';

const clock = (start = 1_000_000) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

test('the order budget is a sliding window', async () => {
  const c = clock();
  const limits = new AcmeLimits({ ordersPerWindow: 3, orderWindowMs: 10_000 }, c.now);
  for (let i = 0; i < 3; i++) (await limits.start(`h${i}.example`)).finish(true);
  await assert.rejects(limits.start('h3.example'), (err: AcmeLimitError) => err.reason === 'order-budget' && err.retryAfterMs === 10_000);
  c.advance(9_999);
  assert.equal(limits.check('h3.example')?.reason, 'order-budget');
  c.advance(1);
  assert.equal(limits.check('h3.example'), undefined);
});

test('failures back off per name, doubling, and stop after the hourly allowance', async () => {
  const c = clock();
  const limits = new AcmeLimits({ failureBackoffMinMs: 60_000, failureBackoffMaxMs: 3_600_000, failuresPerName: 5, failureWindowMs: 3_600_000 }, c.now);
  (await limits.start('bad.example')).finish(false);
  assert.deepEqual(limits.check('bad.example'), { reason: 'name-backoff', retryAfterMs: 60_000 });
  assert.equal(limits.check('other.example'), undefined, 'other names are not affected');
  const waits: number[] = [60_000];
  for (let i = 1; i < 5; i++) {
    c.advance(limits.check('bad.example')!.retryAfterMs);
    (await limits.start('bad.example')).finish(false);
    waits.push(limits.check('bad.example')!.retryAfterMs);
  }
  // 1, 2, 4, 8 min — and after the fifth failure in the hour, until the first leaves the window.
  assert.deepEqual(waits.slice(0, 4), [60_000, 120_000, 240_000, 480_000]);
  const elapsed = 60_000 + 120_000 + 240_000 + 480_000;
  assert.equal(waits[4], 3_600_000 - elapsed);
  c.advance(waits[4]!);
  (await limits.start('bad.example')).finish(true);
  assert.equal(limits.check('bad.example'), undefined, 'a success forgets the failures');
});

test('orders beyond the running cap wait their turn; beyond the queue they are refused', async () => {
  const limits = new AcmeLimits({ maxPending: 2, maxQueued: 1 });
  const t1 = await limits.start('a.example');
  const t2 = await limits.start('b.example');
  let started = false;
  const waiting = limits.start('c.example').then((t) => ((started = true), t));
  await assert.rejects(limits.start('d.example'), (err: AcmeLimitError) => err.reason === 'too-many-pending');
  assert.deepEqual(limits.stats().pending, 2);
  assert.equal(limits.stats().queued, 1);
  await new Promise((r) => setImmediate(r));
  assert.equal(started, false, 'still waiting');
  t1.finish(true);
  const t3 = await waiting;
  assert.equal(limits.stats().pending, 2, 'the freed slot went straight to the waiter');
  t2.finish(true);
  t3.finish(false);
  t3.finish(false); // twice is harmless
  assert.equal(limits.stats().pending, 0);
});
