// A purge accepted by the admin API of a machine running --workers 2 in cluster mode: applied by both
// workers, appended to the cluster's stream once (by one worker), and with "wait": true answered with
// the receipts of every member — each worker of each node — once all of them applied it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { cacheStatus, startNode } from './helpers/cluster.js';
import { startRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';
import { config, prepare, startMachine, untilEvery } from './helpers/workers.js';

const HOST = 'receipts.test';
const HIT = /^blotcdn; hit/;
const MISS = /fwd=miss/;

test('POST /purge with "wait" on a machine of two workers answers acked == nodes, and every worker of both nodes misses', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const { dir, origin, file } = await prepare(t);
  // A long ackTimeout: the answer comes with the last receipt, so it only bounds a loaded machine.
  await writeFile(file, [config(origin.url, dir), `redis: { url: "${redis.url}", heartbeat: 1s, ackTimeout: 30s }`, 'node: { id: edge-a }'].join('\n'));
  const machine = await startMachine(t, ['--config', file, '--workers', '2']);
  const other = await startNode({ id: 'edge-b', redisUrl: redis.url, originUrl: origin.url, redis: { ackTimeout: 30 } });
  t.after(() => other.stop());
  await waitFor(async () => (await other.edge.nodes()).nodes.length === 3, 'both workers and the other node to be members');
  const stream = new Redis(redis.url);
  stream.on('error', () => undefined); // Redis stops before this client is closed
  t.after(async () => void stream.disconnect());
  const entries = () => stream.xlen('blotcdn:v1:purges');

  const page = `${machine.url}/page`;
  await untilEvery(page, 2, { host: HOST });
  for (const [w, r] of await untilEvery(page, 2, { host: HOST })) assert.match(String(r.headers['cache-status']), HIT, `${w} holds /page`);
  await cacheStatus(other, '/page', HOST);
  assert.match(await cacheStatus(other, '/page', HOST), HIT, 'the other node holds /page');

  const before = await entries();
  const res = await machine.adminPost('/purge', { url: `${HOST}/page`, wait: true });
  assert.equal(res.status, 200, res.text);
  const answer = JSON.parse(res.text) as { purged: number; acked: number; nodes: number; ms: number; missing: string[]; queued: boolean };
  assert.equal(answer.purged, 2, 'both workers purged their copy');
  assert.deepEqual([answer.acked, answer.nodes, answer.missing, answer.queued], [3, 3, [], false], 'both workers here and the other node applied it');
  assert.equal(typeof answer.ms, 'number');
  assert.equal((await entries()) - before, 1, 'published to the cluster once, not by each worker');

  // Acknowledged means applied: no waiting before asking.
  assert.match(await cacheStatus(other, '/page', HOST), MISS, 'the other node fetched /page again');
  for (const [w, r] of await untilEvery(page, 2, { host: HOST })) assert.match(String(r.headers['cache-status']), MISS, `${w} fetched /page again`);
});
