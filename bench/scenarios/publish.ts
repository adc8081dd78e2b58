// Publishing (blotcdn/origin): how long the publish call of a post with 20 images takes in the app's
// process (p50/p99; target < 5 ms p99) — with no worker, while a worker renders thumbnails in the same
// process, and on BullMQ when redis-server is installed; the time from the publish call to the post
// fully processed (thumbnails of 20 photos) and warmed through two edges; thumbnails per second.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { Edge } from '../../src/edge.js';
import { createPublisher, FileManifest, openJobQueue, startWorker, type AssetJobResult, type JobQueue, type Post, type PublishJobResult } from '../../src/origin-lib/index.js';
import { photo } from '../../test/helpers/images.js';
import { startRedis } from '../../test/helpers/redis.js';
import { findCommand, median } from '../lib/procs.js';
import { fmt, type BenchContext, type Scenario } from '../lib/scenario.js';

const IMAGES = Number(process.env.BENCH_PUBLISH_IMAGES ?? 20);
const CALLS = Number(process.env.BENCH_PUBLISH_CALLS ?? 500);
const BLOG = 'blog_0123456789abcdef0123456789abcdef';
const TOKEN = 'bench-publish-token';

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

function post(dir: string, n: number): Post {
  return {
    blogID: BLOG,
    hosts: ['bench.blot.im', 'www.bench.example'],
    changed: {
      pages: [`/2024/post-${n}`],
      tags: ['photos', 'travel'],
      assets: Array.from({ length: IMAGES }, (_, i) => ({ path: `photos/${n}/img-${i}.jpg`, file: join(dir, `src-${i}.jpg`) })),
    },
  };
}

/** Latency of `calls` publish calls, one after another, in ms. */
async function callLatencies(queue: JobQueue, dir: string, calls: number): Promise<number[]> {
  const publisher = createPublisher({ queue, scheme: 'http' });
  for (let i = 0; i < 20; i++) await publisher.publish(post(dir, i)); // warm-up
  const out: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await publisher.publish(post(dir, i));
    out.push(performance.now() - t);
  }
  return out;
}

