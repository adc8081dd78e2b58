// Workers with Redis configured: each worker is a member of the cluster under its own identity, so
// none takes a sibling's purge for its own; a purge made on this machine (its admin API) reaches
// both workers and another node; a purge another node makes reaches every worker here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { cacheStatus, purgeOn, startNode } from './helpers/cluster.js';
import { startRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';
import { config, prepare, startMachine, untilEvery } from './helpers/workers.js';

const HOST = { host: 'shared.test' };

test('with Redis: a purge on this machine reaches both workers and another node; another node’s purge reaches both workers', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const { dir, origin, file } = await prepare(t);
  await writeFile(file, [config(origin.url, dir), `redis: { url: "${redis.url}", heartbeat: 200ms }`, 'node: { id: edge-a }'].join('\n'));
  const machine = await startMachine(t, ['--config', file, '--workers', '2']);
  const other = await startNode({ id: 'edge-b', redisUrl: redis.url, originUrl: origin.url });
  t.after(() => other.stop());
  // Both workers and the other node are members.
  await waitFor(async () => (await other.edge.nodes()).nodes.length === 3, 'two workers and the other node to be listed');

  // A purge accepted by this machine's admin API.
  await untilEvery(`${machine.url}/mine`, 2, HOST);
  await cacheStatus(other, '/mine', HOST.host);
  assert.match(await cacheStatus(other, '/mine', HOST.host), /hit/);
  const purge = await machine.adminPost('/purge', { host: HOST.host });
  assert.equal(JSON.parse(purge.text).purged, 2, 'both workers purged their copy');
  for (const [w, r] of await untilEvery(`${machine.url}/mine`, 2, HOST)) assert.match(String(r.headers['cache-status']), /fwd=miss/, `${w} fetched it again`);
  await waitFor(async () => /fwd=miss/.test(await cacheStatus(other, '/mine', HOST.host)), 'the other node to drop its copy');

  // Another node's purge: every worker here applies it.
  for (const [w, r] of await untilEvery(`${machine.url}/theirs`, 2, HOST)) assert.ok(r.status === 200, w);
  for (const [w, r] of await untilEvery(`${machine.url}/theirs`, 2, HOST)) assert.match(String(r.headers['cache-status']), /hit/, `${w} holds /theirs`);
  const receipt = JSON.parse((await purgeOn(other, { host: HOST.host, wait: true })).text) as { acked: number; nodes: number };
  assert.deepEqual([receipt.acked, receipt.nodes], [3, 3], 'both workers acknowledged the other node’s purge');
  for (const [w, r] of await untilEvery(`${machine.url}/theirs`, 2, HOST)) assert.match(String(r.headers['cache-status']), /fwd=miss/, `${w} fetched /theirs again`);
});
