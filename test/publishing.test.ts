// Publishing a post end to end, with a real origin, two real edges (admin API on) and the worker in
// this process, once on the embedded journal and once on BullMQ over a real redis-server: the publish
// call returns before any thumbnail exists; the thumbnails then appear in the platform's sizes (read
// back with sharp); a corrupt image fails its own job with a clear error and blocks nothing; the index
// page, the post, the feed and the tag page are warmed through every edge (the next reader gets a
// hit) while the blog's older pages are soft-purged (served stale while refreshed). Then the overlap
// rule: a warm that began before a later publish's purge does not leave the pre-purge page.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  createPublisher, FileManifest, openJobQueue, startWorker,
  type AssetJobResult, type JobInfo, type JobQueue, type PublishJobResult,
} from '../src/origin-lib/index.js';
import { startEdge, simpleConfig, type TestEdge } from './helpers/edge.js';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { get, type Reply } from './helpers/client.js';
import { corruptJpeg, photo, transparentPng } from './helpers/images.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { scratch } from './helpers/scratch.js';
import { waitFor } from './helpers/wait.js';

const BLOG = 'blog_0123456789abcdef0123456789abcdef';
const TOKEN = 'publish-test-token';
const SVG = fileURLToPath(new URL('../demo/site/assets/img/mountains.svg', import.meta.url));
const cacheStatus = (r: Reply) => String(r.headers['cache-status']);

const { defer, deferLast, temp } = scratch();

let redis: TestRedis | undefined;
async function queueFor(backend: 'journal' | 'bullmq'): Promise<JobQueue> {
  if (backend === 'bullmq') {
    redis ??= await startRedis();
    const r = redis;
    deferLast(() => r.stop());
  }
  const queue = backend === 'journal' ? await openJobQueue({ dir: await temp('pub-jobs-') }) : await openJobQueue({ redis: redis!.url, prefix: `pub${Math.random().toString(36).slice(2, 8)}` });
  defer(() => queue.close());
  return queue;
}

