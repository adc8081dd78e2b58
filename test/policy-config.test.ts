// The platform's policy written in the config, seen from clients: forced lifetimes and per-status
// lifetimes, the Vary policy, header rules on requests and responses, deny rules, rate limits with
// trusted proxies (X-Forwarded-For and the PROXY protocol), and the site's own error pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigin, respond, closedPort } from './helpers/origin.js';
import { startEdge } from './helpers/edge.js';
import { get, request, rawRequest } from './helpers/client.js';
import { startS3Server, S3_KEY } from './helpers/s3-server.js';

const cs = (r: { headers: Record<string, unknown> }) => String(r.headers['cache-status']);

test('ttl.force and cacheStatuses: a 302 is stored for a year whatever the app says, and a host purge removes it', async (t) => {
  const origin = await startOrigin((req, res) => {
    if (req.url === '/moved') return respond('', { location: '/new', 'cache-control': 'no-store, private' }, 302)(req, res);
    if (req.url === '/broken') return respond('oops', { 'cache-control': 'max-age=600' }, 500)(req, res);
    respond(`page ${req.url}`, { 'cache-control': 'no-cache' })(req, res);
  });
  const edge = await startEdge({
    originGroups: { app: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'app', behaviors: [{ path: '*', ttl: { force: '1y' }, cacheStatuses: { '200 301 302 400 404': '1y' } }] }],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  const first = await get(`${edge.url}/moved`, { host: 'blog.test' });
  assert.equal(first.status, 302);
  const second = await get(`${edge.url}/moved`, { host: 'blog.test' });
  assert.equal(second.status, 302);
  assert.equal(second.headers['location'], '/new');
  const ttl = Number(/ttl=(\d+)/.exec(cs(second))?.[1]);
  assert.ok(ttl > 364 * 86400, `stored for a year (ttl ${ttl})`);
  assert.equal(origin.count('/moved'), 1);
  // a status the behavior does not list is not stored, forced year or not
  await get(`${edge.url}/broken`, { host: 'blog.test' });
  await get(`${edge.url}/broken`, { host: 'blog.test' });
  assert.equal(origin.count('/broken'), 2);

  const purged = await edge.edge.purge({ kind: 'host', value: 'blog.test' });
  assert.equal(purged.purged, 1);
  assert.match(cs(await get(`${edge.url}/moved`, { host: 'blog.test' })), /fwd=miss/);
  assert.equal(origin.count('/moved'), 2);
});

test('ttl.force: a no-cache page with Set-Cookie and Vary: User-Agent is stored once; clientTtl sets what browsers are told', async (t) => {
  const origin = await startOrigin((req, res) =>
    respond(`page for ${req.headers['user-agent']}`, { 'cache-control': 'no-cache, no-store', 'set-cookie': 'sid=1', vary: 'User-Agent', expires: 'Thu, 01 Jan 1970 00:00:00 GMT' })(req, res),
  );
  const edge = await startEdge({
    originGroups: { app: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'app', behaviors: [{ path: '*', ttl: { force: '1y' }, setCookie: 'strip', clientTtl: '5m' }] }],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  const agents = ['Mozilla/5.0 A', 'Mozilla/5.0 B', 'curl/8', 'Feedly/1.0', 'Googlebot'];
  const replies = [];
  for (const ua of agents) replies.push(await get(`${edge.url}/post`, { 'user-agent': ua }));
  assert.equal(origin.count('/post'), 1, 'one copy for every User-Agent');
  assert.equal(String(replies[0]!.headers['set-cookie']), 'sid=1', 'the client that fetched it gets its cookie');
  for (const r of replies.slice(1)) {
    assert.match(cs(r), /^blotcdn; hit/);
    assert.equal(r.text, 'page for Mozilla/5.0 A');
    assert.equal(r.headers['set-cookie'], undefined);
    assert.equal(r.headers['cache-control'], 'public, max-age=300');
    assert.equal(r.headers['expires'], undefined);
    assert.equal(r.headers['age'], undefined);
  }
});

test('vary: a list keeps only the fields named; other Vary fields do not split the cache', async (t) => {
  const origin = await startOrigin((req, res) =>
    respond(`${req.headers['accept-language']}`, { 'cache-control': 'max-age=60', vary: 'Accept-Language, User-Agent, Cookie' })(req, res),
  );
  const edge = await startEdge({
    originGroups: { app: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'app', behaviors: [{ path: '*', vary: ['accept-language'] }] }],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  for (const ua of ['a', 'b', 'c']) {
    assert.equal((await get(`${edge.url}/p`, { 'accept-language': 'fr', 'user-agent': ua })).text, 'fr');
    assert.equal((await get(`${edge.url}/p`, { 'accept-language': 'de', 'user-agent': ua })).text, 'de');
  }
  assert.equal(origin.count('/p'), 2, 'one copy per language, whatever the User-Agent');
});

test('header rules: CORS on a bucket object on miss and hit; request id and client IP to the origin; Server and X-Powered-By removed', async (t) => {
  const bucket = await startS3Server({ bucket: 'assets', region: 'us-east-1', missingAs403: true });
  await bucket.put('blog_1/_thumbnails/a.png', 'png bytes', { 'content-type': 'image/png' });
  const app = await startOrigin((req, res) => respond(`app ${req.url}`, { 'cache-control': 'max-age=60', server: 'Blot/1', 'x-powered-by': 'Express' })(req, res));
  const edge = await startEdge({
    originGroups: {
      app: { members: [{ url: app.url }] },
      assets: { failoverOn: [403, 404], members: [{ name: 's3', url: 's3://assets', endpoint: bucket.endpoint, region: 'us-east-1', pathStyle: true, credentials: S3_KEY }, { url: app.url }] },
    },
    sites: [
      {
        hosts: ['*'],
        originGroup: 'app',
        responseHeaders: { remove: ['server', 'x-powered-by'] },
        requestHeaders: { set: { 'x-real-ip': '{client_ip}', 'x-request-id': '{request_id}' } },
        behaviors: [{ path: '/blog_*', originGroup: 'assets', ttl: { default: '1h' }, responseHeaders: { set: { 'access-control-allow-origin': '*' } } }],
      },
    ],
  });
  t.after(async () => {
    await edge.stop();
    await Promise.all([app.close(), bucket.close()]);
  });
  const miss = await get(`${edge.url}/blog_1/_thumbnails/a.png`);
  assert.equal(miss.text, 'png bytes');
  assert.equal(miss.headers['x-served-by-origin'], 's3');
  assert.equal(miss.headers['access-control-allow-origin'], '*');
  const hit = await get(`${edge.url}/blog_1/_thumbnails/a.png`);
  assert.match(cs(hit), /^blotcdn; hit/);
  assert.equal(hit.headers['access-control-allow-origin'], '*');

  const page = await get(`${edge.url}/page`, { 'x-forwarded-for': '198.51.100.9', 'x-request-id': 'forged', 'x-real-ip': '6.6.6.6' });
  assert.equal(page.headers['server'], undefined);
  assert.equal(page.headers['x-powered-by'], undefined);
  assert.equal(page.headers['access-control-allow-origin'], undefined, "a behavior's rule stays on its paths");
  const seen = app.requests.find((r) => r.url === '/page')!;
  assert.equal(seen.headers['x-real-ip'], '127.0.0.1', 'an untrusted peer cannot name another client');
  assert.match(String(seen.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.notEqual(seen.headers['x-request-id'], 'forged');
  const again = await get(`${edge.url}/page`);
  assert.match(cs(again), /^blotcdn; hit/);
  assert.equal(again.headers['server'], undefined, 'rules apply to hits too; the stored object was not changed');
});

test('deny rules: scanner paths are answered at the edge (403, 404, or a closed connection) and counted', async (t) => {
  const origin = await startOrigin(respond('origin', { 'cache-control': 'max-age=60' }));
  const edge = await startEdge({
    admin: { listen: '127.0.0.1:0' },
    originGroups: { app: { members: [{ url: origin.url }] } },
    sites: [
      {
        name: 'blogs',
        hosts: ['*'],
        originGroup: 'app',
        deny: [
          { path: '/wp-admin/*', status: 403 },
          { path: '/.env', status: 404 },
          { path: '/.git/*' },
          { path: '*.php', status: 444 },
          { methods: ['TRACE', 'DELETE'], status: 405 },
        ],
      },
    ],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  assert.equal((await get(`${edge.url}/wp-admin/setup.php`)).status, 403, 'the first rule that matches decides');
  const env = await get(`${edge.url}/.env`);
  assert.equal(env.status, 404);
  assert.match(cs(env), /detail=denied/);
  assert.equal(env.headers['cache-control'], 'no-store');
  assert.equal((await get(`${edge.url}/.ENV`)).status, 404, 'case does not walk around a rule');
  assert.equal((await get(`${edge.url}/.git/config`)).status, 403);
  const raw = await rawRequest(edge.port, 'GET /xmlrpc.php HTTP/1.1\r\nHost: blog.test\r\n\r\n');
  assert.equal(raw, '', '444: the connection is closed without an answer');
  assert.equal((await request(`${edge.url}/post`, { method: 'DELETE' })).status, 405);
  assert.equal((await get(`${edge.url}/fine`)).status, 200);
  assert.deepEqual(
    origin.requests.map((r) => r.url),
    ['/fine'],
    'nothing denied reached the origin',
  );
  const metrics = (await get(`${edge.adminUrl}/metrics`)).text;
  assert.match(metrics, /blotcdn_denied_total\{[^}]*site="blogs"[^}]*status="404"[^}]*\} 2/);
  assert.match(metrics, /blotcdn_denied_total\{[^}]*status="444"[^}]*\} 1/);
});

test('rate limits: a client over its rate gets 429 with Retry-After while another is served; allow-listed and cached requests pass', async (t) => {
  const origin = await startOrigin(respond('ok', { 'cache-control': 'max-age=60' }));
  const edge = await startEdge({
    trustedProxies: ['127.0.0.1/32'],
    originGroups: { app: { members: [{ url: origin.url }] } },
    sites: [
      { name: 'strict', hosts: ['strict.test'], originGroup: 'app', rateLimit: { perClient: { rate: '1/m', burst: 3 }, allow: ['192.0.2.0/24'] } },
      { name: 'lenient', hosts: ['hits.test'], originGroup: 'app', rateLimit: { perClient: { rate: '1/m', burst: 1 }, exemptHits: true } },
    ],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  const as = (ip: string, host = 'strict.test') => ({ host, 'x-forwarded-for': ip });
  for (let i = 0; i < 3; i++) assert.equal((await get(`${edge.url}/a`, as('203.0.113.1'))).status, 200);
  const limited = await get(`${edge.url}/a`, as('203.0.113.1'));
  assert.equal(limited.status, 429);
  assert.match(limited.text, /rate_limited/);
  assert.ok(Number(limited.headers['retry-after']) >= 1);
  assert.equal((await get(`${edge.url}/a`, as('203.0.113.2'))).status, 200, 'another client is served');
  for (let i = 0; i < 5; i++) assert.equal((await get(`${edge.url}/a`, as('192.0.2.5'))).status, 200, 'allow-listed');

  // exemptHits: only what the cache cannot answer counts
  assert.equal((await get(`${edge.url}/cached`, as('203.0.113.3', 'hits.test'))).status, 200);
  for (let i = 0; i < 5; i++) assert.equal((await get(`${edge.url}/cached`, as('203.0.113.3', 'hits.test'))).status, 200);
  assert.equal((await get(`${edge.url}/other`, as('203.0.113.3', 'hits.test'))).status, 429, 'a second miss is over the limit');
});

test('a spoofed X-Forwarded-For from an untrusted peer is ignored; a trusted proxy is believed, by header or PROXY protocol v1 and v2', async (t) => {
  const origin = await startOrigin((req, res) => respond(`client ${req.headers['x-real-ip']}`, { 'cache-control': 'no-store' })(req, res));
  const config = (trustedProxies: string[]) => ({
    trustedProxies,
    originGroups: { app: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'app', requestHeaders: { set: { 'x-real-ip': '{client_ip}' } } }],
  });
  const untrusting = await startEdge(config(['10.0.0.0/8']));
  const trusting = await startEdge(config(['127.0.0.1']));
  t.after(async () => {
    await untrusting.stop();
    await trusting.stop();
    await origin.close();
  });
  assert.equal((await get(`${untrusting.url}/`, { 'x-forwarded-for': '203.0.113.50' })).text, 'client 127.0.0.1');
  assert.equal((await get(`${trusting.url}/`, { 'x-forwarded-for': '203.0.113.50' })).text, 'client 203.0.113.50');
  assert.equal((await get(`${trusting.url}/`, { 'x-forwarded-for': '203.0.113.50, 127.0.0.1' })).text, 'client 203.0.113.50', 'trusted hops are skipped');
  assert.equal((await get(`${trusting.url}/`, { 'x-forwarded-for': 'garbage' })).text, 'client 127.0.0.1');

  const v1 = await rawRequest(trusting.port, 'PROXY TCP4 198.51.100.7 10.0.0.1 51000 80\r\nGET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
  assert.match(v1, /client 198\.51\.100\.7/);
  const header = Buffer.alloc(28);
  Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]).copy(header, 0);
  header[12] = 0x21; // v2, PROXY
  header[13] = 0x11; // TCP over IPv4
  header.writeUInt16BE(12, 14);
  Buffer.from([198, 51, 100, 8]).copy(header, 16);
  Buffer.from([10, 0, 0, 1]).copy(header, 20);
  header.writeUInt16BE(51001, 24);
  header.writeUInt16BE(80, 26);
  const v2 = await new Promise<string>((resolve, reject) => {
    const s = connect(trusting.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks).toString()));
    s.on('error', reject);
    s.write(Buffer.concat([header, Buffer.from('GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')]));
  });
  assert.match(v2, /client 198\.51\.100\.8/);
  const spoofedProxy = await rawRequest(untrusting.port, 'PROXY TCP4 198.51.100.7 10.0.0.1 51000 80\r\nGET / HTTP/1.1\r\nHost: a.test\r\n\r\n');
  assert.match(spoofedProxy, /^HTTP\/1\.1 400/, 'from an untrusted peer a PROXY line is just a bad request');
});

test("the site's error page answers for the edge's errors, with the error's status, never stored", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-pages-'));
  const file = join(dir, 'offline.html');
  await writeFile(file, '<h1>This blog is taking a short break</h1>');
  const port = await closedPort();
  const edge = await startEdge({
    originGroups: { app: { members: [{ url: `http://127.0.0.1:${port}` }], breaker: { failures: 1 } } },
    sites: [{ hosts: ['*'], originGroup: 'app', errorPages: { '502-504': { file } } }],
  });
  t.after(async () => {
    await edge.stop();
    await rm(dir, { recursive: true, force: true });
  });
  for (const expected of [502, 503]) {
    const res = await get(`${edge.url}/post`);
    assert.equal(res.status, expected);
    assert.equal(res.text, '<h1>This blog is taking a short break</h1>');
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.match(cs(res), expected === 502 ? /detail=origin_connect/ : /detail=origin_unavailable/);
  }
  assert.equal(edge.edge.cacheStats().total.entries, 0);
});
