// The admin API as an operator and the platform use it: the token (missing, wrong, right), the
// platform's own purge call and its exact answer, warm then hit, stats and origins, metrics text
// parsed by a Prometheus parser, and the blotcdn purge / warm / stats commands against it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { validateConfig } from '../src/config/load.js';
import { Edge } from '../src/edge.js';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, settled, type TestEdge } from './helpers/edge.js';
import { get, request } from './helpers/client.js';
import { runCliToEnd } from './helpers/cli.js';
import { waitFor } from './helpers/wait.js';

const TOKEN = 'test-admin-token-123';
const PURGE_TOKEN = 'platform-purge-secret';
let origin: TestOrigin;
let edge: TestEdge;
let admin: string;

before(async () => {
  origin = await startOrigin((req, res) => {
    const body = `page ${req.headers.host}${req.url}`;
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=300', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  edge = await startEdge({
    node: { id: 'admin-test' },
    admin: { listen: '127.0.0.1:0', token: TOKEN, purgeToken: PURGE_TOKEN },
    originGroups: { app: { members: [{ name: 'blot', url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'app' }],
  });
  admin = edge.adminUrl!;
});

after(async () => {
  await edge.stop();
  await origin.close();
});

const auth = { authorization: `Bearer ${TOKEN}` };
const api = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  request(`${admin}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json', ...auth, ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });

test('every route needs the token: missing and wrong are refused, right is accepted', async () => {
  for (const path of ['/stats', '/healthz', '/metrics', '/origins', '/certs', '/purges']) {
    const missing = await request(`${admin}${path}`);
    assert.equal(missing.status, 401, path);
    assert.equal(missing.headers['www-authenticate'], 'Bearer');
    const wrong = await request(`${admin}${path}`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401, path);
    const right = await request(`${admin}${path}`, { headers: auth });
    assert.equal(right.status, 200, path);
  }
  const purge = await request(`${admin}/purge`, { method: 'POST', body: '{"host":"x.test"}', headers: { 'content-type': 'application/json' } });
  assert.equal(purge.status, 401);
});

test('without a token the API refuses to listen anywhere but loopback', async () => {
  const config = validateConfig({
    listen: { http: '127.0.0.1:0' },
    log: { access: 'off' },
    admin: { listen: '0.0.0.0:0', tokenEnv: 'BLOTCDN_TEST_UNSET_TOKEN' },
    originGroups: { g: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
  });
  const open = new Edge(config);
  await assert.rejects(open.start(), /needs a token/);
  await open.stop(0);
});

test('the platform purge call answers one line per host, counting the www twin', async () => {
  for (const [host, path] of [
    ['example.com', '/a'],
    ['example.com', '/b'],
    ['www.example.com', '/c'],
    ['other.test', '/d'],
  ]) {
    await get(`${edge.url}${path}`, { host: host! });
  }
  await settled(edge);
  const noSecret = await request(`${admin}/purge?host=example.com`);
  assert.equal(noSecret.status, 403);
  assert.equal(JSON.parse(noSecret.text).code, 'purge_secret_wrong');
  const wrongSecret = await request(`${admin}/purge?host=example.com`, { headers: { 'x-blot-purge-token': 'wrong' } });
  assert.equal(wrongSecret.status, 403);
  const adminToken = await request(`${admin}/purge?host=example.com`, { headers: auth });
  assert.equal(adminToken.status, 403, 'the admin token is not the purge secret');
  const res = await request(`${admin}/purge?host=example.com&host=other.test&host=nothing.test`, { headers: { 'x-blot-purge-token': PURGE_TOKEN } });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(res.text, 'example.com: 3\nother.test: 1\nnothing.test: 0\n');
  const none = await request(`${admin}/purge?nothing=1`, { headers: { 'x-blot-purge-token': PURGE_TOKEN } });
  assert.equal(none.text, 'no hosts were purged\n', "as the platform's proxy answers a call without hosts");
  assert.match(String((await get(`${edge.url}/c`, { host: 'www.example.com' })).headers['cache-status']), /fwd=miss/);
});

test('the platform purge call says 503 with Retry-After while the cache cannot count yet', async () => {
  const ready = edge.edge.isReady;
  edge.edge.isReady = () => false;
  try {
    const res = await request(`${admin}/purge?host=example.com`, { headers: { 'x-blot-purge-token': PURGE_TOKEN } });
    assert.equal(res.status, 503);
    assert.equal(res.headers['retry-after'], '30', 'the platform retries after the Retry-After its proxy always gave');
    assert.equal(JSON.parse(res.text).code, 'not_ready');
  } finally {
    edge.edge.isReady = ready;
  }
});

test('GET /inspect lists what is cached for a host; GET /rehydrate reads the index again; both behind the purge secret', async () => {
  const secret = { 'x-blot-purge-token': PURGE_TOKEN };
  for (const path of ['/one', '/two?x=1']) await get(`${edge.url}${path}`, { host: 'inspect.test' });
  await waitFor(async () => (await edge.edge.inspect('inspect.test')).length === 2, 'both pages stored');
  const listed = await request(`${admin}/inspect?host=inspect.test`, { headers: secret });
  assert.equal(listed.status, 200);
  assert.equal(listed.text, 'http://inspect.test/one\nhttp://inspect.test/two?x=1\n');
  assert.equal((await request(`${admin}/inspect?host=nothing.test`, { headers: secret })).text, '');
  assert.equal((await request(`${admin}/inspect`, { headers: secret })).status, 400);
  assert.equal((await request(`${admin}/inspect?host=inspect.test`, { headers: auth })).status, 403, 'the admin token does not open it');
  const again = await request(`${admin}/rehydrate`, { headers: secret });
  assert.equal(again.status, 200);
  assert.equal(again.text, 'OK\n');
  assert.equal((await request(`${admin}/inspect?host=inspect.test`, { headers: secret })).text, listed.text, 'the same keys after the index was read again');
  assert.equal((await request(`${admin}/rehydrate`)).status, 403);
});

test('without a purge secret the platform routes are refused, not open; the purge listener needs one; the two secrets must differ', async (t) => {
  const open = await startEdge({
    admin: { listen: '127.0.0.1:0', tokenEnv: 'BLOTCDN_TEST_UNSET_TOKEN', purgeTokenEnv: 'BLOTCDN_TEST_UNSET_PURGE' },
    originGroups: { g: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
  });
  t.after(() => open.stop());
  await get(`${open.url}/x`, { host: 'secretless.test' });
  for (const headers of [{}, { 'x-blot-purge-token': 'anything-at-all' }] as Record<string, string>[]) {
    const res = await request(`${open.adminUrl}/purge?host=secretless.test`, { headers });
    assert.equal(res.status, 403);
    assert.equal(JSON.parse(res.text).code, 'purge_secret_unset');
  }
  assert.match(String((await get(`${open.url}/x`, { host: 'secretless.test' })).headers['cache-status']), /^blotcdn; hit/, 'nothing purged');
  const base = { originGroups: { g: { members: [{ url: origin.url }] } }, sites: [{ hosts: ['*'], originGroup: 'g' }], log: { access: 'off' as const, events: 'off' as const } };
  const listener = new Edge(validateConfig({ listen: { http: '127.0.0.1:0' }, admin: { listen: '127.0.0.1:0', purgeListen: '127.0.0.1:0', purgeTokenEnv: 'BLOTCDN_TEST_UNSET_PURGE' }, ...base }));
  await assert.rejects(listener.start(), /admin.purgeListen needs a purge secret/);
  const same = new Edge(validateConfig({ listen: { http: '127.0.0.1:0' }, admin: { listen: '127.0.0.1:0', token: 'one-secret-for-all', purgeToken: 'one-secret-for-all' }, ...base }));
  await assert.rejects(same.start(), /must differ from the admin token/);
});

test('a purge listener answers the platform routes with the secret, and nothing else', async (t) => {
  const withListener = await startEdge({
    admin: { listen: '127.0.0.1:0', token: TOKEN, purgeToken: PURGE_TOKEN, purgeListen: '127.0.0.1:0', retryAfter: '7s' },
    originGroups: { g: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
  });
  t.after(() => withListener.stop());
  const purgeUrl = `http://127.0.0.1:${withListener.edge.admin!.purgeAddresses[0]!.port}`;
  await get(`${withListener.url}/y`, { host: 'listener.test' });
  await waitFor(async () => (await withListener.edge.inspect('listener.test')).length === 1, 'the page stored');
  // A container's name as Host is fine here: the secret is a header no web page can send cross-site.
  const res = await request(`${purgeUrl}/purge?host=listener.test`, { headers: { 'x-blot-purge-token': PURGE_TOKEN, host: 'blotcdn-edge:8077' } });
  assert.equal(res.text, 'listener.test: 1\n');
  assert.equal((await request(`${purgeUrl}/purge?host=listener.test`)).status, 403);
  withListener.edge.isReady = () => false; // as while a disk cache is read after a start
  const later = await request(`${purgeUrl}/inspect?host=listener.test`, { headers: { 'x-blot-purge-token': PURGE_TOKEN } });
  assert.equal(later.status, 503);
  assert.equal(later.headers['retry-after'], '7', 'admin.retryAfter');
  for (const path of ['/stats', '/dashboard', '/metrics']) {
    const other = await request(`${purgeUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, 'x-blot-purge-token': PURGE_TOKEN } });
    assert.equal(other.status, 404, path);
    assert.equal(JSON.parse(other.text).code, 'admin_not_found');
  }
});

test('POST /purge takes each kind, hard or soft, and refuses nonsense with 400', async () => {
  await get(`${edge.url}/p1`, { host: 'purge.test' });
  await settled(edge);
  const soft = await api('/purge', { method: 'POST', body: { url: 'https://purge.test/p1', soft: true } });
  assert.equal(soft.status, 200);
  const body = JSON.parse(soft.text);
  assert.equal(body.purged, 1);
  assert.equal(body.purges[0].soft, true);
  assert.equal((await api('/purge', { method: 'POST', body: {} })).status, 400);
  assert.equal((await api('/purge', { method: 'POST', body: { host: 'not a host!' } })).status, 400);
  assert.equal((await api('/purge', { method: 'POST', body: { tag: 42 } })).status, 400);
  assert.equal((await request(`${admin}/purge`, { method: 'POST', body: '{oops', headers: { ...auth, 'content-type': 'application/json' } })).status, 400);
  const refused = await api('/purge', { method: 'POST', body: {} });
  assert.deepEqual(Object.keys(JSON.parse(refused.text)), ['code', 'message'], 'errors are {code, message}');
  const log = JSON.parse((await api('/purges')).text);
  assert.equal(log[0].value, 'https://purge.test/p1', 'newest first');
});

test('POST /warm fetches through the cache; the next reader gets a hit', async () => {
  const urls = ['https://warm.test/one', 'https://warm.test/two', 'ftp://warm.test/x', 'https://unknown/'];
  const res = await api('/warm', { method: 'POST', body: { urls, concurrency: 2 } });
  assert.equal(res.status, 200);
  const { results } = JSON.parse(res.text);
  assert.deepEqual(
    results.map((r: { result: string }) => r.result),
    ['stored', 'stored', 'error', 'stored'],
  );
  // Warming https:// fills the https key; a reader through an https listener would hit it. Here
  // the plain-HTTP listener keys http://, so warm that one and read it back.
  await api('/warm', { method: 'POST', body: { urls: ['http://warm.test/three'] } });
  const hit = await get(`${edge.url}/three`, { host: 'warm.test' });
  assert.match(String(hit.headers['cache-status']), /^blotcdn; hit/);
  const again = JSON.parse((await api('/warm', { method: 'POST', body: { urls: ['http://warm.test/three'] } })).text);
  assert.equal(again.results[0].result, 'hit');
});

test('stats and origins report what happened; metrics parse and agree with them', async () => {
  await get(`${edge.url}/m`, { host: 'metrics.test' });
  await get(`${edge.url}/m`, { host: 'metrics.test' });
  const stats = JSON.parse((await api('/stats')).text);
  assert.equal(stats.node, 'admin-test');
  assert.ok(stats.requests >= 2);
  assert.ok(stats.outcomes.hit >= 1);
  assert.ok(stats.cache.total.entries >= 1);
  assert.ok(Array.isArray(stats.series));
  assert.ok(stats.topMissed.some((m: { url: string }) => m.url === 'http://metrics.test/m'));
  const origins = JSON.parse((await api('/origins')).text);
  assert.deepEqual(origins.map((g: { group: string }) => g.group), ['app']);
  assert.equal(origins[0].members[0].name, 'blot');
  assert.equal(origins[0].members[0].state, 'closed');

  const text = (await api('/metrics')).text;
  const families = parsePrometheus(text) as { name: string; type: string; metrics: { value: string; labels?: Record<string, string> }[] }[];
  const family = (name: string) => families.find((f) => f.name === name)!;
  const after = JSON.parse((await api('/stats')).text);
  const hits = family('blotcdn_requests_total').metrics.find((m) => m.labels?.outcome === 'hit')!;
  assert.equal(family('blotcdn_requests_total').type, 'COUNTER');
  assert.equal(Number(hits.value), after.outcomes.hit);
  assert.equal(Number(family('blotcdn_served_bytes_total').metrics[0]!.value), after.bytesServed);
  assert.equal(Number(family('blotcdn_cache_objects').metrics[0]!.value), after.cache.total.entries);
  assert.equal(family('blotcdn_origin_member_up').metrics[0]!.labels!.member, 'blot');
  assert.equal(Number(family('blotcdn_origin_member_up').metrics[0]!.value), 1);
  assert.ok(family('blotcdn_purges_total').metrics.length >= 1);
  assert.ok(family('process_resident_memory_bytes'), 'process metrics too, under their usual names');
  // Latency histograms in seconds: by outcome for requests, and the origin's time to answer.
  // (read from the text: the parser library drops a histogram's labels and count)
  assert.equal(family('blotcdn_request_duration_seconds').type, 'HISTOGRAM');
  const value = (re: RegExp) => Number(re.exec(text)?.[1]);
  assert.equal(value(/^blotcdn_request_duration_seconds_count\{outcome="hit"[^}]*\} (\d+)$/m), after.outcomes.hit);
  assert.equal(value(/^blotcdn_request_duration_seconds_bucket\{outcome="hit",le="\+Inf"[^}]*\} (\d+)$/m), after.outcomes.hit);
  assert.ok(value(/^blotcdn_origin_response_seconds_count(?:\{[^}]*\})? (\d+)$/m) >= 1, 'the miss asked the origin');
});

test('blotcdn purge, warm and stats talk to the admin API', async () => {
  const env = { BLOTCDN_ADMIN_URL: admin, BLOTCDN_ADMIN_TOKEN: TOKEN };
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-warm-'));
  const list = join(dir, 'urls.txt');
  await writeFile(list, ['# index pages', 'http://cli.test/', 'http://cli.test/page/2', ''].join('\n'));
  const warm = await runCliToEnd(['warm', '--file', list], env);
  assert.equal(warm.code, 0, warm.output);
  assert.match(warm.output, /stored: 2/);
  assert.match(String((await get(`${edge.url}/page/2`, { host: 'cli.test' })).headers['cache-status']), /^blotcdn; hit/);

  const purge = await runCliToEnd(['purge', '--host', 'cli.test'], env);
  assert.equal(purge.code, 0, purge.output);
  assert.match(purge.output, /host cli\.test: 2 removed/);

  const stats = await runCliToEnd(['stats'], env);
  assert.equal(stats.code, 0, stats.output);
  assert.match(stats.output, /node admin-test/);
  assert.match(stats.output, /hit ratio \d+\.\d%/);

  const denied = await runCliToEnd(['stats'], { BLOTCDN_ADMIN_URL: admin, BLOTCDN_ADMIN_TOKEN: 'wrong' });
  assert.equal(denied.code, 1);
  assert.match(denied.output, /401/);
});
