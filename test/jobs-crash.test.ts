// The crash a queue must survive: a real worker process (`blotcdn jobs work`) is killed with SIGKILL
// in the middle of a post's asset jobs; a second worker process finishes them — no job lost, the
// interrupted one run again — and the post's pages end up warm on a real edge. On the embedded
// journal and on BullMQ over a real redis-server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPublisher, openJobQueue, type AssetJobResult, type JobInfo, type JobQueue } from '../src/origin-lib/index.js';
import { runCli, type Running } from './helpers/cli.js';
import { get } from './helpers/client.js';
import { startEdge, simpleConfig } from './helpers/edge.js';
import { photo } from './helpers/images.js';
import { respond, startOrigin } from './helpers/origin.js';
import { startRedis } from './helpers/redis.js';
import { scratch } from './helpers/scratch.js';
import { waitFor } from './helpers/wait.js';

const BLOG = 'blog_0123456789abcdef0123456789abcdef';
const TOKEN = 'jobs-cli-token';
const { defer, temp } = scratch();

function worker(queueArgs: string[], root: string, manifest: string, edge: string): Running {
  const w = runCli(['jobs', 'work', ...queueArgs, '--root', root, '--manifest', manifest, '--edge', edge, '--concurrency', '2', '--formats', 'webp'], { BLOTCDN_ADMIN_TOKEN: TOKEN });
  defer(async () => {
    if (w.child.exitCode === null && w.child.signalCode === null) {
      w.child.kill('SIGKILL');
      await w.exited;
    }
  });
  return w;
}

for (const backend of ['journal', 'bullmq'] as const) {
  test(`a worker process killed -9 mid-queue loses no job (${backend})`, async () => {
    let queueArgs: string[];
    let queue: JobQueue;
    if (backend === 'journal') {
      const dir = await temp('cli-jobs-');
      queueArgs = ['--dir', dir];
      queue = await openJobQueue({ dir });
    } else {
      const redis = await startRedis();
      defer(() => redis.stop());
      queueArgs = ['--redis', redis.url, '--lock-ms', '1000'];
      queue = await openJobQueue({ redis: redis.url });
    }
    defer(() => queue.close());
    const root = await temp('cli-root-');
    const manifest = await temp('cli-manifest-');
    const src = await temp('cli-src-');
    const origin = await startOrigin(respond('<html>post</html>', { 'cache-control': 'max-age=300', 'content-type': 'text/html' }));
    defer(() => origin.close());
    const edge = await startEdge({ ...simpleConfig(origin.url), admin: { listen: '127.0.0.1:0', token: TOKEN } });
    defer(() => edge.stop());

    const first = worker(queueArgs, root, manifest, edge.adminUrl!);
    await first.waitFor(/running (journal|bullmq) jobs/);
    const assets = [];
    for (let i = 0; i < 6; i++) {
      const file = join(src, `p${i}.jpg`);
      await writeFile(file, await photo(1000, 650, i + 1));
      assets.push({ path: `photos/p${i}.jpg`, file });
    }
    const published = await createPublisher({ queue, scheme: 'http' }).publish({ blogID: BLOG, hosts: ['crash.blot.im'], changed: { pages: ['/post'], assets } });

    // Some asset jobs done, some still to do, and at least one running: then SIGKILL.
    const states = async () => Promise.all(published.assets.map(async (id) => (await queue.get(id))!.state));
    await waitFor(async () => {
      const s = await states();
      return s.includes('done') && s.includes('running') && s.filter((x) => x === 'done').length < assets.length - 2;
    }, 'the first worker to be in the middle of the post', 30_000);
    const before = await states();
    first.child.kill('SIGKILL');
    await first.exited;
    assert.ok(before.filter((s) => s === 'done').length < assets.length, `killed mid-queue: ${before.join(' ')}`);

    const second = worker(queueArgs, root, manifest, edge.adminUrl!);
    await second.waitFor(/running (journal|bullmq) jobs/);
    let publish: JobInfo | undefined;
    await waitFor(async () => ((publish = await queue.get(published.id)), publish?.state === 'done' || publish?.state === 'failed'), 'the post to be fully processed', 240_000);
    assert.equal(publish!.state, 'done', publish!.error);
    const jobs = await Promise.all(published.assets.map((id) => queue.get(id)));
    for (const job of jobs) {
      assert.equal(job?.state, 'done', `${job?.id}: ${job?.error}`);
      for (const f of (job!.result as AssetJobResult).files) assert.ok(existsSync(f.file), f.file);
    }
    assert.ok(jobs.some((j) => j!.attempts === 2), `the job the kill interrupted ran again: attempts ${jobs.map((j) => j!.attempts).join(' ')}`);
    const reply = await get(`${edge.url}/post`, { host: 'crash.blot.im' });
    assert.match(String(reply.headers['cache-status']), /^blotcdn; hit/);

    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0, 'SIGTERM stops a worker cleanly');
  });
}

