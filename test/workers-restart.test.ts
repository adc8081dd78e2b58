// A worker killed with SIGKILL: the requests it was serving fail, no others do; the primary starts
// it again; and a purge made while it was down is applied to its disk folder before it serves again
// (its cached copy outlived it: without the catch-up it would answer with the purged object).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from './helpers/client.js';
import { waitFor } from './helpers/wait.js';
import { setup, untilEvery } from './helpers/workers.js';

test('a worker killed under load: only its requests in flight fail, it is restarted, and it catches up on the purge it missed', async (t) => {
  const { origin, machine } = await setup(t);
  const { url, run } = machine;
  await untilEvery(`${url}/hot`);
  // Both workers hold /cached on disk (and in memory).
  await untilEvery(`${url}/cached`);
  for (const [w, r] of await untilEvery(`${url}/cached`)) assert.match(String(r.headers['cache-status']), /hit/, `${w} holds /cached`);
  const pids = await machine.pids();

  // Load: 8 clients, a new connection per request, until told to stop.
  const CLIENTS = 8;
  const results: { started: number; ok: boolean; worker?: string }[] = [];
  let stopLoad = false;
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (!stopLoad) {
      const started = performance.now();
      try {
        const r = await get(`${url}/hot`);
        results.push({ started, ok: r.status === 200 && r.error === undefined, worker: r.headers['x-blotcdn-worker'] as string });
      } catch {
        results.push({ started, ok: false });
      }
    }
  });
  await waitFor(() => results.length >= 50, 'load to be under way', 30_000);
  process.kill(pids.get(1)!, 'SIGKILL');
  await run.waitFor(/"code":"worker_exited"[^\n]*"worker":1/);
  const exitSeen = performance.now();

  // Made while w1 is down: only w2 applies it now; w1 must apply it before it listens again.
  const purge = await machine.adminPost('/purge', { url: `${url}/cached` });
  assert.equal(JSON.parse(purge.text).purged, 1, 'only the worker up had a copy to purge');

  // The primary starts w1 again (a new PID that answers requests).
  await waitFor(async () => {
    const now = await machine.pids().catch(() => new Map<number, number>());
    return now.get(1) !== undefined && now.get(1) !== pids.get(1);
  }, 'w1 to be restarted', 60_000);
  await waitFor(() => results.some((r) => r.started > exitSeen && r.worker === 'w1'), 'the restarted w1 to serve the load', 30_000);
  stopLoad = true;
  await Promise.all(loops);

  const failed = results.filter((r) => !r.ok);
  assert.ok(failed.length <= CLIENTS, `${failed.length} failed requests: at most the ${CLIENTS} in flight when w1 was killed`);
  assert.deepEqual(results.filter((r) => !r.ok && r.started > exitSeen), [], 'no request made after the primary saw w1 exit failed');
  console.log(`# ${results.length} requests under load, ${failed.length} failed (in flight on the killed worker)`);

  // The restarted w1 does not serve the copy the purge removed while it was down.
  const after = await untilEvery(`${url}/cached`);
  for (const [w, r] of after) assert.match(String(r.headers['cache-status']), /fwd=miss/, `${w} fetched /cached again`);
  assert.equal(origin.count('/cached'), 4, 'two fills before the purge, two after');
});
