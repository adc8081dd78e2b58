// blotcdn as the Blot platform's proxy and CDN, end to end: two edges, both running
// examples/blot.yaml with only addresses swapped, in front of a simulator of the platform's app
// (Redis keys as the app writes them, pages with absolute https://cdn.blot.im asset URLs, its purge
// client: ≤10 hosts a call, ≤3 calls a second, retried), a real S3-compatible bucket, real Redis and
// a real ACME server (pebble). Readers connect over HTTPS with SNI, trusting the platform's CA (its
// wildcard and the certificates it holds) and pebble's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Edge } from '../src/edge.js';
import { useManualClock } from '../src/clock.js';
import { blotExample } from './helpers/blot-example.js';
import { BlotApp, type Blog } from './helpers/blot-app.js';
import { get, httpsGet } from './helpers/client.js';
import { startPebble, type TestPebble } from './helpers/pebble.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { startS3Server, type S3Server } from './helpers/s3-server.js';
import { scratch } from './helpers/scratch.js';
import { startTestCa, type TestCa } from './helpers/test-ca.js';
import { waitFor } from './helpers/wait.js';
import { writeObject } from '../bench/lib/fill-disk-cache.js';

const SECRET = 'platform-purge-secret';
const s = scratch();
let redis: TestRedis;
let pebble: TestPebble;
let ca: TestCa;
let bucket: S3Server;
let app: BlotApp;
let appRedis: Redis;
let trust: string[];
let dir: string;
let alice: Blog;
let carol: Blog;

interface Node {
  id: string;
  /** Ports: 0 until the first start binds them; a restart takes the same ones (the app's URLs name them). */
  http: number;
  https: number;
  purge: number;
  disk: string;
  edge?: Edge;
}
const nodes: Node[] = [];
/** BLOT_REVERSE_PROXY_URLS: filled in once the edges have their ports. */
const proxies: string[] = [];
const purgeUrl = (n: Node) => `http://127.0.0.1:${n.purge}`;

async function startNode(n: Node): Promise<Edge> {
  const config = await blotExample('blot.yaml', {
    nodeId: n.id, redisUrl: redis.url, appUrl: app.url, bucketEndpoint: bucket.endpoint, diskDir: n.disk,
    http: `127.0.0.1:${n.http}`, purge: `127.0.0.1:${n.purge}`,
    tls: { https: `127.0.0.1:${n.https}`, cert: join(dir, 'letsencrypt-domain.pem'), key: join(dir, 'letsencrypt-domain.key'), acmeDirectory: pebble.directoryUrl, acmeCa: join(dir, 'acme-ca.pem') },
  });
  n.edge = new Edge(config);
  await n.edge.start();
  n.http = n.edge.httpAddresses[0]!.port;
  n.https = n.edge.httpsAddresses[0]!.port;
  n.purge = n.edge.admin!.purgeAddresses[0]!.port;
  return n.edge;
}

const read = (n: Node, host: string, path = '/') => httpsGet(n.https, host, path, trust);
const cs = (r: { headers: Record<string, unknown> }) => String(r.headers['cache-status']);
const issued = (n: Node) => n.edge!.tls!.manager.stats().issued;

before(async () => {
  [redis, pebble, ca, bucket] = await Promise.all([startRedis(), startPebble(), startTestCa('Blot test CA'), startS3Server({ bucket: 'blot-cdn-assets', missingAs403: true })]);
  s.deferLast(() => Promise.all([redis.stop(), pebble.stop(), bucket.close()]));
  dir = await s.temp('blotcdn-platform-');
  // The platform's wildcard, a file renewed elsewhere.
  const wildcard = await ca.issue(['*.blot.im', 'blot.im']);
  await writeFile(join(dir, 'letsencrypt-domain.pem'), wildcard.certPem);
  await writeFile(join(dir, 'letsencrypt-domain.key'), wildcard.keyPem);
  await writeFile(join(dir, 'acme-ca.pem'), pebble.apiCa);
  trust = [ca.certPem, await pebble.root()];
  for (const id of ['edge-a', 'edge-b']) nodes.push({ id, http: 0, https: 0, purge: 0, disk: await s.temp(`blotcdn-${id}-`) });
  appRedis = new Redis(redis.url);
  s.defer(async () => appRedis.disconnect());
  // BLOT_REVERSE_PROXY_URLS: each edge's purge listener. The retry interval is 30 s in production.
  app = new BlotApp({ redis: appRedis, bucket, platform: 'blot.im', proxies, token: SECRET, retryIntervalMs: 100 });
  await app.up();
  s.defer(() => app.close());
  process.env.BLOTCDN_PURGE_TOKEN = SECRET;
  s.defer(async () => void delete process.env.BLOTCDN_PURGE_TOKEN);
  for (const n of nodes) await startNode(n);
  s.defer(() => Promise.all(nodes.map((n) => n.edge?.stop())));
  proxies.push(...nodes.map(purgeUrl));
  // pebble validates HTTP-01 at edge a; the challenge answers are in the shared store, so either would do.
  pebble.routeHttp01(nodes[0]!.http);
  alice = await app.addBlog('alice');
  carol = await app.addBlog('carol', { domain: 'carol-writes.com', cert: await ca.issue(['carol-writes.com', 'www.carol-writes.com']) });
});

