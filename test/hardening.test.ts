// Nothing a reader sends can change what other readers get, and nothing a client does costs the
// origin more than it should: each test has an origin that reflects the request into a cacheable
// body (or counts what reaches it), an attacker's request, and a clean client that must not see it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as http2Connect, constants as h2 } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigin, respond, type TestOrigin } from './helpers/origin.js';
import { startEdge, simpleConfig, type TestEdge } from './helpers/edge.js';
import { get, rawRequest } from './helpers/client.js';
import { waitFor } from './helpers/wait.js';

const cs = (r: { headers: Record<string, unknown> }) => String(r.headers['cache-status']);

/** An origin that writes every request field it was given into a cacheable page. */
async function reflectingOrigin(): Promise<TestOrigin> {
  return startOrigin((req, res) => {
    const lines = [`${req.method} ${req.url}`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`)];
    respond(lines.join('\n'), { 'cache-control': 'max-age=300' })(req, res);
  });
}

async function edgeFor(t: { after(fn: () => Promise<void>): void }, origin: TestOrigin, extra: Record<string, unknown> = {}): Promise<TestEdge> {
  const edge = await startEdge({ ...simpleConfig(origin.url), ...extra });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  return edge;
}

test('Host: a port, a trailing dot or upper case never reach the origin; the page for blog.test is built for blog.test', async (t) => {
  const origin = await reflectingOrigin();
  const edge = await edgeFor(t, origin);
  for (const spelling of ['blog.test:1337', 'BLOG.TEST.', 'Blog.Test']) {
    const attack = await get(`${edge.url}/page`, { host: spelling });
    assert.equal(attack.status, 200);
    const clean = await get(`${edge.url}/page`, { host: 'blog.test' });
    assert.match(clean.text, new RegExp(`^host: blog\\.test:${edge.port}$`, 'm'), 'the origin heard the canonical host and the real port');
    assert.doesNotMatch(clean.text, /1337|BLOG|Blog|test\.:/);
  }
  assert.equal(origin.count('/page'), 1, 'every spelling is the same object');
  assert.equal((await get(`${edge.url}/page`, { host: 'blog..test' })).status, 400, 'a host that cannot be made canonical is refused');
});

test('unkeyed fields an origin may reflect are removed before forwarding, unless a behavior keys on them', async (t) => {
  const origin = await reflectingOrigin();
  const edge = await edgeFor(t, origin, {
    sites: [{ hosts: ['*'], originGroup: 'main', behaviors: [{ path: '/keyed/*', keyHeaders: ['x-forwarded-port'] }] }],
  });
  const poison = {
    'x-forwarded-scheme': 'nothttps',
    'x-forwarded-port': '6666',
    'x-forwarded-host': 'evil.example',
    'x-original-url': '/admin',
    'x-rewrite-url': '/admin',
    'x-http-method-override': 'DELETE',
    forwarded: 'host=evil.example;proto=http',
    'x-host': 'evil.example',
    'x-forwarded-prefix': '/evil',
  };
  const attack = await get(`${edge.url}/page`, { host: 'blog.test', ...poison });
  assert.doesNotMatch(attack.text, /evil|nothttps|6666|\/admin|DELETE/, 'not even the attacker got a reflected page');
  const clean = await get(`${edge.url}/page`, { host: 'blog.test' });
  assert.match(cs(clean), /^blotcdn; hit/);
  assert.doesNotMatch(clean.text, /evil|nothttps|6666|\/admin|DELETE/);
  assert.match(clean.text, new RegExp(`^x-forwarded-host: blog\\.test:${edge.port}$`, 'm'), 'X-Forwarded-Host is the edge\'s own');

  const port1 = await get(`${edge.url}/keyed/p`, { host: 'blog.test', 'x-forwarded-port': '443' });
  assert.match(port1.text, /^x-forwarded-port: 443$/m, 'a keyed field goes through');
  const port2 = await get(`${edge.url}/keyed/p`, { host: 'blog.test', 'x-forwarded-port': '6666' });
  assert.match(port2.text, /^x-forwarded-port: 6666$/m);
  const none = await get(`${edge.url}/keyed/p`, { host: 'blog.test' });
  assert.doesNotMatch(none.text, /x-forwarded-port/, 'each value is its own copy; none is a third');
  assert.equal(origin.count('/keyed/p'), 3);
});

test('web cache deception: a personal page behind a .css path is not stored by a default TTL', async (t) => {
  const origin = await startOrigin((req, res) => {
    const who = /session=(\w+)/.exec(req.headers.cookie ?? '')?.[1] ?? 'nobody';
    respond(`account page of ${who}`, { 'content-type': 'text/css' })(req, res);
  });
  const edge = await edgeFor(t, origin, {
    sites: [{ hosts: ['*'], originGroup: 'main', behaviors: [{ path: '/forced/*', ttl: { force: '1h' } }, { path: '*.css', ttl: { default: '1h' } }] }],
  });
  const victim = await get(`${edge.url}/account/x.css`, { cookie: 'session=alice' });
  assert.equal(victim.text, 'account page of alice');
  assert.match(cs(victim), /detail=personal/);
  const attacker = await get(`${edge.url}/account/x.css`);
  assert.equal(attacker.text, 'account page of nobody');
  assert.equal(origin.count('/account/x.css'), 2);
  // An explicit ttl.force is the operator saying otherwise.
  await get(`${edge.url}/forced/x.css`, { cookie: 'session=bob' });
  assert.match(cs(await get(`${edge.url}/forced/x.css`)), /^blotcdn; hit/);
});

test('dot segments and encoded dots cannot walk a path out of a bypass behavior', async (t) => {
  const origin = await reflectingOrigin();
  const edge = await edgeFor(t, origin, { sites: [{ hosts: ['*'], originGroup: 'main', behaviors: [{ path: '/live/*', bypass: true }] }] });
  for (const path of ['/echo/../live/feed', '/echo/%2e%2e/live/feed', '/echo/%2E%2E/live/feed', '//live/feed', '/live/./feed', '/%6cive/feed']) {
    const res = await get(`${edge.url}${path}`);
    assert.match(cs(res), /fwd=bypass/, path);
    assert.match(res.text, /^GET \/live\/feed$/m, `${path}: the origin was sent the canonical path`);
  }
  assert.equal(edge.edge.cacheStats().total.entries, 0, 'nothing was cached');
  const encodedSlash = await get(`${edge.url}/echo%2F..%2Flive/feed`);
  assert.match(encodedSlash.text, /^GET \/echo%2F..%2Flive\/feed$/m, 'an encoded slash stays opaque');
  for (const bad of ['/a%00b', '/a%zz']) assert.equal((await get(`${edge.url}${bad}`)).status, 400, bad);
});

test('a request line claiming another HTTP version gets 505 and is not forwarded; an over-long target gets 414', async (t) => {
  const origin = await reflectingOrigin();
  const edge = await edgeFor(t, origin);
  for (const version of ['HTTP/2.0', 'HTTP/1.2', 'HTTP/3.0']) {
    const answer = await rawRequest(edge.port, `GET /v HTTP/${version.slice(5)}\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 (505|400)/, `${version}: ${answer.slice(0, 40)}`);
  }
  assert.equal(origin.count('/v'), 0);
  const long = await get(`${edge.url}/${'a'.repeat(9000)}`);
  assert.equal(long.status, 414);
  assert.match(long.text, /uri_too_long/);
});

