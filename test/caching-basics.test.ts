// The first cache, seen from a client: miss then hit, Age, HEAD from a cached GET, freshness from
// s-maxage / max-age / Expires, what must not be stored, and the query rules of a behavior. Time
// moves by the edge's clock (advanced by the test), never by sleeping.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, respond, type TestOrigin } from './helpers/origin.js';
import { startEdge, simpleConfig, type TestEdge } from './helpers/edge.js';
import { get, request } from './helpers/client.js';
import { manualClock } from './helpers/clock.js';

let origin: TestOrigin;
let edge: TestEdge;

before(async () => {
  origin = await startOrigin((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const routes: Record<string, [string, Record<string, string>]> = {
      '/page': ['<h1>page</h1>', { 'cache-control': 'max-age=60', 'content-type': 'text/html' }],
      '/smaxage': ['s', { 'cache-control': 'max-age=0, s-maxage=60' }],
      '/expires': ['e', { expires: new Date(Date.now() + 60_000).toUTCString(), date: new Date().toUTCString() }],
      '/expired': ['x', { expires: 'Thu, 01 Jan 1970 00:00:00 GMT' }],
      '/nostore': ['n', { 'cache-control': 'no-store' }],
      '/private': ['p', { 'cache-control': 'private, max-age=60' }],
      '/cookie': ['c', { 'cache-control': 'max-age=60', 'set-cookie': 'session=abc' }],
      '/short': ['short', { 'cache-control': 'max-age=1' }],
      '/aged': ['aged', { 'cache-control': 'max-age=100', age: '30' }],
      '/q': [`query ${req.url}`, { 'cache-control': 'max-age=60' }],
    };
    const route = routes[path!.startsWith('/q/') ? '/q' : path!];
    if (!route) return respond('nope', {}, 404)(req, res);
    respond(route[0], route[1])(req, res);
  });
  edge = await startEdge({
    ...simpleConfig(origin.url),
    sites: [
      {
        hosts: ['*'],
        originGroup: 'main',
        behaviors: [
          { path: '/q/none*', query: 'none' },
          { path: '/q/allow*', query: { allow: ['page'] } },
        ],
      },
    ],
  });
});

after(async () => {
  await edge.stop();
  await origin.close();
});

test('a miss is fetched and stored, the next request is a hit with Age', async () => {
  const first = await get(`${edge.url}/page`);
  assert.equal(first.status, 200);
  assert.equal(first.text, '<h1>page</h1>');
  assert.equal(first.headers['cache-status'], 'blotcdn; fwd=miss; stored');
  const second = await get(`${edge.url}/page`);
  assert.equal(second.status, 200);
  assert.equal(second.text, '<h1>page</h1>');
  // The origin's Date has one-second granularity, so up to a second of apparent age is normal.
  const ttl = Number(/^blotcdn; hit; ttl=(\d+)$/.exec(String(second.headers['cache-status']))?.[1]);
  assert.ok(ttl >= 57 && ttl <= 60, `ttl ${ttl}`);
  assert.ok(['0', '1'].includes(String(second.headers['age'])), `age ${second.headers['age']}`);
  assert.equal(second.headers['content-type'], 'text/html');
  assert.equal(origin.count('/page'), 1);
});

test('Age grows while the object sits in the cache, and counts the Age the origin sent', async (t) => {
  const clock = manualClock(t);
  await get(`${edge.url}/aged`);
  clock.advance(1100);
  const hit = await get(`${edge.url}/aged`);
  assert.ok(Number(hit.headers['age']) >= 31, `age ${hit.headers['age']}`);
});

