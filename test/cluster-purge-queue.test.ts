// A purge accepted while Redis is down outlives a kill -9 of the node that accepted it: the queue of
// purges waiting for Redis is kept beside the disk cache, read again at start and sent, in order,
// when Redis returns, so the other nodes stop serving the purged object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ConfigInput } from '../src/config/schema.js';
import { request } from './helpers/client.js';
import { cacheStatus, startNode } from './helpers/cluster.js';
import { startEdgeProcess, type EdgeProcess } from './helpers/edge-process.js';
import { respond, startOrigin } from './helpers/origin.js';
import { startRestartableRedis } from './helpers/redis.js';
import { scratch } from './helpers/scratch.js';
import { waitFor } from './helpers/wait.js';

const s = scratch();
const HOST = 'queue.test';
const HIT = /^blotcdn; hit/;
const MISS = /fwd=miss/;

interface NodesAnswer {
  bus: { up: boolean; queued: number };
}

const nodesOf = async (a: EdgeProcess) => JSON.parse((await request(`${a.adminUrl}/nodes`)).text) as NodesAnswer;

test('a purge queued during a Redis outage survives kill -9 of its node and reaches the other node when Redis returns', async () => {
  // Persistent, so Redis comes back with the stream and its epoch: node B has no gap to distrust
  // its cache for, and a miss on B can only come from the purge itself.
  const redis = await startRestartableRedis({ persist: true });
  s.deferLast(() => redis.stop());
  const origin = await startOrigin(respond('page', { 'cache-control': 'max-age=600' }));
  s.defer(() => origin.close());
  const dir = await s.temp('blotcdn-queue-a-');
  const configA: ConfigInput = {
    listen: { http: '127.0.0.1:0' },
    log: { access: 'off', events: 'off' },
    node: { id: 'edge-a' },
    redis: { url: redis.url, heartbeat: '200ms', startTimeout: '300ms' },
    admin: { listen: '127.0.0.1:0' },
    cache: { disk: { dir: join(dir, 'cache') } },
    originGroups: { g: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
  };
  let a = await startEdgeProcess(configA);
  s.defer(() => a.kill());
  const b = await startNode({ id: 'edge-b', redisUrl: redis.url, originUrl: origin.url });
  s.defer(() => b.stop());
  await a.ready;

  for (const path of ['/purged', '/kept']) {
    await request(`${b.url}${path}`, { headers: { host: HOST } });
    assert.match(await cacheStatus(b, path, HOST), HIT, `B holds ${path}`);
  }
  await redis.kill();
  await waitFor(async () => (await nodesOf(a)).bus.up === false, 'A to see Redis down');
  const res = await request(`${a.adminUrl}/purge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://${HOST}/purged` }) });
  assert.equal(res.status, 200, res.text);
  assert.equal((JSON.parse(res.text) as { purges: { sent: { queued: boolean } }[] }).purges[0]!.sent.queued, true, 'queued for the other nodes');
  // Killed before Redis returns, and started again on the same folder while Redis is still down.
  await a.kill();
  a = await startEdgeProcess(configA);
  await a.ready;
  const { bus } = await nodesOf(a);
  assert.deepEqual([bus.up, bus.queued], [false, 1], 'the restarted node holds the purge it accepted before the kill');
  assert.match(await cacheStatus(b, '/purged', HOST), HIT, 'B cannot know yet');

  const applied = b.edge.clusterStatus()!.applied;
  await redis.restart();
  await waitFor(() => b.edge.clusterStatus()!.applied > applied, 'B to apply the purge A sent once Redis was back');
  assert.match(await cacheStatus(b, '/purged', HOST), MISS, 'B fetched the purged object again');
  assert.match(await cacheStatus(b, '/kept', HOST), HIT, 'B kept the rest (no gap: only the purge removed anything)');
  await waitFor(async () => (await nodesOf(a)).bus.queued === 0, 'A’s queue to empty');
  assert.equal(b.edge.stats.errors.get('purge_catch_up_gap') ?? 0, 0);
});
