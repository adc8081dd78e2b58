// The contract every job queue backend keeps, run against the journal on disk and against BullMQ on
// a real redis-server: durable adds, status by id, retries with backoff, permanent failures, failed
// jobs visible and retried by hand, flows whose parent runs once its children finished (failed ones
// included), per-name concurrency, and a failing job that blocks nothing else.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssetError } from '../src/origin-lib/asset-error.js';
import type { JobInfo, JobQueue } from '../src/origin-lib/jobs/job-queue.js';
import { openJobQueue } from '../src/origin-lib/jobs/open-job-queue.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const NAMES = ['asset', 'publish'];

interface Backend {
  name: string;
  /** A fresh store; each call of the returned open() opens another queue on that same store. */
  store(): Promise<{ open(): Promise<JobQueue> }>;
}

const dirs: string[] = [];
let redis: TestRedis | undefined;
let prefixes = 0;

const backends: Backend[] = [
  {
    name: 'journal',
    store: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'jobs-contract-'));
      dirs.push(dir);
      return { open: () => openJobQueue({ dir, names: NAMES, pollMs: 50 }) };
    },
  },
  {
    name: 'bullmq',
    store: async () => {
      redis ??= await startRedis();
      const prefix = `contract${++prefixes}`;
      return { open: () => openJobQueue({ redis: redis!.url, prefix, names: NAMES, lockMs: 2000 }) };
    },
  },
];