after(() => undefined);

test('a reader on a custom domain over HTTPS: the certificate the app holds in Redis, no order', async () => {
  for (const n of nodes) {
    const page = await read(n, 'www.carol-writes.com');
    assert.equal(page.status, 200);
    assert.deepEqual(page.certNames, ['carol-writes.com', 'www.carol-writes.com']);
    assert.match(page.text, /<a href="\/hello">Hello<\/a>/);
    assert.match(page.text, new RegExp(`src="https://cdn\\.blot\\.im/${carol.id}/_thumbnails/hello/small\\.jpg"`), 'absolute https:// CDN URLs');
    assert.match(page.text, /proto=https ip=127\.0\.0\.1 id=yes/, 'X-Forwarded-Proto, X-Real-IP and X-Request-ID reach the app');
    assert.match(cs(await read(n, 'www.carol-writes.com')), /^blotcdn; hit/);
    assert.equal(issued(n), 0);
  }
  assert.equal(await appRedis.exists('blotcdn:tls:cert:www.carol-writes.com'), 0, 'nothing ordered or stored of our own');
});

test('a handle on the platform host: the static wildcard, no order; its assets from the CDN host under the same certificate', async () => {
  for (const n of nodes) {
    const page = await read(n, 'alice.blot.im');
    assert.equal(page.status, 200);
    assert.deepEqual(page.certNames, ['*.blot.im', 'blot.im']);
    const css = await read(n, 'cdn.blot.im', '/template/ab/cd/style.css');
    assert.equal(css.status, 200);
    assert.equal(css.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(css.headers['access-control-allow-origin'], '*');
    const thumb = await read(n, 'cdn.blot.im', `/${alice.id}/_thumbnails/hello/small.jpg`);
    assert.equal(thumb.text, `jpeg bytes of ${alice.id}/hello`, 'from the bucket');
    assert.equal(thumb.headers['x-served-by-origin'], 's3');
    const home = await read(n, 'cdn.blot.im');
    assert.equal(home.status, 301);
    assert.equal(home.headers.location, 'https://blot.im/');
    assert.equal(cs(await read(n, 'cdn.blot.im', '/health')), 'blotcdn; fwd=bypass');
    // What the platform never caches.
    for (const [host, path] of [['preview-diary-alice.blot.im', '/'], ['blot.im', '/sign-up'], ['alice.blot.im', '/random'], ['alice.blot.im', '/draft/stream/hello.txt']] as const) {
      for (let i = 0; i < 2; i++) assert.equal(cs(await read(n, host, path)), 'blotcdn; fwd=bypass', `${host}${path}`);
    }
    assert.equal(issued(n), 0);
  }
});

test('a made-up handle: the wildcard, no order, the app says there is no blog — and says it once', async () => {
  for (const n of nodes) {
    const first = await read(n, 'no-such-handle-7f3a.blot.im', '/wp-content/x');
    assert.deepEqual(first.certNames, ['*.blot.im', 'blot.im']);
    assert.equal(first.status, 404);
    assert.match(first.text, /There is no blog at no-such-handle-7f3a\.blot\.im/);
    assert.match(cs(await read(n, 'no-such-handle-7f3a.blot.im', '/wp-content/x')), /^blotcdn; hit/, '404s are kept a year, as today');
    assert.equal((await read(n, 'no-such-handle-7f3a.blot.im', '/wp-admin/setup.php')).status, 404, 'scanner paths answered at the edge');
    assert.equal(issued(n), 0);
  }
  assert.equal(app.seen.filter((x) => x.startsWith('no-such-handle-7f3a.blot.im')).length, 2, 'once per edge; scanners never');
});

test('a custom domain added at run time is served at its first request, with a certificate ordered on demand once', async () => {
  const [a, b] = nodes as [Node, Node];
  for (const n of nodes) assert.equal((await get(`http://127.0.0.1:${n.http}/`, { host: 'dan-new.com' })).status, 421, 'not on the list yet');
  const dan = await app.addBlog('dan', { domain: 'dan-new.com' });
  const first = await read(a, 'dan-new.com');
  assert.equal(first.status, 200, 'served at its first request, the cached "not ours" forgotten');
  assert.deepEqual(first.certNames, ['dan-new.com']);
  assert.match(first.text, new RegExp(dan.id));
  assert.equal(issued(a), 1, 'one order, on demand');
  const onB = await read(b, 'dan-new.com');
  assert.equal(onB.status, 200);
  assert.deepEqual(onB.certNames, ['dan-new.com']);
  assert.equal(issued(b), 0, 'the other edge found it in the shared store');
  assert.equal((await get(`http://127.0.0.1:${b.http}/`, { host: 'www.dan-new.com' })).status, 200, 'plain HTTP stays served: redirecting is the app\'s call');
});

test('a publish: every edge misses once then hits; the assets stay cached; the purge is batched', async () => {
  const assets = ['/template/ab/cd/style.css', `/folder/v-1a2b3c4d/${carol.id}/app.js`, `/${carol.id}/_thumbnails/hello/small.jpg`];
  for (const n of nodes) {
    for (const host of carol.hosts) await read(n, host);
    for (const path of assets) await read(n, 'cdn.blot.im', path);
    assert.match(cs(await read(n, 'www.carol-writes.com')), /^blotcdn; hit/);
  }
  const appAsked = app.seen.length;
  const bucketReads = () => bucket.requests.filter((r) => r.method !== 'PUT').length; // the app uploads with PUT
  const bucketAsked = bucketReads();
  const calls = app.purge.calls.length;
  assert.equal(await app.publish(carol, 'Second post'), undefined);
  const made = app.purge.calls.slice(calls);
  assert.deepEqual(made.map((c) => [c.proxy, c.status, c.body]).sort(), nodes.map((n) => [purgeUrl(n), 200, 'carol.blot.im: 1\ncarol-writes.com: 2\nwww.carol-writes.com: 0\n']).sort(), 'one call per edge; a host counts its www twin (then gone)');
  for (const n of nodes) {
    for (const host of carol.hosts) {
      const page = await read(n, host);
      assert.match(cs(page), /fwd=miss/, `${n.id} ${host}`);
      assert.match(page.text, /Second post/);
      assert.match(cs(await read(n, host)), /^blotcdn; hit/);
    }
    for (const path of assets) assert.match(cs(await read(n, 'cdn.blot.im', path)), /^blotcdn; hit/, `${path} not purged`);
  }
  assert.equal(app.seen.length - appAsked, 2 * carol.hosts.length, 'the app served each page once per edge');
  assert.equal(bucketReads(), bucketAsked, 'the bucket was not asked again');

  // A change to many blogs at once (a template used by 25): at most 10 hosts a call, to each edge.
  const many = Array.from({ length: 25 }, (_, i) => `reader-${i}.blot.im`);
  const before = app.purge.calls.length;
  await app.purge.flush(many);
  const batch = app.purge.calls.slice(before);
  assert.deepEqual(batch.map((c) => c.hosts.length), [10, 10, 10, 10, 5, 5]);
  assert.ok(batch.every((c) => c.status === 200 && c.body.split('\n').filter(Boolean).length === c.hosts.length));
});

test('a thumbnail missing from the bucket is served from the app, with CORS, and kept', async () => {
  await app.publish(alice, 'No thumbnail yet', { thumbnail: 'app' });
  const path = `/${alice.id}/_thumbnails/no-thumbnail-yet/small.jpg`;
  for (const n of nodes) {
    const thumb = await read(n, 'cdn.blot.im', path);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.text, `jpeg bytes of ${alice.id}/no-thumbnail-yet from the app`);
    assert.equal(thumb.headers['x-served-by-origin'], 'blot');
    assert.equal(thumb.headers['access-control-allow-origin'], '*');
    assert.equal(thumb.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(cs(await read(n, 'cdn.blot.im', path)), /^blotcdn; hit/);
  }
  assert.ok(bucket.requests.some((r) => r.url.endsWith('/no-thumbnail-yet/small.jpg') && r.verdict === 'ok'), 'the bucket was asked first (and said 403)');
});

test('an edge restarted without its index: no purge meets a half-read cache (503 + Retry-After 30 if one would); the purge it missed is retried; nothing purged is served after', async () => {
  const b = nodes[1]!;
  for (const host of alice.hosts) assert.match(cs(await read(b, host)), /^blotcdn; (hit|fwd=miss)/);
  await b.edge!.stop();
  const failure = await app.publish(alice, 'While b was away');
  assert.match(String(failure), /failed to flush/, 'a refused connection: the app records it');
  assert.deepEqual(await app.purge.pending(purgeUrl(b)), alice.hosts);

  // A restart without a usable index (lost with a crash): b rebuilds it from its files, here its
  // pages plus 10,000 other objects, answering hits meanwhile but purges with 503 until it is whole.
  await rm(join(b.disk, 'index', 'snapshot'));
  const folders = new Set<string>();
  for (let n = 0; n < 10_000; n++) writeObject(b.disk, n, Date.now(), folders);
  await startNode(b);
  await app.purge.retryPending(); // the app's retry, sent at once (its timer also sends it every 100 ms)
  // In cluster mode (blot.yaml names Redis) a node catches up before it listens, which waits for
  // its index: then no purge ever meets a half-read cache. Without that, purges meet a 503.
  const refused = app.purge.calls.filter((c) => c.proxy === purgeUrl(b) && c.status === 503);
  for (const notReady of refused) {
    assert.equal(notReady.retryAfter, '30');
    assert.equal(JSON.parse(notReady.body).code, 'not_ready');
    assert.deepEqual(notReady.hosts, alice.hosts, 'the purge b missed, refused for now: the app keeps it pending');
  }

  await waitFor(async () => (await app.purge.pending(purgeUrl(b))).length === 0, 'the retried purge to be accepted', 60_000);
  const accepted = app.purge.calls.filter((c) => c.proxy === purgeUrl(b)).at(-1)!;
  assert.equal(accepted.status, 200);
  // 1, or 0 when b came back with no cluster position for its disk cache and so trusts nothing it
  // stored before (src/cluster: catch-up) — either way the page below is fetched anew.
  assert.match(accepted.body, /^alice\.blot\.im: [01]\n$/);
  const page = await read(b, 'alice.blot.im');
  assert.match(page.text, /While b was away/, 'the page from before the purge is never served again');
  assert.match(cs(page), /fwd=miss/);
});

test('the app down: cached pages are served, past their year stale within grace; the branded page for what was never cached', async (t) => {
  const posts = alice.posts.map((p) => `/${p.slug}`);
  for (const n of nodes) for (const path of posts) await read(n, 'alice.blot.im', path);
  await app.down();
  t.after(() => app.up());
  for (const n of nodes) {
    for (const path of posts) assert.match(cs(await read(n, 'alice.blot.im', path)), /^blotcdn; hit/);
    const never = await read(n, 'alice.blot.im', '/never-cached');
    assert.ok([502, 503, 504].includes(never.status), String(never.status));
    assert.match(never.text, /This blog is offline for a moment/);
    assert.equal(never.headers['cache-control'], 'no-store');
  }
  // A year on (the HTML's lifetime), with the app still down: served stale, within the 30-day grace.
  const time = useManualClock(Date.now() + 366 * 86_400_000);
  t.after(() => time.restore());
  for (const n of nodes) {
    const stale = await read(n, 'alice.blot.im', posts[0]!);
    assert.equal(stale.status, 200);
    assert.match(cs(stale), /fwd=stale/);
  }
});
