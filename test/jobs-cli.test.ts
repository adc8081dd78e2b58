// `blotcdn jobs list | show | retry` as an operator runs them against a journal folder: counts,
// failed jobs with their errors, one job in full, and a failed job put back in line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FileManifest, openJobQueue, startWorker } from '../src/origin-lib/index.js';
import { runCliToEnd } from './helpers/cli.js';
import { scratch } from './helpers/scratch.js';
import { waitFor } from './helpers/wait.js';

const BLOG = 'blog_0123456789abcdef0123456789abcdef';
const { defer, temp } = scratch();

test('jobs list, show and retry from the command line', async () => {
  const dir = await temp('cli-list-');
  const queue = await openJobQueue({ dir });
  defer(() => queue.close());
  const ok = await queue.add({ name: 'asset', data: { blogID: BLOG, path: 'a.jpg', file: '/x' } });
  const bad = await queue.add({ name: 'asset', data: { blogID: BLOG, path: 'gone.jpg', file: '/nonexistent/gone.jpg' }, opts: { attempts: 1 } });
  const manifest = await FileManifest.open(await temp('cli-list-manifest-'));
  defer(() => manifest.close());

  // Both source files are missing: each job fails at once, without retries.
  const worker = startWorker({ queue, root: await temp('cli-list-root-'), manifest });
  await waitFor(async () => (await queue.counts()).failed === 2, 'both jobs to fail');
  await worker.stop();

  const list = await runCliToEnd(['jobs', 'list', '--dir', dir, '--state', 'failed']);
  assert.equal(list.code, 0, list.output);
  assert.match(list.output, /^journal: waiting 0, delayed 0, blocked 0, running 0, done 0, failed 2$/m);
  assert.match(list.output, new RegExp(`^${bad}\\s+failed\\s+1/1 .* gone\\.jpg  — source_missing: the file of "gone\\.jpg" is gone`, 'm'));

  const show = await runCliToEnd(['jobs', 'show', '--dir', dir, ok]);
  assert.equal(show.code, 0, show.output);
  assert.match(show.output, /^state:\s+failed$/m);
  assert.match(show.output, /^attempts:\s+1 of 3$/m, 'a missing file is not retried');

  const retried = await runCliToEnd(['jobs', 'retry', '--dir', dir, bad]);
  assert.equal(retried.code, 0, retried.output);
  assert.match(retried.output, new RegExp(`${bad}: queued again`));
  const job = await queue.get(bad);
  assert.equal(job?.state, 'waiting');
  assert.equal(job?.attempts, 0);
});
