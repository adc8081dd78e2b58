// With --workers 2 the machine is one cache to its clients: a successful unsafe request (RFC 9111
// §4.4) invalidates the URL in every worker before it is answered, not only in the worker that
// carried it; and without Redis a purge's receipt counts the machine's workers as its members.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from './helpers/client.js';
import { setup, untilEvery } from './helpers/workers.js';

const MISS = /fwd=miss/;
const HIT = /^blotcdn; hit/;

test('an unsafe request invalidates the URL in every worker; a purge with "wait" answers for every worker', async (t) => {
  const { machine } = await setup(t);
  const url = `${machine.url}/doc`;

  // Each worker holds its own copy (each fetched it once, then answers a hit).
  const filled = await untilEvery(url);
  for (const [w, r] of await untilEvery(url)) assert.match(String(r.headers['cache-status']), HIT, `${w} holds /doc`);
  const old = new Set([...filled.values()].map((r) => r.text));
  assert.equal(old.size, 2, 'each worker fetched its own copy');

  const put = await request(url, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'new text' });
  assert.equal(put.status, 200);
  // Answered after every worker dropped its copy: the first GET on each one fetches anew.
  for (const [w, r] of await untilEvery(url)) {
    assert.match(String(r.headers['cache-status']), MISS, `${w} no longer holds the copy from before the PUT`);
    assert.ok(!old.has(r.text), `${w} did not serve the old body (${r.text})`);
  }

  // Without Redis the machine's workers are the members a receipt counts.
  for (const [w, r] of await untilEvery(url)) assert.match(String(r.headers['cache-status']), HIT, `${w} holds /doc again`);
  const purge = await machine.adminPost('/purge', { url: new URL(url).host + '/doc', wait: true });
  assert.equal(purge.status, 200, purge.text);
  const answer = JSON.parse(purge.text) as { purged: number; acked: number; nodes: number; missing: string[]; queued: boolean; ms: number };
  assert.deepEqual([answer.purged, answer.acked, answer.nodes, answer.missing, answer.queued], [2, 2, 2, [], false]);
  assert.equal(typeof answer.ms, 'number');
  for (const [w, r] of await untilEvery(url)) assert.match(String(r.headers['cache-status']), MISS, `${w} applied the purge`);
});
