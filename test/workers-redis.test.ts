// Workers with Redis configured: the workers of one machine reach each other through the primary
// (IPC), never through Redis, so none drops a sibling's purge as "its own"; a purge made on this
// machine goes to Redis once, for the other nodes; and a purge another node publishes reaches every
// worker here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { get } from './helpers/client.js';
import { startRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';
import { ADMIN_TOKEN, config, prepare, startMachine, untilEvery } from './helpers/workers.js';

test('with Redis: a purge on this machine reaches both workers and is published once; another node’s purge reaches both', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const { dir, origin, file } = await prepare(t);
  await writeFile(file, [config(origin.url, dir), `redis: { url: "${redis.url}" }`, 'node: { id: edge-a }'].join('\n'));
  const machine = await startMachine(t, ['--config', file, '--workers', '2']);
  const { url } = machine;

  const sub = new Redis(redis.url);
  sub.on('error', () => undefined);
  t.after(() => void sub.disconnect());
  const heard: { from: string; value: string }[] = [];
  sub.on('message', (_channel: string, text: string) => heard.push(JSON.parse(text) as { from: string; value: string }));
  await sub.subscribe('blotcdn:purge');

  await untilEvery(`${url}/mine`);
  const purge = await machine.adminPost('/purge', { url: `${url}/mine` });
  assert.equal(JSON.parse(purge.text).purged, 2, 'both workers purged their copy');
  await waitFor(() => heard.length >= 1, 'the purge to be published for the other nodes');
  for (const [w, r] of await untilEvery(`${url}/mine`)) assert.match(String(r.headers['cache-status']), /fwd=miss/, `${w} fetched it again`);
  assert.deepEqual(heard.map((m) => [m.from, m.value]), [['edge-a', `${url}/mine`]], 'published once, under the node’s id');

  // Another node's purge: every worker here applies it.
  await untilEvery(`${url}/theirs`);
  for (const [w, r] of await untilEvery(`${url}/theirs`)) assert.match(String(r.headers['cache-status']), /hit/, `${w} holds /theirs`);
  const pub = new Redis(redis.url);
  pub.on('error', () => undefined);
  t.after(() => void pub.disconnect());
  await pub.publish('blotcdn:purge', JSON.stringify({ kind: 'url', value: `${url}/theirs`, soft: false, from: 'edge-b' }));
  const purged = async () => {
    const text = (await get(`${machine.admin}/metrics`, { authorization: `Bearer ${ADMIN_TOKEN}` })).text;
    return Number(/^blotcdn_purged_objects_total\{[^}]*kind="url",mode="hard"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
  };
  await waitFor(async () => (await purged()) === 4, 'both workers to apply the other node’s purge (2 objects, after this machine’s 2)', 30_000);
  for (const [w, r] of await untilEvery(`${url}/theirs`)) assert.match(String(r.headers['cache-status']), /fwd=miss/, `${w} fetched /theirs again`);
  assert.ok(origin.count('/theirs') >= 4, 'filled twice before, twice after');
});
