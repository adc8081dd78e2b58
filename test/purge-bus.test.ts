// Many nodes, one Redis: a purge made on one edge (here through its admin API) reaches every other
// edge, each of which keeps its own cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, respond } from './helpers/origin.js';
import { startEdge } from './helpers/edge.js';
import { startRedis } from './helpers/redis.js';
import type { RedisPurgeBus } from '../src/control/purge-bus.js';
import { get, request, sleep } from './helpers/client.js';

test('a purge on one node reaches the others through Redis', async (t) => {
  const redis = await startRedis();
  const origin = await startOrigin(respond('page', { 'cache-control': 'max-age=300' }));
  const node = (id: string, admin = false) =>
    startEdge({
      node: { id },
      redis: { url: redis.url },
      ...(admin ? { admin: { listen: '127.0.0.1:0' } } : {}),
      originGroups: { g: { members: [{ url: origin.url }] } },
      sites: [{ hosts: ['*'], originGroup: 'g' }],
    });
  const a = await node('node-a', true);
  const b = await node('node-b');
  const c = await node('node-c');
  t.after(async () => {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
    await origin.close();
    await redis.stop();
  });
  for (const n of [a, b, c]) {
    await get(`${n.url}/x`, { host: 'many.test' });
    await get(`${n.url}/y`, { host: 'many.test' });
  }
  await sleep(20);
  for (const n of [a, b, c]) assert.match(String((await get(`${n.url}/x`, { host: 'many.test' })).headers['cache-status']), /^blotcdn; hit/);

  const res = await request(`${a.adminUrl}/purge?host=many.test`);
  assert.equal(res.text, 'many.test: 2\n', 'the answer counts this node');
  // The others apply it as soon as the message arrives.
  for (const n of [b, c]) {
    const held = () => n.edge.runtime.cache.store.has('http://many.test/x');
    for (let i = 0; i < 100 && held(); i++) await sleep(10);
    assert.equal(held(), false, `${n.edge.nodeId} purged its copy`);
    assert.match(String((await get(`${n.url}/y`, { host: 'many.test' })).headers['cache-status']), /fwd=miss/);
  }
  // The host and its www twin: two purges, two messages.
  assert.equal((b.edge.bus as RedisPurgeBus).received, 2);
});