test('HEAD is answered from a cached GET, and a HEAD miss fills the cache', async () => {
  await get(`${edge.url}/page`);
  const head = await request(`${edge.url}/page`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.headers['content-length'], String('<h1>page</h1>'.length));
  assert.match(String(head.headers['cache-status']), /hit/);

  const before = origin.count('/smaxage');
  const headMiss = await request(`${edge.url}/smaxage`, { method: 'HEAD' });
  assert.match(String(headMiss.headers['cache-status']), /fwd=miss; stored/);
  const seen = origin.requests.filter((r) => r.url === '/smaxage').at(-1)!;
  assert.equal(seen.method, 'GET', 'the edge fetches GET to fill the cache');
  const getHit = await get(`${edge.url}/smaxage`);
  assert.equal(getHit.text, 's');
  assert.match(String(getHit.headers['cache-status']), /hit/);
  assert.equal(origin.count('/smaxage'), before + 1);
});

test('s-maxage outranks max-age=0 for a shared cache; Expires gives freshness too', async () => {
  await get(`${edge.url}/smaxage`);
  assert.match(String((await get(`${edge.url}/smaxage`)).headers['cache-status']), /hit/);
  await get(`${edge.url}/expires`);
  assert.match(String((await get(`${edge.url}/expires`)).headers['cache-status']), /hit/);
  await get(`${edge.url}/expired`);
  const again = await get(`${edge.url}/expired`);
  assert.doesNotMatch(String(again.headers['cache-status']), /hit/);
  assert.equal(origin.count('/expired'), 2);
});

test('no-store, private and Set-Cookie responses are never stored', async () => {
  for (const path of ['/nostore', '/private', '/cookie']) {
    const a = await get(`${edge.url}${path}`);
    const b = await get(`${edge.url}${path}`);
    assert.doesNotMatch(String(a.headers['cache-status']), /stored|hit/, path);
    assert.doesNotMatch(String(b.headers['cache-status']), /hit/, path);
    assert.equal(origin.count(path), 2, path);
  }
  const cookie = await get(`${edge.url}/cookie`);
  assert.match(String(cookie.headers['cache-status']), /detail=set-cookie/);
  assert.equal(cookie.headers['set-cookie']?.[0], 'session=abc', 'the cookie still reaches its own client');
});

test('a response goes stale after its max-age and is fetched again', async (t) => {
  const clock = manualClock(t);
  await get(`${edge.url}/short`);
  assert.match(String((await get(`${edge.url}/short`)).headers['cache-status']), /hit/);
  clock.advance(1100);
  const stale = await get(`${edge.url}/short`);
  assert.doesNotMatch(String(stale.headers['cache-status']), /hit/);
  assert.equal(origin.count('/short'), 2);
});

test('query handling in the key: all, none, or an allow-list', async () => {
  await get(`${edge.url}/q/all?a=1`);
  const other = await get(`${edge.url}/q/all?a=2`);
  assert.match(String(other.headers['cache-status']), /fwd=miss/, 'by default every query is its own object');

  const n1 = await get(`${edge.url}/q/none?utm=1`);
  const n2 = await get(`${edge.url}/q/none?utm=2`);
  assert.match(String(n2.headers['cache-status']), /hit/);
  assert.equal(n1.text, 'query /q/none', 'a query outside the key is not sent to the origin either');

  const a1 = await get(`${edge.url}/q/allow?page=2&utm=1`);
  const a2 = await get(`${edge.url}/q/allow?utm=9&page=2`);
  const a3 = await get(`${edge.url}/q/allow?page=3`);
  assert.equal(a1.text, 'query /q/allow?page=2');
  assert.match(String(a2.headers['cache-status']), /hit/);
  assert.match(String(a3.headers['cache-status']), /fwd=miss/);
});

test('hosts are keyed apart in the catch-all site', async () => {
  await get(`${edge.url}/page`, { host: 'one.example' });
  const other = await get(`${edge.url}/page`, { host: 'two.example' });
  assert.match(String(other.headers['cache-status']), /fwd=miss/);
  const again = await get(`${edge.url}/page`, { host: 'ONE.example:8080' });
  assert.match(String(again.headers['cache-status']), /hit/, 'host is case-insensitive and port-free in the key');
});
