// Cluster mode, as an operator sees it: three edge nodes on one real redis-server. A purge made on
// any node is applied by every node, with receipts; GET /nodes lists them; a node stopped during a
// purge catches up from its remembered position before it serves again; one that can no longer
// read what it missed serves nothing it held before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, respond } from './helpers/origin.js';
import { startRedis } from './helpers/redis.js';
import { request } from './helpers/client.js';
import { cacheStatus, PURGE_SECRET, purgeOn, startNode } from './helpers/cluster.js';
import { scratch } from './helpers/scratch.js';
import type { TestEdge } from './helpers/edge.js';

const s = scratch();
const HIT = /^blotcdn; hit/;
const MISS = /fwd=miss/;

async function setup() {
  const redis = await startRedis();
  s.deferLast(() => redis.stop());
  const origin = await startOrigin(respond('page', { 'cache-control': 'max-age=300' }));
  s.defer(() => origin.close());
  return { redis, origin };
}

async function fill(nodes: TestEdge[], host: string, paths: string[]): Promise<void> {
  for (const n of nodes) for (const p of paths) await request(`${n.url}${p}`, { headers: { host } });
  for (const n of nodes) for (const p of paths) assert.match(await cacheStatus(n, p, host), HIT, `${n.edge.nodeId} holds ${p}`);
}

test('a purge on node A is a miss on B and C, and its receipt says all three applied it', async () => {
  const { redis, origin } = await setup();
  const [a, b, c] = await Promise.all(['node-a', 'node-b', 'node-c'].map((id) => startNode({ id, redisUrl: redis.url, originUrl: origin.url })));
  for (const n of [a!, b!, c!]) s.defer(() => n.stop());
  await fill([a!, b!, c!], 'many.test', ['/x', '/y']);

  const res = await purgeOn(a!, { host: 'many.test', wait: true });
  assert.equal(res.status, 200, res.text);
  const answer = JSON.parse(res.text) as { purged: number; acked: number; nodes: number; ms: number; missing: string[] };
  assert.equal(answer.purged, 2, 'the count is this node\'s');
  assert.deepEqual([answer.acked, answer.nodes, answer.missing], [3, 3, []]);
  assert.equal(typeof answer.ms, 'number');
  // Acknowledged means applied: no waiting needed before asking B and C.
  for (const n of [b!, c!]) {
    assert.match(await cacheStatus(n, '/x', 'many.test'), MISS, `${n.edge.nodeId} fetched /x again`);
    assert.match(await cacheStatus(n, '/y', 'many.test'), MISS);
  }

  // The platform's own purge call reaches them too (host and www twin: two purges).
  await fill([a!, b!, c!], 'many.test', ['/x', '/y']);
  const applied = [a!, c!].map((n) => n.edge.cluster!.bus.status().applied);
  const platform = await request(`${b!.adminUrl}/purge?host=many.test`, { headers: { 'x-blot-purge-token': PURGE_SECRET } });
  assert.equal(platform.text, 'many.test: 2\n');
  for (const [i, n] of [a!, c!].entries()) {
    await waitApplied(n, applied[i]! + 2);
    assert.match(await cacheStatus(n, '/x', 'many.test'), MISS);
  }
});

async function waitApplied(n: TestEdge, count: number): Promise<void> {
  const { waitFor } = await import('./helpers/wait.js');
  await waitFor(() => (n.edge.cluster?.bus.status().applied ?? 0) >= count, `${n.edge.nodeId} to apply ${count} purges`);
}

test('GET /nodes lists every node with its heartbeat and lag; a stopped node leaves the list', async () => {
  const { redis, origin } = await setup();
  const nodes = await Promise.all(['n1', 'n2', 'n3'].map((id) => startNode({ id, redisUrl: redis.url, originUrl: origin.url })));
  const [a, b, c] = nodes;
  s.defer(() => a!.stop());
  s.defer(() => b!.stop());
  const res = await request(`${a!.adminUrl}/nodes`);
  assert.equal(res.status, 200);
  const report = JSON.parse(res.text) as { self: string; bus: { carrier: string; up: boolean }; nodes: { id: string; name: string; self: boolean; heartbeatAgeMs: number; lagMs: number }[] };
  assert.deepEqual(report.nodes.map((n) => n.name).sort(), ['n1', 'n2', 'n3']);
  assert.equal(report.self, a!.edge.identity.id);
  assert.deepEqual(report.bus.carrier, 'redis');
  assert.equal(report.bus.up, true);
  for (const n of report.nodes) {
    assert.ok(n.heartbeatAgeMs >= 0 && n.heartbeatAgeMs < 10_000, `heartbeat age of ${n.name}: ${n.heartbeatAgeMs}`);
    assert.equal(n.lagMs, 0);
  }
  await c!.stop();
  const after = JSON.parse((await request(`${a!.adminUrl}/nodes`)).text) as { nodes: { name: string }[] };
  assert.deepEqual(after.nodes.map((n) => n.name).sort(), ['n1', 'n2']);
  const receipt = JSON.parse((await purgeOn(a!, { url: 'http://x.test/', wait: true })).text) as { acked: number; nodes: number };
  assert.deepEqual([receipt.acked, receipt.nodes], [2, 2], 'a stopped node is not waited for');
});

