// Certificates for a cluster, against a real ACME server (pebble) and a real redis-server: three
// edge nodes' first handshakes for one name make one order between them; the order budget is the
// cluster's, not each node's; with Redis killed, certificates held are still served and a new name
// gets no order (no issuance lock, no order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPebble } from './helpers/pebble.js';
import { startRestartableRedis } from './helpers/redis.js';
import { startOrigin, respond } from './helpers/origin.js';
import { startEdge, type TestEdge } from './helpers/edge.js';
import { handshake } from './helpers/tls.js';
import { scratch } from './helpers/scratch.js';
import { waitFor } from './helpers/wait.js';

const s = scratch();

test('three nodes: one order per name for the cluster, one shared budget, nothing ordered while Redis is down', async () => {
  const pebble = await startPebble();
  s.deferLast(() => pebble.stop());
  const redis = await startRestartableRedis();
  s.deferLast(() => redis.stop());
  const origin = await startOrigin(respond('ok', { 'cache-control': 'max-age=60' }));
  s.defer(() => origin.close());
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-cluster-tls-'));
  await writeFile(join(dir, 'acme-ca.pem'), pebble.apiCa);
  const node = (id: string) =>
    startEdge({
      node: { id },
      listen: { http: '127.0.0.1:0', https: '127.0.0.1:0' },
      redis: { url: redis.url, heartbeat: 200, startTimeout: 1000 },
      tls: {
        store: { redis: true },
        // A budget of three orders for the whole cluster.
        acme: { directory: pebble.directoryUrl, ca: join(dir, 'acme-ca.pem'), challenges: ['http-01'], pollMin: '100ms', ordersPerWindow: 3 },
        handshakeWait: '3s',
      },
      originGroups: { app: { members: [{ url: origin.url }] } },
      sites: [{ hosts: ['*.blot.test'], originGroup: 'app' }],
    });
  const nodes: TestEdge[] = [];
  for (const id of ['a', 'b', 'c']) {
    const n = await node(id);
    s.defer(() => n.stop());
    nodes.push(n);
  }
  const [a, b, c] = nodes as [TestEdge, TestEdge, TestEdge];
  // Validations reach node a; the tokens are in Redis, so a answers for any node's order.
  pebble.routeHttp01(a.port);
  const root = await pebble.root();
  const port = (n: TestEdge) => n.edge.httpsAddresses[0]!.port;
  const orders = () => nodes.reduce((sum, n) => sum + n.edge.tls!.issuer!.stats().orders, 0);

  const first = await Promise.all(nodes.map((n) => handshake(port(n), 'one.blot.test', [root])));
  for (const h of first) assert.equal(h.authorized, true, h.error);
  assert.equal(new Set(first.map((h) => h.serial)).size, 1, 'one certificate, served by all three');
  assert.equal(orders(), 1, 'one order for the cluster');

  assert.equal((await handshake(port(b), 'two.blot.test', [root])).authorized, true);
  assert.equal((await handshake(port(c), 'three.blot.test', [root])).authorized, true);
  assert.equal(orders(), 3);
  // a placed at most one order itself: only the shared budget can refuse this one.
  assert.ok(a.edge.tls!.issuer!.stats().orders <= 1);
  const refused = await handshake(port(a), 'four.blot.test', [root]);
  assert.equal(refused.authorized, false, 'the cluster spent its budget');
  assert.equal(orders(), 3);
  assert.ok(a.edge.tls!.issuer!.stats().refused >= 1);

  await redis.kill();
  await waitFor(() => nodes.every((n) => n.edge.clusterStatus()?.up === false), 'the nodes to see Redis down');
  for (const n of nodes) {
    const held = await handshake(port(n), 'one.blot.test', [root]);
    assert.equal(held.authorized, true, `${n.edge.nodeId} serves the certificate it holds: ${held.error}`);
    assert.equal(held.serial, first[0]!.serial);
  }
  const ordersBefore = b.edge.tls!.issuer!.stats().orders;
  const unlocked = await handshake(port(b), 'five.blot.test', [root]);
  assert.equal(unlocked.authorized, false);
  assert.equal(b.edge.tls!.issuer!.stats().orders, ordersBefore, 'no order without the lock');
  assert.equal(orders(), 3);
});
