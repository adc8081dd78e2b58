// Revalidation seen from a client: a stale object is validated with its own ETag and
// Last-Modified (RFC 9111 §4.3.1) and freshened by a 304 (§4.3.4) or replaced by a 200; the edge
// answers clients' own conditionals from what it holds (RFC 9110 §13); and request directives
// (RFC 9111 §5.2.1) force, forbid or relax the use of what is stored. Time moves by the edge's
// clock (advanced by the test), and a revalidation is held at the origin until the test lets it go.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, simpleConfig, type TestEdge } from './helpers/edge.js';
import { get } from './helpers/client.js';
import { Gate } from './helpers/gate.js';
import { waitFor } from './helpers/wait.js';
import { manualClock } from './helpers/clock.js';

/** What the origin serves for one path; tests change it between requests. */
interface Resource {
  body: string;
  headers: Record<string, string>;
  /** Headers of the 304 sent when If-None-Match matches the current ETag. */
  notModified?: Record<string, string>;
}

const resources = new Map<string, Resource>();
/** Paths whose answers wait at `gate` until the test opens it. */
const held = new Set<string>();
const gate = new Gate();
let origin: TestOrigin;
let edge: TestEdge;

const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000).toUTCString();
const oneDayAgo = new Date(Date.now() - 86_400_000).toUTCString();

before(async () => {
  origin = await startOrigin((req, res) => {
    if (held.has(req.url ?? '')) gate.pass(() => answer(req, res));
    else answer(req, res);
  });
  // Request directives are honoured only where a behavior says so (the default ignores them).
  edge = await startEdge(simpleConfig(origin.url, { sites: [{ hosts: ['*'], originGroup: 'main', behaviors: [{ path: '*', clientCacheControl: 'honor' }] }] }));
});

function answer(req: IncomingMessage, res: ServerResponse): void {
  const r = resources.get(req.url ?? '');
  if (!r) {
    res.writeHead(404, { 'content-length': '0' });
    res.end();
    return;
  }
  const etag = r.headers['etag'];
  if (etag !== undefined && req.headers['if-none-match'] === etag) {
    res.writeHead(304, (r.notModified ?? { etag }) as OutgoingHttpHeaders);
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(Buffer.byteLength(r.body)), ...r.headers });
  res.end(r.body);
}

after(async () => {
  await edge.stop();
  await origin.close();
});

const cs = (r: { headers: Record<string, unknown> }) => String(r.headers['cache-status']);
const lastSeen = (path: string) => origin.requests.filter((r) => r.url === path).at(-1)!;

test('a stale object is revalidated with its validators and freshened by a 304 (RFC 9111 §4.3.4)', async (t) => {
    const clock = manualClock(t);
  const path = '/rv/304';
  const body = 'the stored body, version one';
  resources.set(path, {
    body,
    headers: { etag: '"v1"', 'last-modified': tenDaysAgo, 'cache-control': 'max-age=1', 'x-version': '1' },
    // A 304 announcing a different Content-Length: it describes nothing the edge stores.
    notModified: { etag: '"v1"', 'x-version': '2', 'cache-control': 'max-age=60', 'content-length': '3' },
  });
  const first = await get(`${edge.url}${path}`);
  assert.equal(first.text, body);
  assert.equal(cs(first), 'blotcdn; fwd=miss; stored');
  assert.equal(origin.requests.filter((r) => r.url === path)[0]!.headers['if-none-match'], undefined, 'a miss is not conditional');

  clock.advance(1100);
  const revalidated = await get(`${edge.url}${path}`);
  assert.equal(origin.count(path), 2);
  const seen = lastSeen(path);
  assert.equal(seen.headers['if-none-match'], '"v1"');
  assert.equal(seen.headers['if-modified-since'], tenDaysAgo);
  assert.equal(revalidated.status, 200);
  assert.equal(revalidated.error, undefined);
  assert.equal(revalidated.text, body);
  assert.equal(revalidated.headers['content-length'], String(Buffer.byteLength(body)), 'Content-Length of the 304 must not replace the stored one');
  assert.equal(revalidated.headers['x-version'], '2');
  assert.equal(revalidated.headers['cache-control'], 'max-age=60', 'the 304 replaces the stored Cache-Control, it is not appended');
  assert.equal(revalidated.headers['etag'], '"v1"');
  assert.equal(cs(revalidated), 'blotcdn; fwd=stale; fwd-status=304; stored');
  assert.equal(revalidated.headers['age'], '0', 'the object is as old as the 304, not as the first response');

  const hit = await get(`${edge.url}${path}`);
  assert.match(cs(hit), /^blotcdn; hit; ttl=(59|60)$/, 'freshness is computed again from the 304 (max-age=60)');
  assert.equal(hit.headers['x-version'], '2');
  assert.equal(hit.headers['content-length'], String(Buffer.byteLength(body)));
  assert.equal(hit.text, body);
  assert.equal(origin.count(path), 2);
});

