// One publish on a 500-page blog behind two edges, as the platform does it today and better:
// - host purge: examples/blot.yaml, the app's own purge call (GET /purge?host=, its purge client);
// - tag purge + warm: examples/blot-tags.yaml, the app's pages carry Surrogate-Key and it publishes
//   through blotcdn/origin (soft purge of the post's tags, hard purge and warm of the pages it changed).
// Both edges hold every page before the post; after it, readers read every page on both edges. Reported:
// origin requests (during the publish, and by readers), reader misses, pages served that differ from
// the app's current page, and how long the publish took to be done on both edges.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Edge } from '../../src/edge.js';
import { createPublisher, FileManifest, openJobQueue, startWorker } from '../../src/origin-lib/index.js';
import { blotExample } from '../../test/helpers/blot-example.js';
import { BlotApp, changedBy, type Blog } from '../../test/helpers/blot-app.js';
import { get } from '../../test/helpers/client.js';
import { startRedis } from '../../test/helpers/redis.js';
import { startS3Server } from '../../test/helpers/s3-server.js';
import { fmt, type BenchContext, type Scenario } from '../lib/scenario.js';

const POSTS = 440; // + 44 index pages + 14 tag pages + feed + archive = 500 pages
const TAGS = 14;
const SECRET = 'bench-purge-secret';
const TOKEN = 'bench-admin-token';

type Variant = 'host purge' | 'tag purge + warm';

interface Outcome {
  variant: Variant;
  pagesBefore: number;
  pagesAfter: number;
  changed: number;
  publishOriginRequests: number;
  readerMisses: number;
  readerOriginRequests: number;
  stalePages: number;
  publishMs: number;
}

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function measure(variant: Variant, redisUrl: string, ctx: BenchContext): Promise<Outcome> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-blot-publish-'));
  const redis = new Redis(redisUrl);
  await redis.flushall();
  const bucket = await startS3Server({ bucket: 'blot-cdn-assets', missingAs403: true });
  const tags = variant === 'tag purge + warm';
  const proxies: string[] = []; // BLOT_REVERSE_PROXY_URLS, once the edges listen
  const app = new BlotApp({ redis, bucket, platform: 'blot.im', proxies, token: SECRET, retryIntervalMs: 0, surrogateKeys: tags });
  const edges: Edge[] = [];
  try {
    await app.up();
    const blog: Blog = await app.addBlog('bench', { posts: POSTS, tags: TAGS });
    const host = blog.hosts[0]!;
    for (const i of [1, 2]) {
      const config = await blotExample(tags ? 'blot-tags.yaml' : 'blot.yaml', {
        nodeId: `edge-${i}`, redisUrl, appUrl: app.url, bucketEndpoint: bucket.endpoint, diskDir: join(dir, `disk-${i}`), http: '127.0.0.1:0', purge: '127.0.0.1:0',
      });
      const edge = new Edge(config);
      await edge.start();
      edges.push(edge);
      proxies.push(`http://127.0.0.1:${edge.admin!.purgeAddresses[0]!.port}`);
    }
    const urls = edges.map((e) => `http://127.0.0.1:${e.httpAddresses[0]!.port}`);
    const readAll = async (pages: string[]) => {
      let misses = 0;
      const bodies = new Map<string, string>();
      await pool(urls.flatMap((u) => pages.map((p) => [u, p] as const)), 16, async ([u, p]) => {
        const r = await get(`${u}${p}`, { host });
        if (r.status !== 200) throw new Error(`${u}${p}: ${r.status}`);
        if (!String(r.headers['cache-status']).startsWith('blotcdn; hit')) misses++;
        bodies.set(`${u}${p}`, r.text);
      });
      return { misses, bodies };
    };

    const before = app.pagesOf(blog);
    await readAll(before);
    const warm = await readAll(before);
    if (warm.misses !== 0) throw new Error(`${warm.misses} pages were not cached before the publish`);

    // The publish.
    let seen = app.seen.length;
    const started = performance.now();
    let changed: number;
    if (!tags) {
      const failed = await app.publish(blog, 'A new post', { tags: ['topic-3'] });
      if (failed) throw failed;
      changed = before.length; // a host purge empties the blog
    } else {
      await app.publish(blog, 'A new post', { tags: ['topic-3'], purge: false });
      const what = changedBy(blog);
      const queue = await openJobQueue({ dir: join(dir, 'jobs') });
      const manifest = await FileManifest.open(join(dir, 'manifest'));
      const worker = startWorker({ queue, root: join(dir, 'root'), manifest, edges: edges.map((e) => ({ admin: `http://127.0.0.1:${e.admin!.address!.port}`, token: TOKEN })) });
      await worker.started;
      const publisher = createPublisher({ queue, scheme: 'http', softPurge: () => ({ tag: what.keys }) });
      const { id } = await publisher.publish({ blogID: blog.id, hosts: [host], changed: { pages: what.pages, tags: what.tags } });
      let job = await queue.get(id);
      while (job?.state !== 'done' && job?.state !== 'failed') {
        await new Promise((r) => setTimeout(r, 10));
        job = await queue.get(id);
      }
      if (job.state !== 'done') throw new Error(`publish job failed: ${job.error}`);
      changed = 1 + what.pages.length + what.tags.length + 1; // '/', the pages, tag pages, the feed
      await worker.stop();
      await queue.close();
      await manifest.close();
    }
    const publishMs = performance.now() - started;
    const publishOriginRequests = app.seen.length - seen;

    // Readers come: every page of the blog, on both edges.
    seen = app.seen.length;
    const after = app.pagesOf(blog);
    const read = await readAll(after);
    const readerOriginRequests = app.seen.length - seen;
    // What the app serves now, asked directly: a page an edge served otherwise is stale.
    let stalePages = 0;
    await pool(after, 16, async (p) => {
      const fresh = (await get(`${app.url}${p}`, { host })).text.replace(/<!--.*?-->/g, '');
      for (const u of urls) if (read.bodies.get(`${u}${p}`)!.replace(/<!--.*?-->/g, '') !== fresh) stalePages++;
    });
    ctx.log(`${variant}: ${publishOriginRequests} origin requests during the publish (${fmt(publishMs)} ms), ${read.misses} reader misses, ${readerOriginRequests} origin requests by readers, ${stalePages} stale pages served`);
    return { variant, pagesBefore: before.length, pagesAfter: after.length, changed, publishOriginRequests, readerMisses: read.misses, readerOriginRequests, stalePages, publishMs };
  } finally {
    for (const e of edges) await e.stop(0);
    await app.close();
    await bucket.close();
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
}

