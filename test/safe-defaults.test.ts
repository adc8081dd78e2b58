// Safe defaults in front of many sites: one site's errors never take the others down (the breaker is
// about reaching the origin, not about what it answers), a member that cannot be reached costs one
// timeout and then fast answers (stale where allowed) until it is back, unsafe methods are never
// refused, an origin that closes idle keep-alive connections costs nothing, and a reader's reload
// is a hit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { useManualClock } from '../src/clock.js';
import { demoConfig } from '../src/cli/demo.js';
import { startDemoOrigin } from '../src/demo/origin-server.js';
import { Edge } from '../src/edge.js';
import { startOrigin, respond } from './helpers/origin.js';
import { startEdge, simpleConfig } from './helpers/edge.js';
import { get, request } from './helpers/client.js';

const cs = (r: { headers: Record<string, unknown> }) => String(r.headers['cache-status']);

/**
 * The members' headersTimeout where one hangs: it must fire for the request that never gets an
 * answer and not for one an origin on loopback answers at once. Timeouts run on real time (see
 * src/clock.ts), so it is set far above such an answer on a busy machine, not at 200 ms.
 */
const TIMEOUT = '1s';

test("one site's 500s do not open the breaker: other paths, other hosts and a PUT still reach the origin", async (t) => {
  const origin = await startOrigin((req, res) => {
    req.resume();
    if (req.url === '/a') return respond('broken template', {}, 500)(req, res);
    respond(`${req.method} ${req.headers.host?.replace(/:\d+$/, '')}${req.url}`, { 'cache-control': 'max-age=60' })(req, res);
  });
  const edge = await startEdge(simpleConfig(origin.url));
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  for (let i = 0; i < 5; i++) {
    const a = await get(`${edge.url}/a`, { host: 'broken.test' });
    assert.equal(a.status, 500, "the origin's own 500 is passed on");
    assert.equal(a.text, 'broken template');
  }
  assert.equal(origin.count('/a'), 5, 'every request for /a reached the origin');
  assert.equal(edge.edge.origins.get('main')!.status()[0]!.state, 'closed');
  const b = await get(`${edge.url}/b`, { host: 'broken.test' });
  assert.equal(b.status, 200);
  const other = await get(`${edge.url}/a-page`, { host: 'other.test' });
  assert.equal(other.status, 200);
  assert.equal(other.text, 'GET other.test/a-page');
  const put = await request(`${edge.url}/post`, { method: 'PUT', headers: { host: 'broken.test' }, body: 'x' });
  assert.equal(put.status, 200);
  assert.equal(put.text, 'PUT broken.test/post');
});