test('a 304 without Surrogate-Control is judged by the Surrogate-Control stored with the object', async (t) => {
    const clock = manualClock(t);
  const path = '/rv/surrogate';
  resources.set(path, {
    body: 'kept for the edge only',
    // Clients may not store it; the edge may, for two seconds at a time.
    headers: { etag: '"s1"', 'cache-control': 'no-store', 'surrogate-control': 'max-age=2' },
    notModified: { etag: '"s1"' },
  });
  assert.equal(cs(await get(`${edge.url}${path}`)), 'blotcdn; fwd=miss; stored');
  clock.advance(2100);
  const revalidated = await get(`${edge.url}${path}`);
  assert.equal(cs(revalidated), 'blotcdn; fwd=stale; fwd-status=304; stored', 'still storable by the stored Surrogate-Control');
  assert.equal(revalidated.headers['surrogate-control'], undefined);
  assert.equal(revalidated.headers['cache-control'], 'no-store');
  const hit = await get(`${edge.url}${path}`);
  assert.match(cs(hit), /^blotcdn; hit; ttl=[12]/, 'fresh again for the stored max-age');
  assert.equal(hit.text, 'kept for the edge only');
  assert.equal(origin.count(path), 2);
});

test('a revalidation answered 200 with a new body replaces the stored object', async (t) => {
    const clock = manualClock(t);
  const path = '/rv/200';
  resources.set(path, { body: 'old body', headers: { etag: '"old"', 'cache-control': 'max-age=1' } });
  assert.equal((await get(`${edge.url}${path}`)).text, 'old body');
  clock.advance(1100);
  resources.set(path, { body: 'a completely new body', headers: { etag: '"new"', 'cache-control': 'max-age=60' } });
  const replaced = await get(`${edge.url}${path}`);
  assert.equal(lastSeen(path).headers['if-none-match'], '"old"', 'the edge asked with the validator it held');
  assert.equal(replaced.status, 200);
  assert.equal(replaced.text, 'a completely new body');
  assert.equal(replaced.headers['etag'], '"new"');
  assert.match(cs(replaced), /fwd=stale; stored/);
  const hit = await get(`${edge.url}${path}`);
  assert.match(cs(hit), /^blotcdn; hit/);
  assert.equal(hit.text, 'a completely new body');
  assert.equal(hit.headers['etag'], '"new"');
  assert.equal(origin.count(path), 2);
});

test("clients' own conditionals are answered from the cache (RFC 9110 §13)", async () => {
  const path = '/cond';
  const body = 'conditional body';
  resources.set(path, { body, headers: { etag: '"c1"', 'last-modified': tenDaysAgo, 'cache-control': 'max-age=60' } });
  await get(`${edge.url}${path}`);
  const url = `${edge.url}${path}`;

  const inm = await get(url, { 'if-none-match': '"c1"' });
  assert.equal(inm.status, 304);
  assert.equal(inm.headers['etag'], '"c1"');
  assert.equal(inm.body.length, 0);

  const inmList = await get(url, { 'if-none-match': '"x", W/"c1"' });
  assert.equal(inmList.status, 304, 'If-None-Match uses the weak comparison, over a list');

  const inmOther = await get(url, { 'if-none-match': '"c2"' });
  assert.equal(inmOther.status, 200);
  assert.equal(inmOther.text, body);

  const imsLater = await get(url, { 'if-modified-since': oneDayAgo });
  assert.equal(imsLater.status, 304);
  assert.equal(imsLater.body.length, 0);

  const imsEarlier = await get(url, { 'if-modified-since': new Date(Date.now() - 20 * 86_400_000).toUTCString() });
  assert.equal(imsEarlier.status, 200);
  assert.equal(imsEarlier.text, body);

  const inmWins = await get(url, { 'if-none-match': '"c2"', 'if-modified-since': oneDayAgo });
  assert.equal(inmWins.status, 200, 'If-Modified-Since is ignored when If-None-Match is present (RFC 9110 §13.1.3)');
  assert.equal(inmWins.text, body);

  const imsInvalid = await get(url, { 'if-modified-since': 'yesterday' });
  assert.equal(imsInvalid.status, 200, 'an invalid date is ignored');

  const star = await get(url, { 'if-none-match': '*' });
  assert.equal(star.status, 304);

  const ifMatchBad = await get(url, { 'if-match': '"nope"' });
  assert.equal(ifMatchBad.status, 412);
  assert.equal(ifMatchBad.body.length, 0);

  const iusEarlier = await get(url, { 'if-unmodified-since': new Date(Date.now() - 20 * 86_400_000).toUTCString() });
  assert.equal(iusEarlier.status, 412, 'modified since the If-Unmodified-Since date');

  const iusLater = await get(url, { 'if-unmodified-since': oneDayAgo });
  assert.equal(iusLater.status, 200);

  const ifMatchGood = await get(url, { 'if-match': '"c1"' });
  assert.equal(ifMatchGood.status, 200);
  assert.equal(ifMatchGood.text, body);

  assert.equal(origin.count(path), 1, 'none of these reached the origin');
});

