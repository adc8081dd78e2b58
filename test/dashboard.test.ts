// The dashboard in a real browser (Debian's chromium driven by playwright-core): after known
// traffic, the cards, charts and tables must show the numbers the admin API reports. A screenshot
// is kept in test-artifacts/dashboard.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './helpers/browser.js';
import { startOrigin } from './helpers/origin.js';
import { startEdge, settled } from './helpers/edge.js';
import { get, request } from './helpers/client.js';

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const TOKEN = 'dashboard-token-42';

test('the dashboard shows the figures the API reports, after known traffic', async (t) => {
  const origin = await startOrigin((req, res) => {
    const body = `${req.url} ${'-'.repeat(4000)}`;
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=300', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const edge = await startEdge({
    node: { id: 'dash-node' },
    admin: { listen: '127.0.0.1:0', token: TOKEN },
    originGroups: { app: { members: [{ name: 'blot-app', url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'app' }],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  // The history takes a sample every 10 s: stopped, so what the API said and what the page shows
  // later come from the same samples however long the browser takes to start.
  edge.edge.stats.stopSampling();

  // Known traffic: /a once missed then 4 hits, /b once missed then 2 hits, a host purge, /c missed.
  for (let i = 0; i < 5; i++) await get(`${edge.url}/a`, { host: 'dash.test' });
  for (let i = 0; i < 3; i++) await get(`${edge.url}/b`, { host: 'dash.test' });
  await settled(edge);
  await edge.edge.purge({ kind: 'host', value: 'dash.test' });
  await get(`${edge.url}/c`, { host: 'dash.test' });

  const api = async (path: string) => JSON.parse((await request(`${edge.adminUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).text);
  const stats = await api('/stats');
  const purges = await api('/purges');
  assert.equal(stats.requests, 9);

  const browser = await launchChromium();
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
  const page = await context.newPage();
  const failures: string[] = [];
  page.on('pageerror', (err) => failures.push(err.message));
  page.on('requestfailed', (req) => failures.push(`${req.url()} ${req.failure()?.errorText}`));

  // Without the token: the login form, and no data.
  const first = await page.goto(`${edge.adminUrl}/dashboard`);
  assert.equal(first?.status(), 401);
  await page.fill('input[name=token]', 'wrong-token');
  await page.click('button[type=submit]');
  assert.match(await page.textContent('body') ?? '', /not right/);
  await page.fill('input[name=token]', TOKEN);
  await Promise.all([page.waitForURL(`${edge.adminUrl}/dashboard`), page.click('button[type=submit]')]);
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 10_000 });

  const text = async (id: string) => (await page.textContent(`[data-testid="${id}"]`))?.trim();
  assert.equal(await text('requests'), stats.requests.toLocaleString('en-US'));
  assert.equal(await text('hit-ratio'), `${(stats.hitRatio * 100).toFixed(1)}%`);
  assert.equal(await text('origin-fetches'), String(stats.originFetches));
  assert.equal(await text('cache-objects'), String(stats.cache.total.entries));
  assert.equal(await text('node'), 'node dash-node');

  // Charts: the bars and lines carry the series the API gives.
  const inHour = stats.series.reduce((n: number, p: { requests: number }) => n + p.requests, 0);
  assert.equal(inHour, 9);
  assert.equal(await text('rps-total'), `(${inHour} requests)`);
  const hitsInHour = stats.series.reduce((n: number, p: { hits: number }) => n + p.hits, 0);
  assert.equal(await text('hits-total'), `(${hitsInHour} hits)`);
  assert.equal(hitsInHour, 6);
  const bars = await page.$$eval('[data-testid="chart-rps"] rect', (rects) => rects.map((r) => Number(r.getAttribute('data-value'))));
  assert.equal(bars.length, stats.series.length);
  assert.ok(bars.some((v) => v > 0), `a bar shows the traffic: ${bars}`);
  const ratios = await page.$eval('[data-testid="chart-hits"] path.ratio', (p) => p.getAttribute('data-values')!.split(',').map(Number));
  const last = stats.series.at(-1);
  assert.equal(ratios.at(-1), last.requests === 0 ? 0 : Math.round((last.hits / last.requests) * 1000) / 10);
  const served = await page.$eval('[data-testid="chart-bytes"] path.served', (p) => p.getAttribute('data-values')!.split(',').map(Number));
  const fromOrigin = await page.$eval('[data-testid="chart-bytes"] path.origin', (p) => p.getAttribute('data-values')!.split(',').map(Number));
  assert.equal(served.reduce((a: number, b: number) => a + b, 0), stats.bytesServed);
  assert.equal(fromOrigin.reduce((a: number, b: number) => a + b, 0), stats.bytesFromOrigin);

  // Tables.
  const rows = async (id: string) => page.$$eval(`[data-testid="${id}"] tbody tr`, (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())));
  const missed = await rows('top-missed');
  assert.deepEqual(
    missed,
    stats.topMissed.map((m: { url: string; misses: number }) => [m.url, String(m.misses)]),
  );
  assert.ok(missed.some(([url]) => url === 'http://dash.test/a'));
  assert.deepEqual(await rows('origins'), [['app', 'blot-app', 'closed', '0', '']]);
  const purgeRows = await rows('purges');
  assert.equal(purgeRows.length, purges.length);
  assert.deepEqual(purgeRows[0]!.slice(1), ['host', 'dash.test', 'hard', String(purges[0].purged)]);
  assert.equal(purges[0].purged, 2);
  assert.deepEqual(await rows('certs'), [['no certificates']]);
  const nodeRows = await rows('nodes');
  assert.deepEqual(nodeRows.map((r) => r[0]), ['dash-node (this one)'], 'a lone node lists itself');
  assert.equal(await page.textContent('[data-testid="redis-state"]'), '(single node)');
  assert.equal(await page.isVisible('[data-testid="publishing"]'), false, 'no jobs section in the config: no publishing panel');
  assert.equal((await request(`${edge.adminUrl}/jobs`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);

  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  assert.deepEqual(failures, [], 'no script errors or failed requests');
});
