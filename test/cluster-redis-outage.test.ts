// Redis trouble, survived: three nodes serve cached objects without one failed request while Redis
// is killed (kill -9) and started again; a purge made during the outage applies on its node at
// once, waits in that node's queue, and reaches the others when Redis is back; the outage shows in
// GET /nodes, the metrics and the counted codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, respond } from './helpers/origin.js';
import { startRestartableRedis } from './helpers/redis.js';
import { request } from './helpers/client.js';
import { cacheStatus, purgeOn, startNode } from './helpers/cluster.js';
import { scratch } from './helpers/scratch.js';
import { waitFor } from './helpers/wait.js';

const s = scratch();

test('Redis killed and restarted during traffic: no failed request for cached objects, queued purges go out', async () => {
  const redis = await startRestartableRedis({ persist: true });
  s.deferLast(() => redis.stop());
  const origin = await startOrigin(respond('object', { 'cache-control': 'max-age=300' }));
  s.defer(() => origin.close());
  const nodes = await Promise.all(['a', 'b', 'c'].map((id) => startNode({ id, redisUrl: redis.url, originUrl: origin.url })));
  for (const n of nodes) s.defer(() => n.stop());
  const [a, b, c] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0]];
  for (const n of nodes) for (const p of ['/a', '/b']) await request(`${n.url}${p}`, { headers: { host: 'out.test' } });

  // Traffic for the cached objects on every node, the whole time.
  let running = true;
  const failures: string[] = [];
  let served = 0;
  const traffic = nodes.map(async (n) => {
    while (running) {
      for (const p of ['/a', '/b']) {
        const res = await request(`${n.url}${p}`, { headers: { host: 'out.test' } }).catch((err: Error) => ({ status: 0, error: err, text: '' }));
        if (res.status !== 200 || res.error || res.text !== 'object') failures.push(`${n.edge.nodeId} ${p}: ${res.status} ${res.error?.message ?? ''}`);
        else served++;
      }
    }
  });

  // The traffic refills /a at once after a purge, so ask the origin who fetched what (Via names the node).
  const fetchedBy = (n: typeof a, path: string) => origin.requests.filter((r) => r.url === path && String(r.headers.via).endsWith(` ${n.edge.nodeId}`)).length;
  let servedDuringOutage = 0;
  try {
    await redis.kill();
    await waitFor(() => nodes.every((n) => n.edge.clusterStatus()?.up === false), 'every node to see Redis down');
    const metrics = (await request(`${b.adminUrl}/metrics`)).text;
    assert.match(metrics, /^blotcdn_redis_up\{node="b"\} 0$/m);
    const nodesDown = JSON.parse((await request(`${a.adminUrl}/nodes`)).text) as { bus: { up: boolean } };
    assert.equal(nodesDown.bus.up, false);

    // A purge during the outage: applied here, queued for the others.
    const purged = JSON.parse((await purgeOn(a, { url: 'http://out.test/a', wait: true })).text) as { purged: number; queued: boolean; acked: number; nodes: number };
    assert.deepEqual([purged.purged, purged.queued, purged.acked, purged.nodes], [1, true, 1, 1]);
    assert.equal(a.edge.clusterStatus()!.queued, 1);
    await waitFor(() => fetchedBy(a, '/a') === 2, 'a to fetch /a again');
    servedDuringOutage = served;
    assert.equal(fetchedBy(b, '/a'), 1, 'b cannot know yet: it keeps serving its copy');

    await redis.restart();
    await waitFor(() => nodes.every((n) => n.edge.clusterStatus()?.up === true), 'every node to see Redis back');
    await waitFor(() => a.edge.clusterStatus()!.queued === 0, 'the queued purge to go out');
    for (const n of [b, c]) await waitFor(() => n.edge.clusterStatus()!.applied >= 1, `${n.edge.nodeId} to apply the queued purge`);
  } finally {
    running = false;
    await Promise.all(traffic);
  }

  assert.deepEqual(failures, [], 'every request for a cached object was answered');
  assert.ok(served > servedDuringOutage && servedDuringOutage > 0, `traffic ran through the outage (${servedDuringOutage} before the restart, ${served} in all)`);
  for (const n of [b, c]) {
    await cacheStatus(n, '/a', 'out.test'); // a miss now, unless the traffic already fetched it again
    assert.equal(fetchedBy(n, '/a'), 2, `${n.edge.nodeId} applied the purge made during the outage (and fetched /a again)`);
    assert.equal(fetchedBy(n, '/b'), 1, `${n.edge.nodeId} kept what was not purged (Redis kept its data: no gap)`);
  }
  for (const n of nodes) assert.ok((n.edge.stats.errors.get('redis_unavailable') ?? 0) >= 1, `${n.edge.nodeId} counted the outage`);
  assert.equal(a.edge.stats.errors.get('purge_queued'), 1);
});
