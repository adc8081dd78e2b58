// The shield tier: three edge nodes whose origin is a fourth edge (the shield), all on one real
// redis-server. A purge reaches the shield too (its receipt counts four); an edge that purged never
// refills from the shield a copy stored before the purge — even from a shield that never heard of
// it; loops between tiers end in a 508; a purge time from an address not in node.peers is ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './helpers/origin.js';
import { startRedis } from './helpers/redis.js';
import { request } from './helpers/client.js';
import { purgeOn, startNode } from './helpers/cluster.js';
import { startEdge, type TestEdge } from './helpers/edge.js';
import { scratch } from './helpers/scratch.js';

const s = scratch();

async function versionedOrigin() {
  const state = { version: 1 };
  const origin = await startOrigin((_req, res) => {
    const body = `v${state.version}`;
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=300', etag: `"${body}"`, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  s.defer(() => origin.close());
  return { origin, state };
}

const get = (n: TestEdge, path: string, headers: Record<string, string> = {}) => request(`${n.url}${path}`, { headers: { host: 'shielded.test', ...headers } });

/** Edges whose origin is `shield` (a shield member), in the cluster on `redisUrl`. */
function edgesBehind(shield: TestEdge, redisUrl: string, ids: string[]): Promise<TestEdge[]> {
  return Promise.all(
    ids.map((id) =>
      startNode({ id, redisUrl, originUrl: shield.url, extra: { originGroups: { g: { members: [{ name: 'shield', url: shield.url, shield: true }] } } } }),
    ),
  );
}

test('three edges and a shield: a purge reaches all four, and no edge refills the old copy', async () => {
  const redis = await startRedis();
  s.deferLast(() => redis.stop());
  const { origin, state } = await versionedOrigin();
  const shield = await startNode({ id: 'shield', redisUrl: redis.url, originUrl: origin.url });
  s.defer(() => shield.stop());
  const edges = await edgesBehind(shield, redis.url, ['e1', 'e2', 'e3']);
  for (const e of edges) s.defer(() => e.stop());
  for (const e of edges) assert.equal((await get(e, '/post')).text, 'v1');
  assert.equal(origin.count('/post'), 1, 'the shield fetched once for the three edges');

  state.version = 2;
  const receipt = JSON.parse((await purgeOn(edges[0]!, { url: 'http://shielded.test/post', wait: true })).text) as { acked: number; nodes: number };
  assert.deepEqual([receipt.acked, receipt.nodes], [4, 4], 'the shield acknowledged too');
  for (const e of edges) {
    const res = await get(e, '/post');
    assert.equal(res.text, 'v2', `${e.edge.nodeId} got the new copy`);
  }
  assert.equal(origin.count('/post'), 2, 'one refetch, by the shield');
});

test('the edge/shield race: a shield that never heard of the purge still gives no edge the old copy', async () => {
  const redis = await startRedis();
  s.deferLast(() => redis.stop());
  const { origin, state } = await versionedOrigin();
  // Not in the cluster at all: the worst case of a purge message arriving late.
  const shield = await startEdge({ node: { id: 'deaf-shield' }, originGroups: { g: { members: [{ url: origin.url }] } }, sites: [{ hosts: ['*'], originGroup: 'g' }] });
  s.defer(() => shield.stop());
  const edges = await edgesBehind(shield, redis.url, ['e1', 'e2', 'e3']);
  for (const e of edges) s.defer(() => e.stop());
  for (const e of edges) assert.equal((await get(e, '/post')).text, 'v1');

  state.version = 2;
  const receipt = JSON.parse((await purgeOn(edges[1]!, { host: 'shielded.test', wait: true })).text) as { acked: number; nodes: number };
  assert.deepEqual([receipt.acked, receipt.nodes], [3, 3]);
  assert.equal((await request(`${shield.url}/post`, { headers: { host: 'shielded.test' } })).text, 'v1', 'the shield itself still holds v1');
  for (const e of edges) {
    const res = await get(e, '/post');
    assert.equal(res.text, 'v2', `${e.edge.nodeId} refilled the new copy, not the shield's old one`);
  }
  const revalidations = origin.requests.filter((r) => r.url === '/post' && r.headers['if-none-match'] === '"v1"').length;
  assert.equal(revalidations, 1, 'the shield revalidated once (with its validators); later fills were its hits');
  assert.equal(origin.requests.filter((r) => r.headers['blotcdn-purged-at'] !== undefined).length, 0, 'the purge time never reaches the real origin');
  // An edge that has not purged since asks without a purge time and gets the shield's hit.
  assert.equal((await get(edges[0]!, '/other')).text, 'v2');
  assert.match(String((await request(`${shield.url}/other`, { headers: { host: 'shielded.test' } })).headers['cache-status']), /hit/);
});

test('a loop between tiers ends in 508, and purge times from strangers are ignored', async () => {
  const { origin } = await versionedOrigin();
  // x's origin is y (as a shield), y's origin is x: a request goes x → y → x and stops there.
  const y = await startEdge({ node: { id: 'tier-y' }, originGroups: { g: { members: [{ url: origin.url }] } }, sites: [{ hosts: ['*'], originGroup: 'g' }] });
  s.defer(() => y.stop());
  const x = await startEdge({ node: { id: 'tier-x' }, originGroups: { g: { members: [{ url: y.url, shield: true }] } }, sites: [{ hosts: ['*'], originGroup: 'g' }] });
  s.defer(() => x.stop());
  await y.edge.reload({ ...y.edge.config, originGroups: { g: { ...y.edge.config.originGroups.g!, members: [{ ...y.edge.config.originGroups.g!.members[0]!, url: new URL(x.url), name: 'x' }] } } });
  const looped = await get(x, '/loop');
  assert.equal(looped.status, 508, looped.text);
  assert.equal(x.edge.stats.errors.get('loop_detected'), 1, 'x refused the request that came back to it');

  // A shield whose peers do not include loopback ignores a purge time sent from here.
  const strict = await startEdge({ node: { id: 'strict', peers: ['192.0.2.0/24'] }, originGroups: { g: { members: [{ url: origin.url }] } }, sites: [{ hosts: ['*'], originGroup: 'g' }] });
  s.defer(() => strict.stop());
  await get(strict, '/p');
  const forced = await get(strict, '/p', { 'blotcdn-purged-at': String(Date.now() + 1000) });
  assert.match(String(forced.headers['cache-status']), /^blotcdn; hit/);
  // The same from a peer (loopback is one by default) makes the shield ask its origin again.
  const open = await startEdge({ node: { id: 'open' }, originGroups: { g: { members: [{ url: origin.url }] } }, sites: [{ hosts: ['*'], originGroup: 'g' }] });
  s.defer(() => open.stop());
  await get(open, '/p');
  const asked = await get(open, '/p', { 'blotcdn-purged-at': String(Date.now() + 1000) });
  assert.match(String(asked.headers['cache-status']), /fwd=stale.*peer-purge/);
});
