// The configs the project ships must stay true: each example passes `blotcdn check-config`, the
// README's sample validates, and examples/blot.yaml — run with test servers in place of Blot's
// (its listeners, Redis, bucket and app swapped, nothing else) — routes the platform as it says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Redis } from 'ioredis';
import { validateConfig } from '../src/config/load.js';
import { Edge } from '../src/edge.js';
import { ROOT, runCliToEnd } from './helpers/cli.js';
import { startOrigin } from './helpers/origin.js';
import { startRedis } from './helpers/redis.js';
import { startS3Server } from './helpers/s3-server.js';
import { blotExample } from './helpers/blot-example.js';
import { get, request } from './helpers/client.js';

test('every example passes blotcdn check-config', async () => {
  const files = (await readdir(join(ROOT, 'examples'))).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(files.includes('blot.yaml'));
  for (const f of files) {
    const r = await runCliToEnd(['check-config', join(ROOT, 'examples', f)]);
    assert.equal(r.code, 0, `${f}: ${r.output}`);
    assert.match(r.output, /: ok — /);
  }
});

test("the README's sample config validates", async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
  assert.doesNotThrow(() => validateConfig(parseYaml(block), 'README.md'));
});

test('examples/blot.yaml routes the platform as it says', async (t) => {
  const BLOG = 'blog_0123456789abcdef0123456789abcdef';
  const redis = await startRedis();
  const client = new Redis(redis.url);
  await client.set('domain:www.example.com', BLOG);
  client.disconnect();
  const bucket = await startS3Server({ bucket: 'blot-cdn-assets', missingAs403: true });
  await bucket.put(`${BLOG}/_avatars/me.png`, 'avatar from the bucket', { 'content-type': 'image/png' });
  const app = await startOrigin((req, res) => {
    // The host name only: the edge sends its listener's (free, non-default) port with it.
    const body = `app: ${req.headers.host?.replace(/:\d+$/, '')}${req.url}`;
    res.writeHead(200, { 'content-type': req.url!.endsWith('.png') ? 'image/png' : 'text/html', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });

  // The shipped file, with only the addresses of Blot's servers swapped for the test ones (no TLS here).
  process.env.BLOTCDN_PURGE_TOKEN = 'example-purge-secret';
  const config = await blotExample('blot.yaml', {
    nodeId: 'edge-test', redisUrl: redis.url, appUrl: app.url, bucketEndpoint: bucket.endpoint,
    diskDir: await mkdtemp(join(tmpdir(), 'blotcdn-blot-example-')), http: '127.0.0.1:0',
  });
  const edge = new Edge(config);
  await edge.start();
  const url = `http://127.0.0.1:${edge.httpAddresses[0]!.port}`;
  const purgeUrl = `http://127.0.0.1:${edge.admin!.purgeAddresses[0]!.port}`;
  t.after(async () => {
    delete process.env.BLOTCDN_PURGE_TOKEN;
    await edge.stop();
    await Promise.all([app.close(), bucket.close(), redis.stop()]);
  });
  const cs = (r: { headers: Record<string, unknown> }) => String(r.headers['cache-status']);

  // cdn.blot.im: generated assets from the bucket, else the app; a year, immutable, CORS.
  const avatar = await get(`${url}/${BLOG}/_avatars/me.png`, { host: 'cdn.blot.im' });
  assert.equal(avatar.text, 'avatar from the bucket');
  assert.equal(avatar.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(avatar.headers['access-control-allow-origin'], '*');
  const thumb = await get(`${url}/${BLOG}/_thumbnails/t.png`, { host: 'cdn.blot.im' });
  assert.equal(thumb.text, `app: cdn.blot.im/${BLOG}/_thumbnails/t.png`, 'not in the bucket: from the app');
  assert.equal(thumb.headers['x-served-by-origin'], 'blot');
  assert.match(cs(await get(`${url}/${BLOG}/_thumbnails/t.png`, { host: 'cdn.blot.im' })), /^blotcdn; hit; ttl=3153/);
  assert.equal(cs(await get(`${url}/health`, { host: 'cdn.blot.im' })), 'blotcdn; fwd=bypass');

  // Previews and the platform's own site are never cached; nor are draft streams.
  for (let i = 0; i < 2; i++) assert.equal(cs(await get(`${url}/`, { host: 'preview-diary-alice.blot.im' })), 'blotcdn; fwd=bypass');
  for (let i = 0; i < 2; i++) assert.equal(cs(await get(`${url}/sign-in`, { host: 'blot.im' })), 'blotcdn; fwd=bypass');
  assert.equal(cs(await get(`${url}/draft/stream/post.txt`, { host: 'alice.blot.im' })), 'blotcdn; fwd=bypass');

  // Blogs: HTML kept a year whatever the app says; custom domains from Redis; others refused; scanners answered here.
  await get(`${url}/`, { host: 'alice.blot.im' });
  assert.match(cs(await get(`${url}/`, { host: 'alice.blot.im' })), /^blotcdn; hit; ttl=315[0-9]{5}$/);
  const custom = await get(`${url}/about`, { host: 'www.example.com' });
  assert.equal(custom.text, 'app: www.example.com/about');
  assert.equal((await get(`${url}/`, { host: 'not-on-the-list.com' })).status, 421);
  assert.equal((await get(`${url}/wp-admin/install.php`, { host: 'alice.blot.im' })).status, 404);
  assert.equal(app.requests.filter((r) => r.url.startsWith('/wp-admin')).length, 0);

  // The app's own purge call, on the purge listener: its secret, one line per host (the www twin included).
  await get(`${url}/about`, { host: 'www.example.com' });
  const purge = await request(`${purgeUrl}/purge?host=example.com`, { headers: { 'x-blot-purge-token': 'example-purge-secret' } });
  assert.equal(purge.text, 'example.com: 1\n');
  assert.doesNotMatch(cs(await get(`${url}/about`, { host: 'www.example.com' })), /^blotcdn; hit/);
  assert.match(cs(await get(`${url}/about`, { host: 'www.example.com' })), /^blotcdn; hit/);
  // A host purge of the CDN host leaves the immutable assets alone.
  const cdnPurge = await request(`${purgeUrl}/purge?host=cdn.blot.im`, { headers: { 'x-blot-purge-token': 'example-purge-secret' } });
  assert.equal(cdnPurge.text, 'cdn.blot.im: 0\n');
  assert.equal((await request(`${purgeUrl}/stats`)).status, 404, 'the purge listener answers nothing else');
});

test('examples/publish.mjs publishes the demo images through the queue and prints each generated file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'example-publish-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { default: sharp } = await import('sharp');
  const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'examples/publish.mjs'), '--root', dir], { cwd: ROOT });
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const last = lines.pop()!;
  assert.deepEqual(Object.keys(last), ['publishMs']);
  assert.ok(typeof last.publishMs === 'number' && last.publishMs > 0);
  const images = new Set(lines.map((l) => /_thumbnails\/images\/([^/]+)\//.exec(String(l.path))?.[1]));
  assert.ok(images.size >= 3, `thumbnails of at least three images: ${[...images].join(', ')}`);
  assert.ok(lines.some((l) => l.format === 'webp'));
  for (const line of lines) {
    assert.deepEqual(Object.keys(line), ['path', 'width', 'height', 'format']);
    const meta = await sharp(join(dir, String(line.path))).metadata();
    assert.deepEqual([meta.width, meta.height, meta.format === 'heif' ? 'avif' : meta.format], [line.width, line.height, line.format], String(line.path));
  }
});