export const blotPublish: Scenario = {
  name: 'blot-publish',
  description: `one publish on a ${POSTS + 60}-page blog behind two edges: host purge (blot.yaml) vs tag purge + warm (blot-tags.yaml)`,
  async run(ctx: BenchContext) {
    const redis = await startRedis();
    process.env.BLOTCDN_PURGE_TOKEN = SECRET;
    process.env.BLOTCDN_ADMIN_TOKEN = TOKEN;
    try {
      const out: Outcome[] = [];
      for (const variant of ['host purge', 'tag purge + warm'] as Variant[]) out.push(await measure(variant, redis.url, ctx));
      const row = (o: Outcome) => [o.variant, String(o.changed), String(o.publishOriginRequests), String(o.readerMisses), String(o.readerOriginRequests), String(o.publishOriginRequests + o.readerOriginRequests), String(o.stalePages), fmt(o.publishMs)];
      return {
        title: `Blot: one publish on a ${out[0]!.pagesBefore}-page blog, two edges`,
        table: [['', 'pages purged', 'origin requests during the publish', 'reader misses', 'origin requests by readers', 'origin requests in all', 'stale pages served', 'publish done on both edges (ms)'], ...out.map(row)],
        notes: [
          `${POSTS} posts, 10 an index page, ${TAGS} tags, feed, archive: ${out[0]!.pagesBefore} pages before the post, ${out[0]!.pagesAfter} after; readers then read every page once on each edge (plain HTTP, one host)`,
          'host purge: the app\'s GET /purge?host= (its purge client) on both edges; tag purge + warm: blotcdn/origin soft-purges the post\'s Surrogate-Keys (list, the older neighbour, its tag) and purges and warms the index pages, the archive, the post, its neighbour, its tag page and the feed',
          'stale pages served: pages an edge served that differ from what the app serves after the publish',
        ],
        data: out,
      };
    } finally {
      delete process.env.BLOTCDN_PURGE_TOKEN;
      delete process.env.BLOTCDN_ADMIN_TOKEN;
      await redis.stop();
    }
  },
};
