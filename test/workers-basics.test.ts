// `blotcdn start --workers 2`, a real primary and two real worker processes: both serve; a purge
// made through the admin API reaches both; the admin API's figures are the machine's (the sum of
// the workers'); misses for one cold key from 200 clients reach the origin at most once per worker;
// (Signals: workers-signals.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get, request } from './helpers/client.js';
import { waitFor } from './helpers/wait.js';
import { setup, untilEvery } from './helpers/workers.js';

test('two workers serve, a purge reaches both, the figures are the machine’s, one cold key is fetched at most once per worker', async (t) => {
  const { origin, machine } = await setup(t);
  const { url } = machine;

  // Both workers answer; each fills its own cache, then answers from it.
  const first = await untilEvery(`${url}/page`);
  assert.deepEqual([...first.keys()].sort(), ['w1', 'w2']);
  for (const r of first.values()) assert.equal(r.status, 200);
  const hits = await untilEvery(`${url}/page`);
  for (const [w, r] of hits) assert.match(String(r.headers['cache-status']), /hit/, `${w} answers from its cache`);

  // A purge through the admin API is applied by both before it is answered.
  const purge = await machine.adminPost('/purge', { url: `${url}/page` });
  assert.equal(purge.status, 200, purge.text);
  assert.equal(JSON.parse(purge.text).purged, 2, 'one copy in each worker’s cache');
  const after = await untilEvery(`${url}/page`);
  for (const [w, r] of after) {
    assert.match(String(r.headers['cache-status']), /fwd=miss/, `${w} no longer has the purged copy`);
    assert.match(r.text, /#[34]$/, `${w} fetched it again`);
  }

  // The admin API counts every request the machine answered, not one worker's.
  const before = (await machine.adminJson<{ requests: number }>('/stats')).requests;
  for (let i = 0; i < 10; i++) assert.equal((await get(`${url}/page`)).status, 200);
  await waitFor(async () => (await machine.adminJson<{ requests: number }>('/stats')).requests === before + 10, 'the machine’s count to include the 10 requests');
  const stats = await machine.adminJson<{ requests: number; originFetches: number; workers: { worker: number; requests: number }[] }>('/stats');
  assert.equal(stats.workers.length, 2);
  assert.equal(stats.workers.reduce((n, w) => n + w.requests, 0), stats.requests, 'the machine’s figure is the sum of the workers’');
  assert.ok(stats.workers.every((w) => w.requests > 0), 'both workers served');
  assert.equal(stats.originFetches, origin.requests.length, 'origin fetches: the machine’s count matches what the origin saw');
  const metrics = await get(`${machine.admin}/metrics`, { authorization: 'Bearer workers-admin-token' });
  const requests = [...metrics.text.matchAll(/^blotcdn_requests_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  assert.equal(requests, stats.requests, '/metrics shows the machine too');
  const origins = await machine.adminJson<{ group: string; members: { name: string; successes: number }[] }[]>('/origins');
  assert.equal(origins[0]!.group, 'app');

  // 200 clients at once on one cold key: each worker coalesces its own, so the origin sees at most 2.
  const clients = Array.from({ length: 200 }, () => request(`${url}/slow/cold`, { timeoutMs: 60_000 }));
  // Connections are handed to the workers in turn, so both lead a fetch; the rest join one of them.
  await waitFor(() => origin.count('/slow/cold') >= 2, 'each worker to lead a fetch', 30_000);
  origin.release();
  const replies = await Promise.all(clients);
  assert.ok(replies.every((r) => r.status === 200 && r.error === undefined));
  const fetches = origin.count('/slow/cold');
  assert.ok(fetches >= 1 && fetches <= 2, `origin fetches for one cold key from 200 clients: ${fetches} (at most one per worker)`);
  console.log(`# 200 concurrent clients, one cold key, 2 workers: ${fetches} origin fetch(es)`);
});
