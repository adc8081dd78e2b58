// The cache folder as an operator meets it: a second edge started on a folder in use refuses, says
// why, and touches nothing (the first edge's write in progress completes and is served); a lock
// left by a killed edge is taken over; a folder deleted under a running edge is recreated, logged
// and counted. Real `blotcdn` processes, real files.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heldStream, startOrigin } from './helpers/origin.js';
import { get, request } from './helpers/client.js';
import { diskEdgeConfig, runCli, type Running } from './helpers/cli.js';
import { waitFor } from './helpers/wait.js';

const SIZE = 4 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** Every process started, killed when the test file ends (a start that fails to listen included). */
const running: Running[] = [];
after(() => {
  for (const r of running) r.child.kill('SIGKILL');
});

async function startEdge(originUrl: string, dir: string, options: { admin?: boolean } = {}): Promise<{ run: Running; url: string }> {
  const run = runCli(['start', '--workers', '1', '--config', await diskEdgeConfig(originUrl, dir, options)]);
  running.push(run);
  const [, url] = await run.waitFor(/listening on (http:\/\/\S+)/);
  return { run, url: url! };
}

test("a second edge on a folder in use refuses and disturbs nothing; a dead edge's lock is taken over", async (t) => {
  // /slow is 4 MiB that the origin stops sending halfway until the second edge has given up, so the
  // first edge's write is in progress the whole time.
  const payload = Buffer.alloc(SIZE, 7);
  const stream = heldStream(payload, CHUNK);
  stream.holdAt('/slow', SIZE / 2);
  const origin = await startOrigin(stream.handler);
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-lock-'));
  t.after(() => origin.close());
  const first = await startEdge(origin.url, dir);
  // Its connection stays idle while the second edge starts (tsx compiling it can take tens of
  // seconds on a busy machine): the client's idle timeout must outlast that.
  const slow = request(`${first.url}/slow`, { timeoutMs: 180_000 });
  const tmpSizes = async () => Promise.all((await readdir(join(dir, 'tmp'))).map(async (name) => (await stat(join(dir, 'tmp', name)).catch(() => ({ size: -1 }))).size));
  await waitFor(async () => (await tmpSizes()).includes(SIZE / 2), 'the first edge to have written half of /slow into tmp/');

  const second = runCli(['start', '--workers', '1', '--origin', origin.url, '--listen', '127.0.0.1:0', '--cache-dir', dir]);
  running.push(second);
  const { code } = await second.exited;
  assert.notEqual(code, 0);
  assert.match(second.output(), new RegExp(`the cache folder ${dir} is in use by process ${first.run.child.pid}`));
  assert.doesNotMatch(second.output(), /\n\s+at /, 'a sentence, not a stack trace');
  assert.deepEqual(await tmpSizes(), [SIZE / 2], "the first edge's write is untouched and still under way");

  stream.release();
  const res = await slow;
  assert.equal(res.body.length, SIZE);
  await waitFor(async () => /hit/.test(String((await get(`${first.url}/slow`)).headers['cache-status'])), 'the object written while the second edge tried to start is stored whole');

  first.run.child.kill('SIGKILL');
  await first.run.exited;
  const third = await startEdge(origin.url, dir);
  const again = await get(`${third.url}/slow`);
  assert.match(String(again.headers['cache-status']), /hit/, 'the lock of the killed edge was taken over, its cache kept');
  assert.equal(again.body.length, SIZE);
});

test('the cache folder deleted under a running edge is recreated, logged and counted', async (t) => {
  const origin = await startOrigin((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=3600' });
    res.end(`page ${req.url}`);
  });
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-deleted-'));
  const edge = await startEdge(origin.url, dir, { admin: true });
  t.after(() => origin.close());
  const [, admin] = await edge.run.waitFor(/admin API and dashboard on (http:\/\/[^/\s]+)/);
  assert.equal((await get(`${edge.url}/before`)).status, 200);

  // The edge may still be committing /before while the folder goes (ENOTEMPTY): rm retries, as rm -rf would be rerun.
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  assert.equal((await get(`${edge.url}/after`)).status, 200);
  await waitFor(async () => stat(join(dir, 'objects')).then(() => true, () => false), 'the folder is back');
  await edge.run.waitFor(/"code":"disk_cache_lost"/);
  const stats = (await (await fetch(`${admin}/stats`)).json()) as { errors: Record<string, number>; cache: { tiers: { disk: { entries: number } } } };
  assert.equal(stats.errors.disk_cache_lost, 1);
  await waitFor(async () => {
    const s = (await (await fetch(`${admin}/stats`)).json()) as typeof stats;
    return s.cache.tiers.disk.entries === 1;
  }, 'objects are stored on disk again');
  const metrics = await (await fetch(`${admin}/metrics`)).text();
  assert.match(metrics, /blotcdn_errors_total\{code="disk_cache_lost"[^}]*\} 1\n/);
});
