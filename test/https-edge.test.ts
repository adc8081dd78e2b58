// The whole edge with TLS, against a real ACME server (pebble): a first HTTPS request for an allowed
// host gets a certificate at its handshake and is answered through the cache; the HTTP listener
// answers the HTTP-01 challenge and redirects everything else (except a site kept on HTTP); HTTP/2
// works; a custom domain on the platform's Redis list is served and certified, one off the list is
// neither; a request whose Host is not the connection's name gets 421; /certs lists what is held.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as http2Connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startPebble, type TestPebble } from './helpers/pebble.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, type TestEdge } from './helpers/edge.js';
import { get, request } from './helpers/client.js';
import { handshake } from './helpers/tls.js';

let pebble: TestPebble;
let redis: TestRedis;
let origin: TestOrigin;
let edge: TestEdge;
let root: string;
let httpsPort: number;

before(async () => {
  pebble = await startPebble();
  redis = await startRedis();
  const client = new Redis(redis.url);
  await client.set('domain:custom.test', 'blog_0123456789abcdef0123456789abcdef');
  client.disconnect();
  origin = await startOrigin((req, res) => {
    // The host name only: the edge sends its listener's (free, non-default) port with it.
    const body = `${req.headers.host?.replace(/:\d+$/, '')} ${req.url} via ${req.headers['x-forwarded-proto']}`;
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=300', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-https-'));
  await writeFile(join(dir, 'acme-ca.pem'), pebble.apiCa);
  edge = await startEdge({
    listen: { http: '127.0.0.1:0', https: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    log: { access: 'off', events: process.env.DEBUG_EVENTS ? 'stderr' : 'off' },
    redis: { url: redis.url },
    domains: { redis: {} },
    tls: {
      store: { dir: join(dir, 'certs') },
      acme: { directory: pebble.directoryUrl, ca: join(dir, 'acme-ca.pem'), challenges: ['http-01'], pollMin: '100ms' },
    },
    originGroups: { app: { members: [{ name: 'blot', url: origin.url }] } },
    sites: [
      { name: 'blogs', hosts: ['a.blot.test', '*.blot.test'], originGroup: 'app', domainList: true },
      { name: 'legacy', hosts: ['plain.test'], originGroup: 'app', redirectToHttps: false },
    ],
  });
  httpsPort = edge.edge.httpsAddresses[0]!.port;
  // pebble validates HTTP-01 at the edge's HTTP listener.
  pebble.routeHttp01(edge.port);
  root = await pebble.root();
});

after(async () => {
  await edge.stop();
  await origin.close();
  await redis.stop();
  await pebble.stop();
});

function httpsGet(host: string, path = '/', servername = host): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; protocol: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: httpsPort, path, servername, headers: { host }, ca: [root], agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, protocol: `HTTP/${res.httpVersion}` }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a first HTTPS request for a site host gets its certificate at the handshake, then a cached answer', async () => {
  const first = await httpsGet('a.blot.test', '/post');
  assert.equal(first.status, 200);
  assert.equal(first.text, 'a.blot.test /post via https');
  assert.equal(first.headers['cache-status'], 'blotcdn; fwd=miss; stored');
  const second = await httpsGet('a.blot.test', '/post');
  assert.match(String(second.headers['cache-status']), /^blotcdn; hit/);
  const wildcard = await httpsGet('alice.blot.test', '/');
  assert.equal(wildcard.status, 200, 'a wildcard site host gets its own certificate');
  const shake = await handshake(httpsPort, 'a.blot.test', [root]);
  assert.equal(shake.authorized, true, shake.error);
  assert.deepEqual(shake.names, ['a.blot.test']);
});

test('plain HTTP redirects to HTTPS, except on a site kept on HTTP', async () => {
  const http = edge.url;
  const redirected = await get(`${http}/some/page?x=1`, { host: 'a.blot.test' });
  assert.equal(redirected.status, 301);
  assert.equal(redirected.headers.location, `https://a.blot.test:${httpsPort}/some/page?x=1`);
  const post = await request(`${http}/form`, { method: 'POST', body: 'x', headers: { host: 'a.blot.test' } });
  assert.equal(post.status, 308, 'a POST keeps its method');
  const plain = await get(`${http}/`, { host: 'plain.test' });
  assert.equal(plain.status, 200);
  assert.equal(plain.text, 'plain.test / via http');
  const challenge = await get(`${http}/.well-known/acme-challenge/not-a-real-token`, { host: 'a.blot.test' });
  assert.equal(challenge.status, 404, 'an unknown challenge token is not forwarded to the origin');
  assert.ok(!origin.requests.some((r) => r.url.startsWith('/.well-known/acme-challenge/')));
});

test('HTTP/2 through the edge', async () => {
  const session = http2Connect(`https://127.0.0.1:${httpsPort}`, { servername: 'a.blot.test', ca: [root] });
  try {
    const { status, headers, body } = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const stream = session.request({ ':path': '/h2', ':authority': 'a.blot.test' });
      let body = '';
      let head: Record<string, unknown> = {};
      stream.on('response', (h) => (head = h));
      stream.setEncoding('utf8');
      stream.on('data', (d) => (body += d));
      stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body }));
      stream.on('error', reject);
      stream.end();
    });
    assert.equal(status, 200);
    assert.equal(body, 'a.blot.test /h2 via https');
    assert.equal(headers['cache-status'], 'blotcdn; fwd=miss; stored');
  } finally {
    session.close();
  }
});

test("a custom domain on the platform's Redis list is served and certified; one off the list is neither", async () => {
  const custom = await httpsGet('custom.test', '/');
  assert.equal(custom.status, 200);
  assert.equal(custom.text, 'custom.test / via https');
  const off = await handshake(httpsPort, 'nope.test', [root]);
  assert.equal(off.authorized, false, 'a host off the list gets no certificate (only the default one)');
  const offHttp = await get(`${edge.url}/`, { host: 'nope.test' });
  assert.equal(offHttp.status, 421);
  assert.ok(!origin.requests.some((r) => r.headers.host === 'nope.test'), 'and nothing is forwarded for it');
});

test('a request whose Host is not the name the connection was made for gets 421', async () => {
  const res = await httpsGet('alice.blot.test', '/', 'a.blot.test');
  assert.equal(res.status, 421);
  assert.match(res.text, /misdirected/);
});

test('the admin API lists the certificates held, with expiry', async () => {
  const certs = JSON.parse((await get(`${edge.adminUrl}/certs`)).text) as { host: string; notAfter: string }[];
  const hosts = certs.map((c) => c.host).sort();
  for (const h of ['a.blot.test', 'alice.blot.test', 'custom.test']) assert.ok(hosts.includes(h), `${h} in ${hosts}`);
  assert.ok(certs.every((c) => Date.parse(c.notAfter) > Date.now()));
});