test('a node stopped during a purge catches up on restart and never serves the purged object', async () => {
  const { redis, origin } = await setup();
  const dir = await s.temp('blotcdn-cluster-disk-');
  const a = await startNode({ id: 'a', redisUrl: redis.url, originUrl: origin.url });
  s.defer(() => a.stop());
  let c = await startNode({ id: 'c', redisUrl: redis.url, originUrl: origin.url, diskDir: dir });
  await c.edge.ready();
  await fill([c], 'gone.test', ['/p']);
  await fill([c], 'kept.test', ['/p']);
  await c.stop();

  const receipt = JSON.parse((await purgeOn(a, { host: 'gone.test', wait: true })).text) as { acked: number; nodes: number };
  assert.deepEqual([receipt.acked, receipt.nodes], [1, 1], 'c was down');
  const before = origin.count('/p');

  c = await startNode({ id: 'c', redisUrl: redis.url, originUrl: origin.url, diskDir: dir });
  s.defer(() => c.stop());
  // The very first request after the restart: the purge was applied before the listener opened.
  assert.match(await cacheStatus(c, '/p', 'gone.test'), MISS);
  assert.match(await cacheStatus(c, '/p', 'kept.test'), HIT, 'what was not purged is still served from disk');
  assert.equal(origin.count('/p'), before + 1);
});

test('a node that can no longer read what it missed serves nothing it held before, across restarts', async () => {
  const { redis, origin } = await setup();
  const dir = await s.temp('blotcdn-cluster-gap-');
  const small = { streamMaxLen: 100 };
  const a = await startNode({ id: 'a', redisUrl: redis.url, originUrl: origin.url, redis: small });
  s.defer(() => a.stop());
  let c = await startNode({ id: 'c', redisUrl: redis.url, originUrl: origin.url, diskDir: dir, redis: small });
  await c.edge.ready();
  await fill([c], 'old.test', ['/p']);
  await c.stop();
  // Far more purges than the stream keeps (none of them names old.test).
  for (let i = 0; i < 400; i++) await purgeOn(a, { url: `http://other.test/${i}` });

  c = await startNode({ id: 'c', redisUrl: redis.url, originUrl: origin.url, diskDir: dir, redis: small });
  assert.match(await cacheStatus(c, '/p', 'old.test'), MISS, 'not proven fresh: refetched');
  assert.match(await cacheStatus(c, '/p', 'old.test'), HIT, 'the new copy is served');
  assert.equal(c.edge.stats.errors.get('purge_catch_up_gap'), 1);
  await c.stop();
  c = await startNode({ id: 'c', redisUrl: redis.url, originUrl: origin.url, diskDir: dir, redis: small });
  s.defer(() => c.stop());
  assert.match(await cacheStatus(c, '/p', 'old.test'), HIT, 'after a clean restart the refetched copy is trusted');
});

test('quick mode: blotcdn start --redis URL joins the cluster', async () => {
  const { redis, origin } = await setup();
  const a = await startNode({ id: 'cfg-node', redisUrl: redis.url, originUrl: origin.url });
  s.defer(() => a.stop());
  const { runCli } = await import('./helpers/cli.js');
  const run = runCli(['start', '--workers', '1', '--origin', origin.url, '--listen', '127.0.0.1:0', '--access-log', 'off', '--redis', redis.url], { BLOTCDN_ADMIN_TOKEN: '' });
  s.defer(async () => {
    run.child.kill('SIGTERM');
    await run.exited;
  });
  await run.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/);
  const { waitFor } = await import('./helpers/wait.js');
  await waitFor(async () => (await a.edge.nodes()).nodes.length === 2, 'the quick-mode node to be listed');
  const receipt = JSON.parse((await purgeOn(a, { host: 'quick.test', wait: true })).text) as { acked: number; nodes: number };
  assert.deepEqual([receipt.acked, receipt.nodes], [2, 2], 'the quick-mode node applied and acknowledged it');
});
