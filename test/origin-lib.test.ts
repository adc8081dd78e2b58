// `blotcdn/origin` from the origin app's side: importing it loads nothing of the edge, and the
// whole round trip — publish at sync time, render a page with permanent URLs, change a file, keep
// the old URL working, collect it after the grace period — seen through the files a folder origin
// would serve, with two app servers sharing one manifest folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import Mustache from 'mustache';
import { FileManifest, cacheIdOf, collect, createAssets, publish } from '../src/origin-lib/index.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LIB = join(ROOT, 'src/origin-lib/');
const BLOG = 'blog_0123456789abcdef0123456789abcdef';

// A module-resolution hook records every module the probe loads (ESM imports, TypeScript files
// through tsx included); require.cache adds anything loaded as CommonJS.
const HOOKS = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.PROBE_LOG, result.url + '\\n');
  return result;
}`;
const PROBE = `
import { register, createRequire } from 'node:module';
register(new URL('./hooks.mjs', import.meta.url));
for (const target of process.env.PROBE_TARGETS.split(' ')) await import(target);
const lib = await import(process.env.PROBE_TARGETS.split(' ')[0]);
const dir = process.env.PROBE_DIR + '/manifest';
const manifest = await lib.FileManifest.open(dir);
await lib.publish({ root: process.env.PROBE_DIR + '/root', manifest }, '${BLOG}', 'a.css', Buffer.from('a'));
lib.createAssets({ cdnHost: 'cdn.blot.im', manifest }).assetUrl('${BLOG}', 'a.css');
// The publish call of the origin app, through the embedded queue: no sharp, no BullMQ, no HTTP.
const queue = await lib.openJobQueue({ dir: process.env.PROBE_DIR + '/jobs' });
await lib.createPublisher({ queue }).publish({ blogID: '${BLOG}', hosts: ['a.blot.im'], changed: { pages: ['/p'], assets: [{ path: 'i.jpg', file: '/nonexistent/i.jpg' }] } });
await queue.close();
await manifest.close();
process.stdout.write(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;

async function modulesLoadedBy(targets: string[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'import-probe-'));
  try {
    await writeFile(join(dir, 'hooks.mjs'), HOOKS);
    await writeFile(join(dir, 'probe.mjs'), PROBE);
    const log = join(dir, 'modules.log');
    await writeFile(log, '');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(dir, 'probe.mjs')], {
      cwd: ROOT,
      env: { ...process.env, PROBE_LOG: log, PROBE_DIR: dir, PROBE_TARGETS: targets.join(' ') },
    });
    const esm = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    const cjs = (JSON.parse(stdout) as string[]).map((p) => pathToFileURL(p).href);
    // tsx and esbuild are the test's TypeScript loader (production imports dist/*.js), not the library's.
    const loader = /\/node_modules\/(tsx|esbuild)\//;
    return [...new Set([...esm, ...cjs])].filter((u) => !u.startsWith(pathToFileURL(dir).href) && !loader.test(u));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('importing blotcdn/origin (and using it) loads only Node built-ins and src/origin-lib', async () => {
  const modules = await modulesLoadedBy([pathToFileURL(join(LIB, 'index.ts')).href]);
  const outside = modules.filter((u) => !u.startsWith('node:') && !u.startsWith(pathToFileURL(LIB).href));
  assert.deepEqual(outside, [], `loaded from outside src/origin-lib: ${outside.slice(0, 5).join(', ')}`);
  assert.ok(modules.some((u) => u.endsWith('/src/origin-lib/file-manifest.ts')), 'the probe saw the library itself');
  assert.ok(!modules.some((u) => u.includes('ioredis')), 'ioredis is loaded only by RedisManifest.open');
  assert.ok(modules.some((u) => u.endsWith('/src/origin-lib/jobs/journal-queue.ts')), 'the probe published through the journal queue');
});

test('the probe does see a dependency when one is loaded (control)', async () => {
  const undici = pathToFileURL(join(ROOT, 'node_modules/undici/index.js')).href;
  const modules = await modulesLoadedBy([pathToFileURL(join(LIB, 'index.ts')).href, undici]);
  assert.ok(modules.some((u) => u.includes('/node_modules/undici/')), modules.join('\n'));
});

