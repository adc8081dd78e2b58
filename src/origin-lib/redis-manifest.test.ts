import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis, type TestRedis } from '../../test/helpers/redis.js';
import { RedisManifest } from './redis-manifest.js';
import { cacheIdOf } from './cache-id.js';
import type { ManifestChange } from './manifest.js';

const BLOG = 'blog_0123456789abcdef0123456789abcdef';
const GUID = '6f1c2a9e-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
const blogN = (n: number) => `blog_${n.toString(16).padStart(32, '0')}`;
const idN = (n: number) => n.toString(16).padStart(20, '0');

let redis: TestRedis;
let admin: Redis;
let prefixes = 0;
// Each test its own key prefix: tests stay independent on one server.
const fresh = () => `test${++prefixes}:`;

before(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});

after(async () => {
  admin.disconnect();
  await redis.stop();
});

/** Lua script calls the server has run so far (EVAL and EVALSHA), from INFO commandstats. */
async function scriptCalls(): Promise<number> {
  const info = await admin.info('commandstats');
  let n = 0;
  for (const m of info.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+)/gm)) n += Number(m[1]);
  return n;
}

function changed(manifest: RedisManifest, test: () => boolean, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (test()) return resolve();
    const timer = setTimeout(() => (off(), reject(new Error('no change seen'))), ms);
    const off = manifest.onChange(() => test() && (clearTimeout(timer), off(), resolve()));
  });
}

test('one hash per blog; updates persist and a new instance loads them', async () => {
  const prefix = fresh();
  const a = await RedisManifest.open({ url: redis.url, prefix });
  const id = await a.update(BLOG, '/style.css', Buffer.from('body{}'));
  assert.equal(id, cacheIdOf(Buffer.from('body{}')));
  assert.equal(a.get(BLOG, 'style.css'), id, 'visible as soon as update() resolves');
  await a.set(GUID.toUpperCase(), 'x.css', idN(1));
  await a.set(BLOG, 'gone.css', idN(2));
  await a.remove(BLOG, 'gone.css');
  await a.set(blogN(5), 'a.css', idN(3));
  await a.removeBlog(blogN(5));
  assert.deepEqual(await admin.hgetall(`${prefix}blog:${BLOG}`), { 'style.css': id });
  assert.deepEqual((await admin.smembers(`${prefix}blogs`)).sort(), [BLOG, GUID].sort());
  await a.close();

  const b = await RedisManifest.open({ url: redis.url, prefix });
  assert.equal(b.get(BLOG, 'style.css'), id);
  assert.equal(b.get(GUID, 'x.css'), idN(1));
  assert.equal(b.lookup(BLOG, 'gone.css'), undefined);
  assert.equal(b.entries(blogN(5)), undefined);
  await b.close();
});

test('other app servers see an update through pub/sub, without asking', async () => {
  const prefix = fresh();
  const a = await RedisManifest.open({ url: redis.url, prefix });
  const b = await RedisManifest.open({ url: redis.url, prefix });
  const blogsSeen: (string | null)[] = [];
  b.onChange((blogID) => blogsSeen.push(blogID));
  const id = await a.update(BLOG, 'style.css', Buffer.from('v2'));
  await changed(b, () => b.lookup(BLOG, 'style.css') === id);
  assert.ok(blogsSeen.includes(BLOG));
  await Promise.all([a.close(), b.close()]);
});

test('parallel updates from two servers lose nothing, and both end in the same state', async () => {
  const prefix = fresh();
  const a = await RedisManifest.open({ url: redis.url, prefix });
  const b = await RedisManifest.open({ url: redis.url, prefix });
  const writes = (m: RedisManifest, who: string) =>
    Array.from({ length: 300 }, (_, i) => m.set(BLOG, `${who}/${i}.css`, idN(i + 1))).concat(
      // Both write the same path too: whichever Redis applied last wins — on every server alike.
      Array.from({ length: 20 }, (_, i) => m.set(BLOG, 'shared.css', idN(who === 'a' ? 1000 + i : 2000 + i))),
    );
  await Promise.all([...writes(a, 'a'), ...writes(b, 'b')]);
  const inRedis = await admin.hgetall(`${prefix}blog:${BLOG}`);
  assert.equal(Object.keys(inRedis).length, 601);
  await changed(a, () => a.entries(BLOG)?.size === 601 && a.lookup(BLOG, 'shared.css') === inRedis['shared.css']);
  await changed(b, () => b.entries(BLOG)?.size === 601 && b.lookup(BLOG, 'shared.css') === inRedis['shared.css']);
  assert.deepEqual(new Map(a.entries(BLOG)!), new Map(Object.entries(inRedis)));
  assert.deepEqual(new Map(b.entries(BLOG)!), new Map(Object.entries(inRedis)));
  await Promise.all([a.close(), b.close()]);
});

test('a dropped subscriber connection reloads: changes made while it was away are not missed', async () => {
  const prefix = fresh();
  const a = await RedisManifest.open({ url: redis.url, prefix });
  const b = await RedisManifest.open({ url: redis.url, prefix });
  await admin.client('KILL', 'TYPE', 'pubsub');
  await a.set(BLOG, 'while-away.css', idN(7));
  await changed(b, () => b.lookup(BLOG, 'while-away.css') === idN(7));
  await a.set(BLOG, 'after.css', idN(8));
  await changed(b, () => b.lookup(BLOG, 'after.css') === idN(8));
  await Promise.all([a.close(), b.close()]);
});

test('without a subscription, refresh() picks up other servers’ changes (a sequence check first)', async () => {
  const prefix = fresh();
  const a = await RedisManifest.open({ url: redis.url, prefix });
  const quiet = await RedisManifest.open({ url: redis.url, prefix, subscribe: false });
  await quiet.set(BLOG, 'own.css', idN(1));
  assert.equal(quiet.lookup(BLOG, 'own.css'), idN(1), 'its own change is visible at once');
  await a.set(BLOG, 'other.css', idN(2));
  assert.equal(quiet.lookup(BLOG, 'other.css'), undefined);
  await quiet.refresh();
  assert.equal(quiet.lookup(BLOG, 'other.css'), idN(2));
  await Promise.all([a.close(), quiet.close()]);
});

test('a caller’s own client can be used (and is left open); thousands of blogs load in batches', async () => {
  const prefix = fresh();
  const client = new Redis(redis.url);
  const writer = await RedisManifest.open({ redis: client, prefix, subscribe: false });
  const changes: ManifestChange[] = [];
  for (let b = 0; b < 5000; b++) for (let i = 0; i < 4; i++) changes.push({ blogID: blogN(b), path: `t/a${i}.css`, cacheID: idN(b * 4 + i) });
  for (let i = 0; i < changes.length; i += 5000) await writer.apply(changes.slice(i, i + 5000));
  await writer.close();
  assert.equal(await client.ping(), 'PONG');

  // In batches: one script call per 1000 blogs reads them all (and one more if the script has to
  // be loaded first). How long the load takes is a figure for a benchmark, not for a test.
  const before = await scriptCalls();
  const reader = await RedisManifest.open({ redis: client, prefix });
  const calls = (await scriptCalls()) - before;
  assert.equal(reader.blogCount, 5000);
  assert.equal(reader.lookup(blogN(4321), 't/a2.css'), idN(4321 * 4 + 2));
  await reader.close();
  client.disconnect();
  assert.ok(calls >= 5 && calls <= 6, `${calls} script calls to load 5000 blogs in batches of 1000`);
});
