// Storage rules of RFC 9111 and RFC 9213 seen from a client: targeted fields (CDN-Cache-Control,
// Surrogate-Control) steer the edge without changing what the client is told; Authorization,
// must-understand and qualified no-cache; which statuses are stored; invalidation after unsafe
// methods (§4.4); heuristic freshness (§4.2.2).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, simpleConfig, type TestEdge } from './helpers/edge.js';
import { get, request } from './helpers/client.js';
import { manualClock } from './helpers/clock.js';

let origin: TestOrigin;
let edge: TestEdge;

type Route = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Route>();

/** A route answering `status` with a body naming the request (so a refetch is visible) and `headers`. */
function serve(path: string, headers: Record<string, string | string[]>, status = 200): void {
  routes.set(path, (req, res) => {
    const body = `${req.method} ${path} #${origin.count(path)}`;
    res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  });
}

before(async () => {
  origin = await startOrigin((req, res) => {
    req.resume();
    req.on('end', () => {
      const route = routes.get(req.url ?? '');
      if (route) return route(req, res);
      res.writeHead(404, { 'content-length': '0' });
      res.end();
    });
  });
  edge = await startEdge(simpleConfig(origin.url));
});

after(async () => {
  await edge.stop();
  await origin.close();
});

const cs = (r: { headers: Record<string, unknown> }) => String(r.headers['cache-status']);

/** Two GETs of `path`; returns both replies. */
async function twice(path: string, headers?: Record<string, string>) {
  const first = await get(`${edge.url}${path}`, headers);
  const second = await get(`${edge.url}${path}`, headers);
  return [first, second] as const;
}

function assertStored(path: string, [first, second]: readonly [{ headers: Record<string, unknown>; text: string }, { headers: Record<string, unknown>; text: string }]) {
  assert.match(cs(first), /fwd=miss; stored/, `${path}: first is stored`);
  assert.match(cs(second), /^blotcdn; hit/, `${path}: second is a hit`);
  assert.equal(second.text, first.text);
  assert.equal(origin.count(path), 1, `${path}: fetched once`);
}

function assertNotStored(path: string, [first, second]: readonly [{ headers: Record<string, unknown> }, { headers: Record<string, unknown> }], reason?: string) {
  assert.doesNotMatch(cs(first), /stored|hit/, `${path}: first is not stored`);
  if (reason) assert.match(cs(first), new RegExp(`detail=${reason}`), `${path}: reason`);
  assert.doesNotMatch(cs(second), /stored|hit/, `${path}: second is not a hit`);
  assert.equal(origin.count(path), 2, `${path}: fetched twice`);
}