after(async () => {
  await redis?.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function settled(queue: JobQueue, id: string): Promise<JobInfo> {
  let job: JobInfo | undefined;
  await waitFor(async () => {
    job = await queue.get(id);
    return job?.state === 'done' || job?.state === 'failed';
  }, `job ${id} to finish`);
  return job!;
}

for (const backend of backends) {
  describe(`job queue contract: ${backend.name}`, () => {
    const opened: JobQueue[] = [];
    const open = async () => {
      const store = await backend.store();
      const queue = await store.open();
      opened.push(queue);
      return { queue, reopen: async () => (opened.push(await store.open()), opened.at(-1)!) };
    };
    after(async () => {
      for (const q of opened) await q.close();
    });

    test('a queued job is visible by id and in the counts before any worker runs', async () => {
      const { queue } = await open();
      const id = await queue.add({ name: 'asset', data: { path: 'a.jpg' } });
      const job = await queue.get(id);
      assert.equal(job?.state, 'waiting');
      assert.deepEqual(job?.data, { path: 'a.jpg' });
      assert.equal(job?.attempts, 0);
      assert.equal((await queue.counts()).waiting, 1);
      assert.deepEqual((await queue.list()).map((j) => j.id), [id]);
      assert.equal(await queue.get('asset-nosuchjob'), undefined);
      await assert.rejects(queue.add({ name: 'nope', data: {} }), (err: AssetError) => err.code === 'unknown_job');
    });

    test('a job added survives its queue being closed, and another queue on the same store runs it', async () => {
      const { queue, reopen } = await open();
      const id = await queue.add({ name: 'asset', data: { n: 7 } });
      await queue.close();
      opened.splice(opened.indexOf(queue), 1);
      const other = await reopen();
      assert.equal((await other.get(id))?.state, 'waiting');
      const worker = other.work({ handlers: { asset: async (job) => ({ doubled: (job.data as { n: number }).n * 2 }) } });
      const done = await settled(other, id);
      await worker.stop();
      assert.equal(done.state, 'done');
      assert.deepEqual(done.result, { doubled: 14 });
      assert.equal(done.attempts, 1);
      assert.ok(done.startedAt! >= done.createdAt && done.finishedAt! >= done.startedAt!);
    });

    test('a failing job is retried with exponential backoff, then succeeds', async () => {
      const { queue } = await open();
      // When each attempt started, as the queue itself recorded it (the handler reads no clock).
      const calls: { attempt: number; startedAt: number }[] = [];
      const worker = queue.work({
        handlers: {
          asset: async (job) => {
            calls.push({ attempt: job.attempts, startedAt: job.startedAt! });
            if (job.attempts < 3) throw new Error(`flaky ${job.attempts}`);
            return 'ok';
          },
        },
      });
      const id = await queue.add({ name: 'asset', data: {}, opts: { attempts: 3, backoffMs: 40 } });
      const done = await settled(queue, id);
      await worker.stop();
      assert.equal(done.state, 'done');
      assert.equal(done.attempts, 3);
      assert.deepEqual(calls.map((c) => c.attempt), [1, 2, 3]);
      // The waits before the retries: 40 ms, then 80 ms (at least): a retry is due that long after
      // the failure, and the queue starts nothing before it is due.
      const gap = (i: number) => calls[i]!.startedAt - calls[i - 1]!.startedAt;
      assert.ok(gap(1) >= 40, `the first retry started ${gap(1)} ms after the first attempt`);
      assert.ok(gap(2) >= 80, `the second retry started ${gap(2)} ms after the second attempt`);
    });

    test('out of attempts, a job is failed with its error, listed as failed, and can be retried by hand', async () => {
      const { queue } = await open();
      let fixed = false;
      const worker = queue.work({
        handlers: {
          asset: async () => {
            if (!fixed) throw new Error('origin said 500');
            return 'fine now';
          },
        },
      });
      const id = await queue.add({ name: 'asset', data: {}, opts: { attempts: 2, backoffMs: 10 } });
      const failed = await settled(queue, id);
      assert.equal(failed.state, 'failed');
      assert.equal(failed.attempts, 2);
      assert.match(failed.error!, /origin said 500/);
      assert.deepEqual((await queue.list({ states: ['failed'] })).map((j) => j.id), [id]);
      assert.equal((await queue.counts()).failed, 1);

      await assert.rejects(queue.retry('asset-nosuchjob'), (err: AssetError) => err.code === 'unknown_job');
      fixed = true;
      await queue.retry(id);
      const done = await settled(queue, id);
      assert.equal(done.state, 'done');
      assert.equal(done.result, 'fine now');
      assert.equal(done.attempts, 1, 'attempts start again from zero');
      await assert.rejects(queue.retry(id), (err: AssetError) => err.code === 'job_not_failed');
      await worker.stop();
    });

    test('a permanent error fails the job at once, and the jobs after it still run', async () => {
      const { queue } = await open();
      const worker = queue.work({
        handlers: {
          asset: async (job) => {
            if ((job.data as { bad?: boolean }).bad) throw new AssetError('image_decode', 'not an image', { permanent: true });
            return 'thumbs';
          },
        },
      });
      const bad = await queue.add({ name: 'asset', data: { bad: true }, opts: { attempts: 5 } });
      const good = await Promise.all([1, 2, 3].map(() => queue.add({ name: 'asset', data: {} })));
      const failed = await settled(queue, bad);
      assert.equal(failed.state, 'failed');
      assert.equal(failed.attempts, 1, 'not retried');
      assert.equal(failed.error, 'image_decode: not an image');
      for (const id of good) assert.equal((await settled(queue, id)).state, 'done');
      await worker.stop();
    });

    test('a flow: the parent runs once every child finished, and hears which children failed', async () => {
      const { queue } = await open();
      let parentSaw: JobInfo | undefined;
      const childrenDone = new Set<string>();
      const { id, children } = await queue.addFlow({ name: 'publish', data: { post: 1 } }, [
        { name: 'asset', data: { i: 0 } },
        { name: 'asset', data: { i: 1, bad: true } },
        { name: 'asset', data: { i: 2 } },
      ]);
      assert.equal(children.length, 3);
      const blocked = await queue.get(id);
      assert.equal(blocked?.state, 'blocked');
      assert.deepEqual(blocked?.children, children);
      assert.equal((await queue.get(children[0]!))?.parent, id);

      const worker = queue.work({
        concurrency: { asset: 2, publish: 1 },
        handlers: {
          asset: async (job) => {
            if ((job.data as { bad?: boolean }).bad) throw new AssetError('image_decode', 'corrupt', { permanent: true });
            childrenDone.add(job.id);
          },
          publish: async (job) => {
            parentSaw = job;
            return { childrenDoneBefore: childrenDone.size };
          },
        },
      });
      const parent = await settled(queue, id);
      await worker.stop();
      assert.equal(parent.state, 'done');
      assert.deepEqual(parent.result, { childrenDoneBefore: 2 });
      assert.deepEqual(parentSaw?.failedChildren, [{ id: children[1], error: 'image_decode: corrupt' }]);
      assert.equal((await queue.get(children[1]!))?.state, 'failed');
    });

    test('each name runs at most its concurrency at once, and other names are not held up', async () => {
      const { queue } = await open();
      let running = 0;
      let most = 0;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const worker = queue.work({
        concurrency: { asset: 2, publish: 1 },
        handlers: {
          asset: async () => {
            running++;
            most = Math.max(most, running);
            await gate;
            running--;
          },
          publish: async () => 'quick',
        },
      });
      const assets = await Promise.all([1, 2, 3, 4, 5].map(() => queue.add({ name: 'asset', data: {} })));
      await waitFor(async () => (await queue.counts()).running === 2, 'two asset jobs running');
      const quick = await queue.add({ name: 'publish', data: {} });
      assert.equal((await settled(queue, quick)).state, 'done', 'a publish job ran while asset jobs held their slots');
      release();
      for (const id of assets) assert.equal((await settled(queue, id)).state, 'done');
      assert.equal(most, 2);
      await worker.stop();
    });
  });
}
