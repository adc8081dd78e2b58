// What a benchmark ratio is worth: a result only when neither server was held back (by the load
// generator, or by other work on its core); otherwise a bound in the right direction, or nothing. Run with
// `npm test -- bench/lib/load.test.ts`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairedCost, ratio, summarize, type MeasuredRun } from './load.js';

function run(rps: number, clientBound: boolean): MeasuredRun {
  return {
    rps,
    requests: rps * 8,
    p50: 1,
    p99: 2,
    mbps: 0,
    errors: 0,
    seconds: 8,
    serverCpuSeconds: 8,
    serverCpuPct: 100,
    requestsPerCpuSecond: rps,
    mbPerCpuSecond: 0,
    wrkCpuPct: clientBound ? 99 : 50,
    clientCoreBusyPct: clientBound ? 100 : 60,
    serverCoreBusyPct: 100,
    othersOnServerCoresPct: 0,
    clientBound,
    serverShared: false,
    errorKinds: '',
  };
}

test('medians per figure, errors summed, client-bound rounds counted', () => {
  const s = summarize([run(10, false), run(30, true), run(20, false)]);
  assert.equal(s.rps, 20);
  assert.equal(s.wrkCpuPct, 50);
  assert.equal(s.clientBoundRounds, 1);
  assert.equal(s.rounds, 3);
  assert.equal(s.runs.length, 3);
});

test('a ratio is a result only when neither side was held back', () => {
  const free = (rps: number) => summarize([run(rps, false)]);
  const held = (rps: number) => summarize([run(rps, true)]);
  const rps = (s: ReturnType<typeof summarize>) => s.rps;

  assert.deepEqual(ratio(free(30), free(40), rps), { value: 0.75, kind: 'result', text: '0.75×' });
  // Theirs was held back: they could do more, so ours ÷ theirs is at most this.
  assert.deepEqual(ratio(free(30), held(40), rps), { value: 0.75, kind: 'upperBound', text: '≤0.75×' });
  // Ours was held back: at least this.
  assert.deepEqual(ratio(held(30), free(40), rps), { value: 0.75, kind: 'lowerBound', text: '≥0.75×' });
  // Both: the figure says nothing about which is faster.
  assert.deepEqual(ratio(held(30), held(40), rps), { value: 0.75, kind: 'unknown', text: '0.75×?' });
  // One held-back round of three is enough to mark it.
  assert.equal(ratio(free(30), summarize([run(40, false), run(40, true), run(40, false)]), rps).kind, 'upperBound');
  // A server whose core other work shared is held back just the same.
  const shared = summarize([{ ...run(40, false), othersOnServerCoresPct: 30, serverShared: true }]);
  assert.equal(shared.serverSharedRounds, 1);
  assert.equal(ratio(free(30), shared, rps).kind, 'upperBound');
  assert.equal(ratio(shared, free(30), rps).kind, 'lowerBound');
});

test('a paired cost is the median of the drops within each round, held-back pairs counted', () => {
  // Round 2 ran in a slow phase for both runs: its pair still shows the same 10 % drop.
  const off = [run(100, false), run(50, false), run(100, false)];
  const on = [run(90, false), run(45, true), run(80, false)];
  const c = pairedCost(off, on);
  assert.ok(Math.abs(c.drop - 0.1) < 1e-9);
  assert.ok(Math.abs(c.addedUs - (1e6 / 45 - 1e6 / 50)) < 1e-6);
  assert.equal(c.heldBack, 1);
  assert.equal(c.pairs, 3);
  assert.equal(c.text, '10.0 % (1/3 pairs held back)');
});