test('CDN-Cache-Control: max-age=60 stores a Cache-Control: no-store response; the client still gets no-store (RFC 9213)', async () => {
  serve('/cdn-cc', { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' });
  const replies = await twice('/cdn-cc');
  assertStored('/cdn-cc', replies);
  assert.equal(replies[0].headers['cache-control'], 'no-store');
  assert.equal(replies[1].headers['cache-control'], 'no-store');
});

test('Surrogate-Control: max-age=60 stores a no-store response and is not passed to the client', async () => {
  serve('/surrogate', { 'cache-control': 'no-store', 'surrogate-control': 'max-age=60' });
  const replies = await twice('/surrogate');
  assertStored('/surrogate', replies);
  for (const r of replies) {
    assert.equal(r.headers['surrogate-control'], undefined);
    assert.equal(r.headers['cache-control'], 'no-store');
  }
});

test('CDN-Cache-Control: no-store beats Cache-Control: max-age=60', async () => {
  serve('/cdn-nostore', { 'cache-control': 'max-age=60', 'cdn-cache-control': 'no-store' });
  const replies = await twice('/cdn-nostore');
  assertNotStored('/cdn-nostore', replies, 'no-store');
  assert.equal(replies[1].headers['cache-control'], 'max-age=60', 'the client still gets the origin’s Cache-Control');
});

test('the edge’s own targeted field (blotcdn-Cache-Control) outranks CDN-Cache-Control; Surrogate-Control: no-store is obeyed', async () => {
  serve('/own-field', { 'cache-control': 'max-age=60', 'cdn-cache-control': 'max-age=60', 'blotcdn-cache-control': 'no-store' });
  assertNotStored('/own-field', await twice('/own-field'), 'no-store');
  serve('/own-field-store', { 'cache-control': 'no-store', 'cdn-cache-control': 'no-store', 'blotcdn-cache-control': 'max-age=60' });
  assertStored('/own-field-store', await twice('/own-field-store'));
  serve('/surrogate-nostore', { 'cache-control': 'max-age=60', 'surrogate-control': 'no-store' });
  const replies = await twice('/surrogate-nostore');
  assertNotStored('/surrogate-nostore', replies, 'no-store');
  assert.equal(replies[0].headers['surrogate-control'], undefined);
});

test('a request with Authorization is stored only when the response allows it (RFC 9111 §3.5)', async () => {
  const auth = { authorization: 'Bearer secret' };
  serve('/auth/plain', { 'cache-control': 'max-age=60' });
  assertNotStored('/auth/plain', await twice('/auth/plain', auth), 'authorization');
  for (const cc of ['public, max-age=60', 's-maxage=60', 'max-age=60, must-revalidate']) {
    const path = `/auth/${cc.replace(/\W+/g, '-')}`;
    serve(path, { 'cache-control': cc });
    assertStored(path, await twice(path, auth));
  }
});

test('must-understand, no-store on a status the cache understands is stored (RFC 9111 §5.2.2.3)', async () => {
  serve('/must-understand', { 'cache-control': 'must-understand, no-store, max-age=60' });
  assertStored('/must-understand', await twice('/must-understand'));
  serve('/plain-no-store', { 'cache-control': 'no-store, max-age=60' });
  assertNotStored('/plain-no-store', await twice('/plain-no-store'), 'no-store');
});

test('no-cache="set-cookie" stores the response without its Set-Cookie (RFC 9111 §5.2.2.4)', async () => {
  serve('/qualified', { 'cache-control': 'no-cache="set-cookie", max-age=60', 'set-cookie': 'session=abc' });
  const [, second] = await twice('/qualified');
  assert.match(cs(second), /^blotcdn; hit/);
  assert.equal(second.headers['set-cookie'], undefined);
  const third = await get(`${edge.url}/qualified`);
  assert.equal(third.headers['set-cookie'], undefined);
  assert.equal(origin.count('/qualified'), 1);
});

test('no-cache: stored, but validated with the origin before every use (RFC 9111 §5.2.2.4)', async () => {
  routes.set('/no-cache', (req, res) => {
    if (req.headers['if-none-match'] === '"nc"') {
      res.writeHead(304, { etag: '"nc"', 'cache-control': 'no-cache' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': '8', etag: '"nc"', 'cache-control': 'no-cache' });
    res.end('no-cache');
  });
  const first = await get(`${edge.url}/no-cache`);
  assert.match(cs(first), /stored/);
  for (let i = 2; i <= 3; i++) {
    const again = await get(`${edge.url}/no-cache`);
    assert.equal(again.text, 'no-cache');
    assert.match(cs(again), /fwd-status=304/);
    assert.equal(origin.count('/no-cache'), i);
    assert.equal(origin.requests.at(-1)!.headers['if-none-match'], '"nc"');
  }
  // Without a validator there is nothing to validate with: not stored.
  serve('/no-cache-plain', { 'cache-control': 'no-cache' });
  assertNotStored('/no-cache-plain', await twice('/no-cache-plain'), 'no-freshness');
});

test(
  'a field named by no-cache="…" or private="…" stays out of the stored object after a 304 carries it again',
  async (t) => {
    const clock = manualClock(t);
    routes.set('/qualified-304', (req, res) => {
      const headers = { etag: '"q"', 'cache-control': 'no-cache="set-cookie", private="x-user", max-age=1', 'set-cookie': `session=${origin.count('/qualified-304')}`, 'x-user': 'alice' };
      if (req.headers['if-none-match'] === '"q"') {
        // Fresh for a minute after the revalidation, so the next request is a hit.
        res.writeHead(304, { ...headers, 'cache-control': 'no-cache="set-cookie", private="x-user", max-age=60' });
        res.end();
        return;
      }
      res.writeHead(200, { ...headers, 'content-length': '1' });
      res.end('q');
    });
    await get(`${edge.url}/qualified-304`);
    clock.advance(1100);
    const revalidated = await get(`${edge.url}/qualified-304`);
    assert.match(cs(revalidated), /fwd-status=304; stored/);
    const hit = await get(`${edge.url}/qualified-304`);
    assert.match(cs(hit), /^blotcdn; hit/);
    assert.equal(hit.headers['set-cookie'], undefined, 'one client’s cookie is served to the next');
    assert.equal(hit.headers['x-user'], undefined);
  },
);

test('private="x-user" stores the response without that field; bare private is not stored (RFC 9111 §5.2.2.7)', async () => {
  serve('/private-field', { 'cache-control': 'private="x-user", max-age=60', 'x-user': 'alice', 'x-other': 'kept' });
  const [, second] = await twice('/private-field');
  assert.match(cs(second), /^blotcdn; hit/);
  assert.equal(second.headers['x-user'], undefined);
  assert.equal(second.headers['x-other'], 'kept');
  serve('/private-all', { 'cache-control': 'private, max-age=60' });
  assertNotStored('/private-all', await twice('/private-all'), 'private');
});

test('must-understand with a status the cache does not understand is not stored', async () => {
  serve('/teapot', { 'cache-control': 'must-understand, no-store, max-age=60' }, 418);
  assertNotStored('/teapot', await twice('/teapot'), 'must-understand');
});

test('a 404 with max-age is cached; a 500 without explicit freshness is not', async () => {
  serve('/gone', { 'cache-control': 'max-age=60' }, 404);
  const replies = await twice('/gone');
  assert.equal(replies[0].status, 404);
  assert.equal(replies[1].status, 404);
  assertStored('/gone', replies);

  serve('/broken', {}, 500);
  const broken = await twice('/broken');
  assert.equal(broken[0].status, 500);
  assert.equal(broken[1].status, 500);
  assertNotStored('/broken', broken);
});

test('a successful POST invalidates the stored target URI (RFC 9111 §4.4)', async () => {
  serve('/inv/target', { 'cache-control': 'max-age=60' });
  assertStored('/inv/target', await twice('/inv/target'));
  const post = await request(`${edge.url}/inv/target`, { method: 'POST', body: 'x=1', headers: { 'content-type': 'text/plain' } });
  assert.equal(post.status, 200);
  assert.equal(cs(post), 'blotcdn; fwd=method');
  const after = await get(`${edge.url}/inv/target`);
  assert.doesNotMatch(cs(after), /hit/);
  assert.equal(after.text, 'GET /inv/target #3', 'fetched again after the POST');
});

test('a successful POST elsewhere invalidates the URI its Location names on the same host, not on another', async () => {
  const host = 'site.test';
  serve('/inv/located', { 'cache-control': 'max-age=60' });
  serve('/inv/relative', { 'cache-control': 'max-age=60' });
  for (const path of ['/inv/located', '/inv/relative']) {
    await get(`${edge.url}${path}`, { host });
    assert.match(cs(await get(`${edge.url}${path}`, { host })), /^blotcdn; hit/);
  }
  // The same path on another host is its own object, which a Location on site.test must not touch.
  await get(`${edge.url}/inv/located`, { host: 'other.test' });

  routes.set('/inv/form', (_req, res) => {
    res.writeHead(201, { location: `http://${host}/inv/located`, 'content-location': '/inv/relative', 'content-length': '0' });
    res.end();
  });
  const post = await request(`${edge.url}/inv/form`, { method: 'POST', body: 'a', headers: { host } });
  assert.equal(post.status, 201);
  const located = await get(`${edge.url}/inv/located`, { host });
  const relative = await get(`${edge.url}/inv/relative`, { host });
  assert.doesNotMatch(cs(located), /hit/, 'Location on the same host was invalidated');
  assert.doesNotMatch(cs(relative), /hit/, 'Content-Location (relative) was invalidated');
  const elsewhere = await get(`${edge.url}/inv/located`, { host: 'other.test' });
  assert.match(cs(elsewhere), /^blotcdn; hit/, 'the other host’s object is untouched');

  routes.set('/inv/form2', (_req, res) => {
    res.writeHead(303, { location: 'http://other.test/inv/located', 'content-length': '0' });
    res.end();
  });
  await request(`${edge.url}/inv/form2`, { method: 'POST', body: 'a', headers: { host } });
  assert.match(cs(await get(`${edge.url}/inv/located`, { host: 'other.test' })), /^blotcdn; hit/, 'a Location on another host is not invalidated');
});

test('a DELETE answered 204 invalidates too', async () => {
  serve('/inv/deleted', { 'cache-control': 'max-age=60' });
  assertStored('/inv/deleted', await twice('/inv/deleted'));
  const realRoute = routes.get('/inv/deleted')!;
  routes.set('/inv/deleted', (req, res) => {
    if (req.method !== 'DELETE') return realRoute(req, res);
    res.writeHead(204);
    res.end();
  });
  const del = await request(`${edge.url}/inv/deleted`, { method: 'DELETE' });
  assert.equal(del.status, 204);
  const after = await get(`${edge.url}/inv/deleted`);
  assert.doesNotMatch(cs(after), /hit/);
  assert.equal(after.text, 'GET /inv/deleted #3');
});

test('a POST answered 500 does not invalidate', async () => {
  serve('/inv/kept', { 'cache-control': 'max-age=60' });
  assertStored('/inv/kept', await twice('/inv/kept'));
  const realRoute = routes.get('/inv/kept')!;
  routes.set('/inv/kept', (req, res) => {
    if (req.method !== 'POST') return realRoute(req, res);
    res.writeHead(500, { 'content-length': '4' });
    res.end('oops');
  });
  const post = await request(`${edge.url}/inv/kept`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 500);
  const after = await get(`${edge.url}/inv/kept`);
  assert.match(cs(after), /^blotcdn; hit/);
  assert.equal(after.text, 'GET /inv/kept #1');
});

test('heuristic freshness: a 200 with Last-Modified 10 days ago and no explicit freshness is stored (RFC 9111 §4.2.2)', async () => {
  serve('/heuristic', { 'last-modified': new Date(Date.now() - 10 * 86_400_000).toUTCString() });
  const replies = await twice('/heuristic');
  assertStored('/heuristic', replies);
  const ttl = Number(/ttl=(\d+)/.exec(cs(replies[1]))?.[1]);
  assert.ok(ttl > 86_000 && ttl <= 86_400, `a tenth of 10 days, capped at a day: ttl ${ttl}`);

  serve('/no-validator', {});
  assertNotStored('/no-validator', await twice('/no-validator'), 'no-freshness');
});
