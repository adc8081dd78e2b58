// A host the platform adds to its list (Redis `domain:{host}`, written as the app writes it) is served
// at its first request after the write, though a request a moment before was refused and that "no"
// is cached; a host it removes is refused at once. Through Redis keyspace notifications (turned on
// by the edge when allowed), or a PUBLISH on the domains channel where they cannot be had; with the
// watch off, the negative cache's lifetime is the wait (the fallback).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, type TestEdge } from './helpers/edge.js';
import { get } from './helpers/client.js';
import { waitFor } from './helpers/wait.js';
import { useManualClock } from '../src/clock.js';

const BLOG = 'blog_0123456789abcdef0123456789abcdef';
let redis: TestRedis;
let app: Redis;
let origin: TestOrigin;

before(async () => {
  redis = await startRedis();
  app = new Redis(redis.url);
  origin = await startOrigin((req, res) => res.end(`blog at ${req.headers.host}`));
});

after(async () => {
  app.disconnect();
  await origin.close();
  await redis.stop();
});

function edgeWith(redisDomains: Record<string, unknown>): Promise<TestEdge> {
  return startEdge({
    redis: { url: redis.url },
    domains: { redis: redisDomains, cache: { denied: '10m' } },
    originGroups: { app: { members: [{ url: origin.url }] } },
    sites: [{ name: 'blogs', hosts: ['*.blot.test'], originGroup: 'app', domainList: true }],
  });
}

const status = async (edge: TestEdge, host: string) => (await get(`${edge.url}/`, { host })).status;

test('without keyspace events (Redis default), a host published on the channel is served at once', async (t) => {
  const edge = await edgeWith({ enableKeyspaceEvents: false });
  t.after(() => edge.stop());
  assert.equal(((await app.config('GET', 'notify-keyspace-events')) as string[])[1], '', 'left as it was');
  assert.equal(await status(edge, 'published.test'), 421);
  await app.set('domain:published.test', BLOG);
  assert.equal(await status(edge, 'published.test'), 421, 'no notification: the cached "no" stands');
  await app.publish('blotcdn:domains', 'published.test');
  assert.equal(await status(edge, 'published.test'), 200);
});

test('with keyspace events (turned on by the edge), an added host is served at its first request, a removed one refused at once', async (t) => {
  const edge = await edgeWith({ enableKeyspaceEvents: true });
  t.after(() => edge.stop());
  assert.match(String(((await app.config('GET', 'notify-keyspace-events')) as string[])[1]), /^(?=.*K)(?=.*\$)(?=.*g)(?=.*x)/);
  assert.equal(await status(edge, 'new-domain.test'), 421, 'not on the list yet (and the "no" is cached for 10 minutes)');
  await app.set('domain:new-domain.test', BLOG);
  const first = await get(`${edge.url}/`, { host: 'new-domain.test' });
  assert.equal(first.status, 200);
  assert.match(first.text, /^blog at new-domain\.test(:\d+)?$/);
  await app.del('domain:new-domain.test');
  assert.equal(await status(edge, 'new-domain.test'), 421, 'removed: refused at once, not after the 1-minute positive cache');
  // A key that expires (the app's temporary hosts) is a removal too.
  await app.set('domain:brief.test', BLOG);
  assert.equal(await status(edge, 'brief.test'), 200);
  await app.pexpire('domain:brief.test', 1);
  await waitFor(async () => (await app.exists('domain:brief.test')) === 0, 'the key to expire');
  assert.equal(await status(edge, 'brief.test'), 421);
});

test('with the watch off, the short negative cache is the wait', async (t) => {
  const edge = await edgeWith({ watch: false });
  const time = useManualClock();
  t.after(async () => {
    time.restore();
    await edge.stop();
  });
  assert.equal(await status(edge, 'late.test'), 421);
  await app.set('domain:late.test', BLOG);
  assert.equal(await status(edge, 'late.test'), 421);
  time.advance(10 * 60_000);
  assert.equal(await status(edge, 'late.test'), 200);
});