test('HTTP/2 rapid reset: streams opened and reset at once start (almost) no origin fetches', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-h2-'));
  let started = 0;
  const origin = await startOrigin(() => {
    started++;
    // An origin that never answers: a fetch still running when its stream is reset is cancelled
    // (and one that is not cancelled would stay in flight, failing the wait below).
  });
  const edge = await startEdge({
    ...simpleConfig(origin.url),
    listen: { http: '127.0.0.1:0', https: '127.0.0.1:0' },
    tls: { store: { dir } },
    sites: [{ hosts: ['*'], originGroup: 'main', redirectToHttps: false }],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });
  const port = edge.edge.httpsAddresses[0]!.port;
  const session = http2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  session.on('error', () => {});
  await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
  let opened = 0;
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  for (let i = 0; i < 4500 && !session.closed && !session.destroyed; i++) {
    try {
      const stream = session.request({ ':path': `/r${i}`, ':authority': 'a.test' });
      stream.on('error', () => {});
      stream.close(h2.NGHTTP2_CANCEL);
      opened++;
    } catch {
      break;
    }
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  await Promise.race([closed, waitFor(() => session.closed || session.destroyed, 'the edge to end the session').catch(() => {})]);
  assert.ok(session.closed || session.destroyed, `the edge ended a session that reset ${opened} streams`);
  // Every origin fetch that started is cancelled: none is left running, and few were ever started.
  await waitFor(() => origin.requests.every((r) => r !== undefined) && edge.edge.runtime.cache.flights.size === 0, 'fetches to be cancelled');
  assert.ok(started <= 150, `${started} origin fetches for ${opened} reset streams`);
});