// What a FolderOrigin serving {root} would read for an asset URL: the decoded path under the root.
function fileFor(root: string, url: string): { file: string; cacheID: string } {
  const parsed = new URL(url);
  assert.equal(parsed.protocol, 'https:');
  assert.equal(parsed.host, 'cdn.blot.im');
  const [, blogID, cacheID, ...rest] = parsed.pathname.split('/').map(decodeURIComponent);
  return { file: join(root, blogID!, cacheID!, ...rest), cacheID: cacheID! };
}

test('publish, render, change, old URL kept, second app server agrees, collected after the grace period', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'origin-lib-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, 'assets');
  const app1 = await FileManifest.open(join(dir, 'manifest'));
  const app2 = await FileManifest.open(join(dir, 'manifest'));
  t.after(() => Promise.all([app1.close(), app2.close()]));

  // Sync time, on app server 1.
  const files: Record<string, Buffer> = {
    'templates/blog/style.css': Buffer.from('body { color: red }'),
    'templates/blog/app.js': Buffer.from('console.log(1)'),
    '_posts/photos/Sunset at the café.jpg': Buffer.alloc(50_000, 9),
  };
  for (const [path, bytes] of Object.entries(files)) await publish({ root, manifest: app1 }, BLOG, path, bytes);

  const template = `<!doctype html>
<link rel="stylesheet" href="{{#asset}}/templates/blog/style.css{{/asset}}">
<script src="{{#asset}}/templates/blog/app.js{{/asset}}"></script>
{{#posts}}<article><h1>{{title}}</h1><img src="{{#asset}}{{photo}}{{/asset}}"></article>{{/posts}}`;
  const view = { posts: [{ title: 'Sunset', photo: '/_posts/photos/Sunset at the café.jpg' }] };
  const render = (manifest: FileManifest) => {
    const assets = createAssets({ cdnHost: 'cdn.blot.im', manifest, missing: 'throw' });
    return Mustache.render(template, { ...view, asset: assets.mustacheLambda(BLOG) });
  };
  const urlsIn = (html: string) => [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!);

  const page = render(app1);
  const urls = urlsIn(page);
  assert.equal(urls.length, 3);
  for (const url of urls) {
    assert.match(url, /^https:\/\/cdn\.blot\.im\/blog_[0-9a-f]{32}\/[0-9a-f]{20}\/\S+$/);
    const { file, cacheID } = fileFor(root, url);
    assert.equal(cacheIdOf(await readFile(file)), cacheID, `${url} serves the bytes its cacheID names`);
  }
  assert.ok(urls[2]!.endsWith('/_posts/photos/Sunset%20at%20the%20caf%C3%A9.jpg'));

  // App server 2 shares the manifest folder and renders the same page.
  await app2.refresh();
  assert.equal(render(app2), page);

  // The stylesheet changes: a new URL on both servers; the old one still resolves to its old bytes.
  const [oldCss] = urls;
  await publish({ root, manifest: app1 }, BLOG, 'templates/blog/style.css', Buffer.from('body { color: blue }'));
  const next = urlsIn(render(app1));
  assert.notEqual(next[0], oldCss);
  assert.equal(next[1], urls[1], 'unchanged files keep their URL');
  await new Promise<void>((resolve) => {
    const check = () => urlsIn(render(app2))[0] === next[0] && (off(), resolve(), true);
    const off = app2.onChange(() => void check());
    check();
  });
  assert.equal(await readFile(fileFor(root, oldCss!).file, 'utf8'), 'body { color: red }');
  assert.equal(await readFile(fileFor(root, next[0]!).file, 'utf8'), 'body { color: blue }');

  // Within the grace period nothing goes; after it, only the replaced version does.
  const day = 86_400_000;
  assert.deepEqual((await collect({ root, manifest: app2, olderThanMs: day })).removed, []);
  const collected = await collect({ root, manifest: app2, olderThanMs: day, now: Date.now() + 2 * day });
  assert.equal(collected.removed.length, 1);
  await assert.rejects(stat(fileFor(root, oldCss!).file), { code: 'ENOENT' });
  for (const url of urlsIn(render(app1))) await stat(fileFor(root, url).file);
});