test('concurrent requests for a stale object share one revalidation', async (t) => {
  const clock = manualClock(t);
  const path = '/rv/concurrent';
  resources.set(path, { body: 'shared body', headers: { etag: '"s1"', 'cache-control': 'max-age=1' }, notModified: { etag: '"s1"', 'cache-control': 'max-age=60' } });
  await get(`${edge.url}${path}`);
  clock.advance(1100);
  held.add(path);
  gate.shut();
  try {
    const pending = Promise.all(Array.from({ length: 8 }, () => get(`${edge.url}${path}`)));
    // The revalidation waits at the origin until all eight have joined it.
    await waitFor(() => edge.edge.runtime.cache.flights.get(`http://127.0.0.1${path}`)?.joined === 7, 'seven requests to join the revalidation');
    assert.equal(gate.held, 1, 'one revalidation is at the origin');
    gate.open();
    for (const r of await pending) {
      assert.equal(r.status, 200);
      assert.equal(r.text, 'shared body');
    }
  } finally {
    held.delete(path);
    gate.open();
  }
  assert.equal(origin.count(path), 2, 'one revalidation for all of them');
  assert.match(cs(await get(`${edge.url}${path}`)), /^blotcdn; hit/);
});

/** Stores `path` (fresh for `maxAge` seconds) and checks the next request is a hit. */
async function prime(path: string, maxAge = 60): Promise<void> {
  resources.set(path, {
    body: `body of ${path}`,
    headers: { etag: `"${path}"`, 'cache-control': `max-age=${maxAge}` },
    notModified: { etag: `"${path}"`, 'cache-control': `max-age=${maxAge}` },
  });
  await get(`${edge.url}${path}`);
  assert.match(cs(await get(`${edge.url}${path}`)), /^blotcdn; hit/, `${path} is stored`);
  assert.equal(origin.count(path), 1);
}

for (const [name, headers] of [
  ['Cache-Control: max-age=0', { 'cache-control': 'max-age=0' }],
  ['Cache-Control: no-cache', { 'cache-control': 'no-cache' }],
  ['Pragma: no-cache without Cache-Control', { pragma: 'no-cache' }],
] as const) {
  test(`${name} in the request forces a revalidation of a fresh object (RFC 9111 §5.2.1)`, async () => {
    const path = `/rd/${name.replace(/\W+/g, '-')}`;
    await prime(path);
    const res = await get(`${edge.url}${path}`, headers);
    assert.equal(origin.count(path), 2, 'the origin was asked');
    assert.equal(lastSeen(path).headers['if-none-match'], `"${path}"`, 'conditionally, with the stored ETag');
    assert.equal(res.status, 200);
    assert.equal(res.text, `body of ${path}`);
    assert.match(cs(res), /fwd-status=304/);
  });
}

test('Pragma: no-cache is ignored when the request has Cache-Control', async () => {
  const path = '/rd/pragma-with-cc';
  await prime(path);
  const res = await get(`${edge.url}${path}`, { 'cache-control': 'max-stale', pragma: 'no-cache' });
  assert.match(cs(res), /^blotcdn; hit/);
  assert.equal(origin.count(path), 1);
});