/** Blog pages that say which version of the blog they are, cacheable for five minutes. */
async function blogOrigin(): Promise<TestOrigin & { version: { n: number } }> {
  const version = { n: 1 };
  const origin = await startOrigin((req, res) => {
    // The host name only: the edge sends its listener's (free, non-default) port with it.
    const body = `<html>${req.headers.host?.replace(/:\d+$/, '')}${req.url} v${version.n}</html>`;
    res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=300', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  defer(() => origin.close());
  return Object.assign(origin, { version });
}

async function edgeFor(origin: TestOrigin): Promise<TestEdge> {
  const edge = await startEdge({ ...simpleConfig(origin.url), admin: { listen: '127.0.0.1:0', token: TOKEN } });
  defer(() => edge.stop());
  return edge;
}

async function finished(queue: JobQueue, id: string): Promise<JobInfo> {
  let job: JobInfo | undefined;
  await waitFor(async () => ((job = await queue.get(id)), job?.state === 'done' || job?.state === 'failed'), `job ${id} to finish`, 45_000);
  return job!;
}

for (const backend of ['journal', 'bullmq'] as const) {
  describe(`publishing a post (${backend})`, () => {
    test('returns before any thumbnail exists; thumbnails, failures and warm pages follow', async () => {
      const root = await temp('pub-root-');
      const src = await temp('pub-src-');
      const manifest = await FileManifest.open(await temp('pub-manifest-'));
      defer(() => manifest.close());
      const queue = await queueFor(backend);
      const origin = await blogOrigin();
      const edges = [await edgeFor(origin), await edgeFor(origin)];
      const worker = startWorker({ queue, root, manifest, edges: edges.map((e) => ({ admin: e.adminUrl!, token: TOKEN })), concurrency: { asset: 2 } });
      defer(() => worker.stop());
      await worker.started;

      // An older page of the blog, already cached on the first edge.
      const host = 'example.blot.im';
      assert.match(cacheStatus(await get(`${edges[0]!.url}/2023/old`, { host })), /fwd=miss; stored/);

      const files = { 'photos/beach.jpg': await photo(2000, 1333), 'art/logo.png': await transparentPng(800), 'art/mountains.svg': await readFile(SVG), 'photos/broken.jpg': await corruptJpeg() };
      for (const [path, bytes] of Object.entries(files)) await writeFile(join(src, path.replace('/', '-')), bytes);
      origin.version.n = 2;
      const publisher = createPublisher({ queue, scheme: 'http' });
      const published = await publisher.publish({
        blogID: BLOG,
        hosts: [host],
        changed: { pages: ['/2024/hello'], tags: ['Travel'], assets: Object.keys(files).map((path) => ({ path, file: join(src, path.replace('/', '-')) })) },
      });
      // Checked synchronously as the call returns: nothing of the blog has been written yet.
      assert.equal(existsSync(join(root, BLOG)), false, 'no thumbnail (nor any file of the blog) exists when publish() returns');
      assert.equal(published.assets.length, 4);

      const publish = await finished(queue, published.id);
      assert.equal(publish.state, 'done', publish.error);
      const [beach, logo, svg, broken] = await Promise.all(published.assets.map((id) => queue.get(id)));

      // The corrupt image: failed at its first attempt with a clear error; the others are done.
      assert.equal(broken!.state, 'failed');
      assert.equal(broken!.attempts, 1, 'not retried');
      assert.match(broken!.error!, /^image_decode: "photos\/broken\.jpg" cannot be decoded as an image: /);
      assert.equal(manifest.get(BLOG, 'photos/broken.jpg'), undefined, 'nothing of it was published');
      const result = publish.result as PublishJobResult;
      assert.deepEqual(result.failedAssets.map((f) => f.id), [broken!.id]);

      // Thumbnails in the platform's sizes, as sharp reads them back from disk.
      const expectSizes = async (job: JobInfo | undefined, width: number, height: number, fallback: string) => {
        assert.equal(job?.state, 'done', job?.error);
        const r = job!.result as AssetJobResult;
        const want: Record<string, [number, number]> = {
          small: [Math.min(160, width), Math.round((Math.min(160, width) * height) / width)],
          medium: [Math.min(640, width), Math.round((Math.min(640, width) * height) / width)],
          large: [Math.min(1200, width), Math.round((Math.min(1200, width) * height) / width)],
          square: [160, 160],
        };
        for (const [size, [w, h]] of Object.entries(want)) {
          const mine = r.files.filter((f) => f.size === size);
          const base = mine.find((f) => f.format === fallback);
          assert.ok(base, `${r.path} ${size}: a ${fallback} fallback`);
          for (const f of mine) {
            const meta = await sharp(f.file).metadata();
            assert.deepEqual([meta.width, meta.height, meta.format === 'heif' ? 'avif' : meta.format], [w, h, f.format], `${f.path} as read back`);
            assert.equal(manifest.get(BLOG, f.path), f.cacheID, `${f.path} is in the manifest`);
            assert.ok(f.path.startsWith(`_thumbnails/${r.path}/${size}.`));
            if (f !== base) assert.ok(f.bytes < base!.bytes, `${f.path} is kept only because it is smaller than the ${fallback}`);
          }
        }
        assert.equal(manifest.get(BLOG, r.path), r.cacheID, 'the original is published too');
        return r;
      };
      const beachResult = await expectSizes(beach, 2000, 1333, 'jpeg');
      assert.ok(beachResult.files.some((f) => f.format === 'webp'), 'WebP beats JPEG for a photo');
      await expectSizes(logo, 800, 800, 'png');
      // An SVG is rendered to PNG at each width (a vector is enlarged as needed).
      assert.deepEqual((await expectSizes(svg, 2400, 1200, 'png')).image, { format: 'svg', width: 800, height: 400 });

      // Warm: every page of the post answered from each edge's cache, fetched once per edge.
      const paths = ['/', '/2024/hello', '/feed.rss', '/tagged/travel'];
      assert.deepEqual(result.warmed, { hit: 0, stored: paths.length * 2, 'not-stored': 0, error: 0 });
      for (const edge of edges) {
        for (const path of paths) {
          const reply = await get(`${edge.url}${path}`, { host });
          assert.match(cacheStatus(reply), /^blotcdn; hit/, `${path} on ${edge.url}`);
          assert.equal(reply.text, `<html>${host}${path} v2</html>`);
        }
      }
      for (const path of paths) assert.equal(origin.count(path), 2, `${path}: one fetch per edge, by the warm`);
      // The older page was soft-purged: served at once, stale, while it is fetched again.
      assert.match(cacheStatus(await get(`${edges[0]!.url}/2023/old`, { host })), /stale-while-revalidate/);
    });
  });
}

test('a warm that began before a later publish purged the page does not leave the old page', async () => {
  const root = await temp('race-root-');
  const manifest = await FileManifest.open(await temp('race-manifest-'));
  defer(() => manifest.close());
  const queue = await queueFor('journal');
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let version = 1;
  let holding = false;
  const origin = await startOrigin((req, res) => {
    const v = version;
    const send = () => {
      const body = `${req.url} v${v}`;
      res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=300', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    // The first fetch of the post page is slow: it answers (with v1) only when the test says.
    if (req.url === '/2024/race' && v === 1) {
      holding = true;
      void held.then(send);
    } else send();
  });
  defer(() => origin.close());
  const edge = await edgeFor(origin);
  const worker = startWorker({ queue, root, manifest, edges: [{ admin: edge.adminUrl!, token: TOKEN }] });
  defer(() => worker.stop());
  const publisher = createPublisher({ queue, scheme: 'http' });
  const post = { blogID: BLOG, hosts: ['race.blot.im'], changed: { pages: ['/2024/race'] } };

  const first = await publisher.publish(post);
  await waitFor(() => holding, 'the first warm to reach the origin');
  version = 2;
  const second = await publisher.publish(post);
  const secondJob = await finished(queue, second.id);
  assert.equal(secondJob.state, 'done', secondJob.error);
  release();
  const firstJob = await finished(queue, first.id);
  assert.equal(firstJob.state, 'done', firstJob.error);
  // The held fetch (v1) has now finished, after v2 was stored: had the edge stored it, it would
  // have replaced v2. (Its warm still reports "stored": the edge's warm result does not see the gate.)
  await waitFor(() => edge.edge.cacheStats().flights === 0, 'the edge to finish every fetch');

  const reply = await get(`${edge.url}/2024/race`, { host: 'race.blot.im' });
  assert.equal(reply.text, '/2024/race v2', 'the page as it was after the later purge');
  assert.match(cacheStatus(reply), /^blotcdn; hit/);
  assert.equal(origin.count('/2024/race'), 2, 'the held fetch, and the second publish’s own warm');
});
