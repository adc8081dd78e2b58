// The soak's short mode, so it stays tested: 15 s of the same mix after a short warm-up, on a
// smaller cache. Every request that should succeed does, byte for byte; no page is stale after a
// purge returned; no cut body is served as complete; every reload (SIGHUP and POST /reload) is
// applied; and the edge's heap after a forced GC does not grow past a generous bound. No timing
// is asserted: the run's length only decides how many requests are made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, runSoak, type SoakOptions } from './soak.js';

test('a short soak: hits, misses, ranges, purges, reloads and origin faults, nothing failed that should not', { timeout: 240_000 }, async (t) => {
  const options: SoakOptions = { seconds: 15, warmupSeconds: 3, sampleEverySeconds: 5, reloadEverySeconds: 3, concurrency: 8, pages: 400, memoryMiB: 8 };
  const report = await runSoak(options);
  t.diagnostic(formatReport(report, options));
  assert.deepEqual(report.failures, [], 'requests that should have succeeded');
  assert.equal(report.failedCount, 0);
  assert.equal(report.staleAfterPurge, 0);
  assert.equal(report.cutServedComplete, 0);
  assert.equal(report.reloads.notApplied, 0);
  assert.ok(report.reloads.sighup > 0 && report.reloads.post > 0, 'both kinds of reload ran');
  for (const [kind, counts] of Object.entries(report.byKind)) {
    assert.ok(counts.sent > 0, `${kind} was exercised`);
    assert.equal(counts.ok, counts.sent, kind);
  }
  // The memory tier was filled past its budget in the warm-up: from there the heap stays put.
  const heap = report.heap.map((h) => h.heapUsedMiB);
  assert.ok(heap.length >= 3, 'sampled along the run');
  assert.ok(Math.max(...heap) - heap[0]! < 16, `heap after GC grew from ${heap[0]!.toFixed(1)} to ${Math.max(...heap).toFixed(1)} MiB`);
});
