// The task runner: deduplication by key, per-name concurrency, timed tasks on the edge's clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useManualClock } from '../clock.js';
import { TaskRunner } from './task-runner.js';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

test('one task per key while it runs; a later one runs again', async () => {
  const runner = new TaskRunner();
  let runs = 0;
  const gate = deferred();
  const task = async () => {
    runs++;
    await gate.promise;
    return runs;
  };
  const a = runner.run('refresh', 'k', task);
  const b = runner.run('refresh', 'k', task);
  assert.equal(a, b, 'the same promise');
  assert.equal(runner.isRunning('refresh', 'k'), true);
  gate.resolve();
  assert.equal(await a, 1);
  assert.equal(runner.isRunning('refresh', 'k'), false);
  assert.equal(await runner.run('refresh', 'k', task), 2);
  assert.deepEqual(runner.stats().find((s) => s.name === 'refresh'), { name: 'refresh', running: 0, queued: 0, scheduled: 0, done: 2, failed: 0 });
});

test("a name's concurrency limit queues the rest; failures are counted", async () => {
  const runner = new TaskRunner({ compress: 2 });
  const gates = [deferred(), deferred(), deferred()];
  let active = 0;
  let peak = 0;
  const runs = gates.map((g, i) =>
    runner.run('compress', `k${i}`, async () => {
      active++;
      peak = Math.max(peak, active);
      await g.promise;
      active--;
      if (i === 2) throw new Error('broke');
    }),
  );
  await new Promise((r) => setImmediate(r));
  assert.equal(runner.stats()[0]!.queued, 1);
  for (const g of gates) g.resolve();
  await Promise.allSettled(runs);
  assert.equal(peak, 2);
  const s = runner.stats()[0]!;
  assert.equal(s.done, 2);
  assert.equal(s.failed, 1);
  assert.equal(s.lastError, 'broke');
});

test('timed tasks run when the clock says so; periodic ones again; cancelled ones never', async () => {
  const settle = () => new Promise((r) => setImmediate(r));
  const clock = useManualClock(1_000_000);
  try {
    const runner = new TaskRunner();
    const seen: string[] = [];
    runner.at('probe', 'a', 1_000_500, () => void seen.push('probe a'));
    const cancel = runner.at('probe', 'b', 1_000_500, () => void seen.push('probe b'));
    runner.every('sample', 1000, () => void seen.push('sample'));
    cancel();
    assert.equal(runner.runDue(), 0);
    clock.advance(500);
    assert.equal(runner.runDue(), 1);
    await settle();
    clock.advance(500);
    runner.runDue();
    await settle();
    clock.advance(1000);
    runner.runDue();
    await settle();
    assert.deepEqual(seen, ['probe a', 'sample', 'sample']);
    assert.equal(runner.stats().find((s) => s.name === 'sample')!.scheduled, 1);
    runner.stop();
  } finally {
    clock.restore();
  }
});

test('cancelling a timed task that already ran (as a breaker does when it reschedules its probe) changes no count', async () => {
  const clock = useManualClock(1_000_000);
  try {
    const runner = new TaskRunner();
    let runs = 0;
    let cancel = () => {};
    const schedule = () => {
      cancel();
      cancel = runner.at('probe', 'm', clock.now() + 1000, () => {
        runs++;
        schedule();
      });
    };
    schedule();
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      assert.equal(runner.runDue(), 1);
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(runs, 3);
    assert.equal(runner.stats().find((s) => s.name === 'probe')!.scheduled, 1, 'one probe waits, counted once');
    cancel();
    assert.equal(runner.stats().find((s) => s.name === 'probe')!.scheduled, 0);
    runner.stop();
  } finally {
    clock.restore();
  }
});