export const publish: Scenario = {
  name: 'publish',
  description: `blotcdn/origin publishing: publish-call latency for a post with ${IMAGES} images, publish → processed and warmed, thumbnails/s`,
  async run(ctx: BenchContext) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-publish-'));
    const edges: Edge[] = [];
    try {
      ctx.log(`making ${IMAGES} test photos (1600×1067 JPEG)…`);
      for (let i = 0; i < IMAGES; i++) await writeFile(join(dir, `src-${i}.jpg`), await photo(1600, 1067, i + 1));

      // 1. The call alone, with no worker: the journal as configured by default (synced to disk
      // within a second), and synced before each call returns.
      const idleQueue = await openJobQueue({ dir: join(dir, 'jobs-idle') });
      const idle = await callLatencies(idleQueue, dir, CALLS);
      await idleQueue.close();
      ctx.log(`journal, no worker: p50 ${fmt(percentile(idle, 50), 3)} ms, p99 ${fmt(percentile(idle, 99), 3)} ms`);
      const syncQueue = await openJobQueue({ dir: join(dir, 'jobs-sync'), fsync: 'always' });
      const synced = await callLatencies(syncQueue, dir, CALLS);
      await syncQueue.close();
      ctx.log(`journal, fsync always, no worker: p50 ${fmt(percentile(synced, 50), 3)} ms, p99 ${fmt(percentile(synced, 99), 3)} ms`);

      // 2. A full publish through two edges, rounds one after another; then calls while a worker runs.
      for (let i = 0; i < 2; i++) {
        const edge = new Edge(validateConfig({
          listen: { http: '127.0.0.1:0' },
          log: { access: 'off', events: 'off' },
          admin: { listen: '127.0.0.1:0', token: TOKEN },
          originGroups: { main: { members: [{ url: ctx.originUrl }] } },
          sites: [{ hosts: ['*'], originGroup: 'main' }],
        }));
        await edge.start();
        edges.push(edge);
      }
      const queue = await openJobQueue({ dir: join(dir, 'jobs') });
      const manifest = await FileManifest.open(join(dir, 'manifest'));
      const worker = startWorker({ queue, root: join(dir, 'root'), manifest, edges: edges.map((e) => ({ admin: `http://127.0.0.1:${e.admin!.address!.port}`, token: TOKEN })) });
      await worker.started;
      const publisher = createPublisher({ queue, scheme: 'http' });
      const rounds: { totalMs: number; assetsMs: number; images: number; files: number; warmed: number; callMs: number }[] = [];
      let busy: number[] = [];
      for (let r = 0; r < Math.max(ctx.rounds, 3); r++) {
        const t = performance.now();
        const published = await publisher.publish(post(dir, 10_000 + r));
        const callMs = performance.now() - t;
        // While this post's thumbnails render, more publish calls (of other posts, never processed here:
        // they queue behind) measure the call with a busy worker in the same process.
        if (r === 0) {
          const other = await openJobQueue({ dir: join(dir, 'jobs-busy') });
          busy = await callLatencies(other, dir, CALLS);
          await other.close();
        }
        let done = await queue.get(published.id);
        while (done?.state !== 'done' && done?.state !== 'failed') {
          await new Promise((resolve) => setTimeout(resolve, 20));
          done = await queue.get(published.id);
        }
        if (done.state !== 'done') throw new Error(`the publish job failed: ${done.error}`);
        const assets = await Promise.all(published.assets.map((id) => queue.get(id)));
        const started = Math.min(...assets.map((a) => a!.startedAt!));
        const lastAsset = Math.max(...assets.map((a) => a!.finishedAt!));
        const files = assets.reduce((n, a) => n + (a!.result as AssetJobResult).files.length, 0);
        const result = done.result as PublishJobResult;
        rounds.push({ totalMs: done.finishedAt! - done.createdAt, assetsMs: lastAsset - started, images: assets.length, files, warmed: result.warmed.stored + result.warmed.hit, callMs });
        ctx.log(`round ${r + 1}: publish → processed and warmed in ${fmt(rounds.at(-1)!.totalMs)} ms (${files} thumbnail files, ${rounds.at(-1)!.warmed} pages warmed)`);
      }
      await worker.stop();
      await queue.close();
      await manifest.close();
      ctx.log(`journal, worker busy in-process: p50 ${fmt(percentile(busy, 50), 3)} ms, p99 ${fmt(percentile(busy, 99), 3)} ms`);

      // 3. BullMQ on a local redis-server, if there is one.
      let bull: number[] | undefined;
      if (findCommand('redis-server')) {
        const redis = await startRedis();
        try {
          const q = await openJobQueue({ redis: redis.url });
          bull = await callLatencies(q, dir, CALLS);
          await q.close();
          ctx.log(`BullMQ, no worker: p50 ${fmt(percentile(bull, 50), 3)} ms, p99 ${fmt(percentile(bull, 99), 3)} ms`);
        } finally {
          await redis.stop();
        }
      }

      const row = (name: string, xs: number[]) => [name, fmt(percentile(xs, 50), 3), fmt(percentile(xs, 99), 3), fmt(Math.max(...xs), 3)];
      const imagesPerSec = rounds.map((r) => r.images / (r.assetsMs / 1000));
      const filesPerSec = rounds.map((r) => r.files / (r.assetsMs / 1000));
      return {
        title: `Publishing: a post with ${IMAGES} images`,
        table: [
          ['measurement', 'p50 / median', 'p99', 'max'],
          row(`publish() call, journal (default: synced within 1 s), no worker — ms (${CALLS} calls)`, idle),
          row(`publish() call, journal with fsync: 'always', no worker — ms`, synced),
          row(`publish() call, journal, worker rendering in the same process — ms`, busy),
          ...(bull ? [row(`publish() call, BullMQ on local Redis — ms`, bull)] : []),
          [`publish → ${IMAGES} images processed and pages warmed on 2 edges — ms`, fmt(median(rounds.map((r) => r.totalMs))), '', rounds.map((r) => fmt(r.totalMs)).join(' ')],
          ['images per second (all sizes and formats of one image)', fmt(median(imagesPerSec), 2), '', imagesPerSec.map((x) => fmt(x, 2)).join(' ')],
          ['thumbnail files per second', fmt(median(filesPerSec), 1), '', filesPerSec.map((x) => fmt(x, 1)).join(' ')],
        ],
        notes: [
          `photos 1600×1067 JPEG; sizes small 160, medium 640, large 1200, square 160; JPEG fallback + WebP/AVIF kept where smaller (${fmt(median(rounds.map((r) => r.files / r.images)), 1)} files per image); asset concurrency = CPU count`,
          `each publish warms / + the post + /feed.rss + 2 tag pages on 2 hosts, through 2 edges (${rounds[0]!.warmed} warms); the edges run in the bench process`,
        ],
        data: { idle, synced, busy, bull, rounds },
      };
    } finally {
      for (const e of edges) await e.stop(0);
      await rm(dir, { recursive: true, force: true });
    }
  },
};