test('statuses listed in breaker.tripOn do count against the member', async (t) => {
  const origin = await startOrigin(respond('bad gateway', {}, 502));
  const edge = await startEdge({
    originGroups: { main: { members: [{ name: 'lb', url: origin.url }], breaker: { failures: 2, tripOn: [502] } } },
    sites: [{ hosts: ['*'], originGroup: 'main' }],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  await get(`${edge.url}/1`);
  await get(`${edge.url}/2`);
  assert.equal(edge.edge.origins.get('main')!.status()[0]!.state, 'open');
});

test('a member that stops answering: one timeout, then fast 503s and stale; it comes back at the next trial', async (t) => {
  const clock = useManualClock();
  t.after(() => clock.restore());
  let mode: 'up' | 'hang' = 'up';
  const origin = await startOrigin((req, res) => {
    if (mode === 'hang') return; // accepts the request and never answers
    respond(`${req.url} v${origin.count(req.url ?? '')}`, { 'cache-control': 'max-age=1' })(req, res);
  });
  const edge = await startEdge({
    cache: { grace: '1h' },
    originGroups: { main: { members: [{ name: 'app', url: origin.url, headersTimeout: TIMEOUT }], breaker: { failures: 1, cooldown: '1m', trialInterval: '2s' } } },
    sites: [{ hosts: ['*'], originGroup: 'main' }],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  assert.equal((await get(`${edge.url}/page`)).text, '/page v1');
  mode = 'hang';
  clock.advance(5_000); // the page is stale now

  const first = await get(`${edge.url}/page`);
  assert.equal(first.text, '/page v1', 'the one request that timed out is answered with the stale copy (grace)');
  assert.match(cs(first), /fwd=stale; detail=stale-if-error/);
  assert.equal(edge.edge.origins.get('main')!.status()[0]!.state, 'open');
  const seen = origin.requests.length;

  const stale = await get(`${edge.url}/page`);
  assert.equal(stale.text, '/page v1');
  const fresh = await get(`${edge.url}/never-cached`);
  assert.equal(fresh.status, 503);
  assert.match(fresh.text, /origin_unavailable/);
  assert.ok(Number(fresh.headers['retry-after']) >= 1);
  assert.equal(origin.requests.length, seen, 'while the breaker is open and no trial is due, nothing waits on the origin');

  mode = 'up';
  clock.advance(2_000); // a trial is due
  const back = await get(`${edge.url}/page`);
  assert.equal(back.status, 200);
  assert.match(back.text, /^\/page v\d$/);
  assert.notEqual(back.text, '/page v1', 'the trial fetched the page anew');
  assert.equal(edge.edge.origins.get('main')!.status()[0]!.state, 'closed');
  assert.equal((await get(`${edge.url}/never-cached`)).status, 200, 'traffic resumes after the trial');
});

test('with every member open, a trial goes through at most once per interval; unsafe methods are never refused', async (t) => {
  const clock = useManualClock();
  t.after(() => clock.restore());
  const origin = await startOrigin((req, res) => {
    req.resume();
    if (req.url?.startsWith('/stall')) return; // never answers
    respond(`${req.method} ${req.url}`, {})(req, res);
  });
  const edge = await startEdge({
    originGroups: { main: { members: [{ name: 'app', url: origin.url, headersTimeout: TIMEOUT }], breaker: { failures: 2, cooldown: '1m', trialInterval: '1s' } } },
    sites: [{ hosts: ['*'], originGroup: 'main' }],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  assert.equal((await get(`${edge.url}/stall/1`)).status, 504);
  assert.equal((await get(`${edge.url}/stall/2`)).status, 504);
  assert.equal(edge.edge.origins.get('main')!.status()[0]!.state, 'open');

  const refused = await Promise.all([1, 2, 3].map((i) => get(`${edge.url}/ok${i}`)));
  assert.deepEqual(refused.map((r) => r.status), [503, 503, 503]);
  assert.equal(origin.count('/ok1') + origin.count('/ok2') + origin.count('/ok3'), 0);

  const put = await request(`${edge.url}/form`, { method: 'PUT', body: 'data' });
  assert.equal(put.status, 200, 'a PUT is sent whatever the breaker says');
  assert.equal(put.text, 'PUT /form');
  assert.equal(edge.edge.origins.get('main')!.status()[0]!.state, 'closed', 'and its answer shows the member is reachable');
});

test('an origin that closes kept-alive connections: idempotent requests are sent again on a fresh connection', async (t) => {
  // Each connection answers one request; the next request sent on it is met with a closed socket
  // (what an origin's idle timeout racing a new request looks like).
  const origin = await startOrigin((req, res) => {
    const socket = req.socket as typeof req.socket & { served?: number };
    socket.served = (socket.served ?? 0) + 1;
    if (socket.served > 1) {
      socket.destroy();
      return;
    }
    respond(`page ${req.url}`, { 'cache-control': 'no-store' })(req, res);
  });
  const edge = await startEdge(simpleConfig(origin.url));
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  const statuses: number[] = [];
  for (let i = 0; i < 60; i++) statuses.push((await get(`${edge.url}/p${i % 7}`)).status);
  assert.deepEqual([...new Set(statuses)], [200], `every request answered: ${statuses.join(',')}`);
  const member = edge.edge.origins.get('main')!.status()[0]!;
  assert.equal(member.state, 'closed');
  assert.equal(member.failures, 0, 'a closed idle connection is not the member failing');
});

test('a reload (max-age=0, no-cache, Pragma) is a hit by default; `honor` revalidates; only-if-cached works in both', async (t) => {
  const origin = await startOrigin((req, res) => respond(`${req.url} #${origin.count(req.url ?? '')}`, { 'cache-control': 'max-age=300', etag: '"e1"' })(req, res));
  const edge = await startEdge({
    originGroups: { main: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'main', behaviors: [{ path: '/strict/*', clientCacheControl: 'honor' }] }],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  await get(`${edge.url}/page`);
  const reloads: Record<string, string>[] = [{ 'cache-control': 'max-age=0' }, { 'cache-control': 'no-cache' }, { pragma: 'no-cache' }, { 'cache-control': 'no-store' }, { 'cache-control': 'min-fresh=100000' }];
  for (const headers of reloads) {
    const r = await get(`${edge.url}/page`, headers);
    assert.match(cs(r), /^blotcdn; hit/, JSON.stringify(headers));
    assert.equal(r.text, '/page #1');
  }
  assert.equal(origin.count('/page'), 1);
  assert.equal((await get(`${edge.url}/unseen`, { 'cache-control': 'only-if-cached' })).status, 504);

  await get(`${edge.url}/strict/page`);
  const forced = await get(`${edge.url}/strict/page`, { 'cache-control': 'max-age=0' });
  assert.match(cs(forced), /fwd=request/);
  assert.equal(origin.count('/strict/page'), 2);
  assert.equal((await get(`${edge.url}/strict/unseen`, { 'cache-control': 'only-if-cached' })).status, 504);
});

test("the demo's reload in a real browser is a hit", async (t) => {
  const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  assert.ok(existsSync(CHROMIUM), `chromium is needed at ${CHROMIUM} (apt-get install chromium)`);
  const origin = await startDemoOrigin({ delayMs: 0 });
  const edge = new Edge(demoConfig(origin.url, '127.0.0.1:0', '127.0.0.1:0'));
  await edge.start();
  t.after(async () => {
    await edge.stop(1000);
    await origin.close();
  });
  const port = edge.httpAddresses[0]!.port;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  t.after(() => browser.close());
  const page = await (await browser.newContext()).newPage();
  const first = await page.goto(`http://127.0.0.1:${port}/`);
  assert.match((await first!.allHeaders())['cache-status'] ?? '', /fwd=miss/);
  const reload = await page.reload();
  const sent = await reload!.request().allHeaders();
  assert.match(sent['cache-control'] ?? '', /max-age=0|no-cache/, 'the browser asked for a reload');
  assert.match((await reload!.allHeaders())['cache-status'] ?? '', /^blotcdn; hit/);
});
