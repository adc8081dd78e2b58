// The publishing queue on the edge's admin API and dashboard: with a `jobs` block naming the journal
// folder the origin app queues into, GET /jobs reports the counts, the recent publishes with how long
// each took to be processed and warmed, and the failed jobs — and the dashboard (real Chromium) shows
// the same figures. A screenshot is kept in test-artifacts/dashboard-jobs.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './helpers/browser.js';
import { createPublisher, FileManifest, openJobQueue, startWorker, type QueueReport } from '../src/origin-lib/index.js';
import { request } from './helpers/client.js';
import { startEdge, simpleConfig } from './helpers/edge.js';
import { corruptJpeg, photo } from './helpers/images.js';
import { respond, startOrigin } from './helpers/origin.js';
import { scratch } from './helpers/scratch.js';
import { waitFor } from './helpers/wait.js';

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const TOKEN = 'dashboard-jobs-token';
const BLOG = 'blog_00000000000000000000000000000abc';
const { defer, temp } = scratch();

test('GET /jobs and the dashboard show the publishing queue: counts, publishes and their times, failures', async () => {
  const dir = await temp('dash-jobs-');
  const origin = await startOrigin(respond('<html>blog</html>', { 'content-type': 'text/html', 'cache-control': 'max-age=60' }));
  defer(() => origin.close());
  const edge = await startEdge({ ...simpleConfig(origin.url), admin: { listen: '127.0.0.1:0', token: TOKEN }, jobs: { dir: join(dir, 'jobs') } });
  defer(() => edge.stop());
  const api = async (path: string) => request(`${edge.adminUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });

  // The origin app's side: its queue in that folder, a worker, one post with a good and a bad image.
  const queue = await openJobQueue({ dir: join(dir, 'jobs') });
  defer(() => queue.close());
  const manifest = await FileManifest.open(join(dir, 'manifest'));
  defer(() => manifest.close());
  const worker = startWorker({ queue, root: join(dir, 'root'), manifest, edges: [{ admin: edge.adminUrl!, token: TOKEN }], thumbnails: { formats: ['webp'] } });
  defer(() => worker.stop());
  await writeFile(join(dir, 'good.jpg'), await photo(800, 500));
  await writeFile(join(dir, 'bad.jpg'), await corruptJpeg());
  const published = await createPublisher({ queue, scheme: 'http' }).publish({
    blogID: BLOG,
    hosts: ['dash.blot.im'],
    changed: { pages: ['/post'], assets: [{ path: 'good.jpg', file: join(dir, 'good.jpg') }, { path: 'bad.jpg', file: join(dir, 'bad.jpg') }] },
  });
  await waitFor(async () => (await queue.get(published.id))?.state === 'done', 'the post to be processed and warmed', 60_000);

  const reply = await api('/jobs');
  assert.equal(reply.status, 200, reply.text);
  const report = JSON.parse(reply.text) as QueueReport;
  assert.equal(report.backend, 'journal');
  assert.deepEqual(report.counts, { waiting: 0, delayed: 0, blocked: 0, running: 0, done: 2, failed: 1 });
  assert.equal(report.publishes.length, 1);
  const p = report.publishes[0]!;
  assert.deepEqual([p.id, p.blogID, p.hosts, p.state, p.assets, p.failedAssets, p.warmed, p.warmErrors], [published.id, BLOG, ['dash.blot.im'], 'done', 2, 1, 3, 0]);
  const job = await queue.get(published.id);
  assert.equal(p.ms, job!.finishedAt! - job!.createdAt, 'from the publish call to the last page warmed');
  assert.deepEqual(report.failed.map((f) => [f.id, f.name, f.subject, f.attempts]), [[published.assets[1], 'asset', 'bad.jpg', 1]]);
  assert.match(report.failed[0]!.error, /^image_decode: "bad\.jpg" cannot be decoded/);

  const browser = await launchChromium();
  defer(() => browser.close());
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 1300 } })).newPage();
  const failures: string[] = [];
  page.on('pageerror', (err) => failures.push(err.message));
  await page.goto(`${edge.adminUrl}/dashboard`);
  await page.fill('input[name=token]', TOKEN);
  await Promise.all([page.waitForURL(`${edge.adminUrl}/dashboard`), page.click('button[type=submit]')]);
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 10_000 });

  assert.equal(await page.isVisible('[data-testid="publishing"]'), true);
  const text = async (id: string) => (await page.textContent(`[data-testid="${id}"]`))?.trim();
  assert.deepEqual(
    [await text('jobs-backend'), await text('jobs-waiting'), await text('jobs-running'), await text('jobs-failed'), await text('jobs-done')],
    ['(journal)', '0', '0', '1', '2'],
  );
  const rows = async (id: string) => page.$$eval(`[data-testid="${id}"] tbody tr`, (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())));
  const publishes = await rows('publishes');
  assert.equal(publishes.length, 1);
  const took = p.ms! < 1000 ? `${p.ms} ms` : `${(p.ms! / 1000).toFixed(1)} s`;
  assert.deepEqual(publishes[0]!.slice(1), [`${BLOG} dash.blot.im`, 'done', '2 (1 failed)', '3', took]);
  const failed = await rows('failed-jobs');
  assert.deepEqual(failed.map((r) => r.slice(0, 3)), [[published.assets[1], 'bad.jpg', '1']]);
  assert.match(failed[0]![3]!, /^image_decode: /);

  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-jobs.png'), fullPage: true });
  assert.deepEqual(failures, []);
});