test('only-if-cached: 504 on a miss without contacting the origin, 200 on a hit', async () => {
  const missing = '/rd/only-if-cached-miss';
  resources.set(missing, { body: 'never fetched', headers: { 'cache-control': 'max-age=60' } });
  const miss = await get(`${edge.url}${missing}`, { 'cache-control': 'only-if-cached' });
  assert.equal(miss.status, 504);
  assert.equal(origin.count(missing), 0);

  const path = '/rd/only-if-cached-hit';
  await prime(path);
  const hit = await get(`${edge.url}${path}`, { 'cache-control': 'only-if-cached' });
  assert.equal(hit.status, 200);
  assert.equal(hit.text, `body of ${path}`);
  assert.equal(origin.count(path), 1);
});

test('max-stale accepts a stale object without contacting the origin; without it the object is revalidated', async (t) => {
    const clock = manualClock(t);
  const path = '/rd/max-stale';
  await prime(path, 1);
  clock.advance(1100);
  const bounded = await get(`${edge.url}${path}`, { 'cache-control': 'max-stale=30' });
  assert.equal(bounded.status, 200);
  assert.equal(bounded.text, `body of ${path}`);
  assert.match(cs(bounded), /^blotcdn; hit/);
  const bare = await get(`${edge.url}${path}`, { 'cache-control': 'max-stale' });
  assert.match(cs(bare), /^blotcdn; hit/);
  assert.equal(origin.count(path), 1);
  const plain = await get(`${edge.url}${path}`);
  assert.doesNotMatch(cs(plain), /hit/);
  assert.equal(origin.count(path), 2);
});

test('min-fresh larger than the remaining freshness goes to the origin; a smaller one is a hit', async () => {
  const path = '/rd/min-fresh';
  await prime(path, 60);
  const small = await get(`${edge.url}${path}`, { 'cache-control': 'min-fresh=10' });
  assert.match(cs(small), /^blotcdn; hit/);
  assert.equal(origin.count(path), 1);
  const large = await get(`${edge.url}${path}`, { 'cache-control': 'min-fresh=120' });
  assert.doesNotMatch(cs(large), /hit/);
  assert.equal(large.text, `body of ${path}`);
  assert.equal(origin.count(path), 2);
});

test(
  'Cache-Status says fwd=request when request directives forced the revalidation of a fresh object (RFC 9211 §2.2)',
  async () => {
    const path = '/rd/fwd-request';
    await prime(path);
    const noCache = await get(`${edge.url}${path}`, { 'cache-control': 'no-cache' });
    assert.equal(cs(noCache), 'blotcdn; fwd=request; fwd-status=304; stored');
    const maxAge0 = await get(`${edge.url}${path}`, { 'cache-control': 'max-age=0' });
    assert.equal(cs(maxAge0), 'blotcdn; fwd=request; fwd-status=304; stored');
  },
);

test(
  'a request with Cache-Control: no-cache, no-store does not evict the stored object (RFC 9111 §5.2.1.5)',
  async () => {
    const path = '/rd/no-store-request';
    await prime(path);
    const res = await get(`${edge.url}${path}`, { 'cache-control': 'no-cache, no-store' });
    assert.equal(res.status, 200);
    assert.equal(res.text, `body of ${path}`);
    assert.equal(origin.count(path), 2, 'the request was validated with the origin');
    const next = await get(`${edge.url}${path}`);
    assert.match(cs(next), /^blotcdn; hit/, 'the object stored before is still there for everyone else');
    assert.equal(origin.count(path), 2);
  },
);

test(
  'a 304 whose strong ETag differs from the stored one does not relabel the stored body (RFC 9111 §4.3.4)',
  async (t) => {
    const clock = manualClock(t);
    const path = '/rv/mismatch';
    resources.set(path, {
      body: 'body of version one',
      headers: { etag: '"v1"', 'cache-control': 'max-age=1', 'x-version': '1' },
      // An origin that answers 304 but names another representation (e.g. per-server ETags).
      notModified: { etag: '"v2"', 'cache-control': 'max-age=60', 'x-version': '2' },
    });
    await get(`${edge.url}${path}`);
    clock.advance(1100);
    const res = await get(`${edge.url}${path}`);
    assert.equal(res.status, 200);
    const pairs = [res, await get(`${edge.url}${path}`)].map((r) => `${r.headers['etag']} ${r.text}`);
    for (const pair of pairs) assert.notEqual(pair, '"v2" body of version one', 'the body of "v1" is served as "v2"');
  },
);
