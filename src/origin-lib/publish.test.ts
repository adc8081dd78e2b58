import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publish, unpublish, versionFile, TEMP_FOLDER } from './publish.js';
import { collect } from './collect.js';
import { MemoryManifest } from './manifest.js';
import { cacheIdOf } from './cache-id.js';

const BLOG = 'blog_0123456789abcdef0123456789abcdef';
const HOUR = 3_600_000;

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const root = await mkdtemp(join(tmpdir(), 'publish-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return { root, manifest: new MemoryManifest() };
}

/** Sets a file's times as if it had been written (or last touched) `ms` ago. */
async function age(file: string, ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  await utimes(file, then, then);
}

test('publish writes {root}/{blogID}/{cacheID}/{path} once and points the manifest at it', async (t) => {
  const store = await setup(t);
  const bytes = Buffer.from('body { color: red }');
  const result = await publish(store, BLOG, '/templates/foo/style.css', bytes);
  assert.equal(result.cacheID, cacheIdOf(bytes));
  assert.equal(result.file, join(store.root, BLOG, result.cacheID, 'templates', 'foo', 'style.css'));
  assert.equal(result.written, true);
  assert.deepEqual(await readFile(result.file), bytes);
  assert.equal(store.manifest.get(BLOG, 'templates/foo/style.css'), result.cacheID);
  assert.deepEqual(await readdir(join(store.root, TEMP_FOLDER)), [], 'no temporary file left');
});

test('publishing the same content again is a no-op: nothing written, same file', async (t) => {
  const store = await setup(t);
  const first = await publish(store, BLOG, 'a.css', Buffer.from('a'));
  const before = await stat(first.file);
  const again = await publish(store, BLOG, '/a.css', Buffer.from('a'));
  assert.equal(again.written, false);
  assert.equal(again.previous, undefined);
  const after = await stat(first.file);
  assert.equal(after.ino, before.ino);
  assert.equal(after.mtimeMs, before.mtimeMs);
});

test('a file is streamed into place under the hash of what was copied', async (t) => {
  const store = await setup(t);
  const source = join(store.root, 'source.bin');
  const bytes = Buffer.alloc(2_000_000, 3);
  await writeFile(source, bytes);
  const result = await publish(store, BLOG, 'images/big photo.jpg', { file: source });
  assert.equal(result.cacheID, cacheIdOf(bytes));
  assert.deepEqual(await readFile(versionFile(store.root, BLOG, result.cacheID, 'images/big photo.jpg')), bytes);
});

test('a changed file gets a new URL; the old version stays on disk for pages that still link to it', async (t) => {
  const store = await setup(t);
  const v1 = await publish(store, BLOG, 'style.css', Buffer.from('v1'));
  const v2 = await publish(store, BLOG, 'style.css', Buffer.from('v2'));
  assert.notEqual(v2.cacheID, v1.cacheID);
  assert.equal(v2.previous, v1.cacheID);
  assert.equal(store.manifest.get(BLOG, 'style.css'), v2.cacheID);
  assert.equal(await readFile(v1.file, 'utf8'), 'v1');
  assert.equal(await readFile(v2.file, 'utf8'), 'v2');
});

test('collect removes old versions only after the grace period, never the current one', async (t) => {
  const store = await setup(t);
  const v1 = await publish(store, BLOG, 'style.css', Buffer.from('v1'));
  const v2 = await publish(store, BLOG, 'style.css', Buffer.from('v2'));
  await age(v2.file, 48 * HOUR); // the current version is old on disk: that must not matter

  const early = await collect({ ...store, olderThanMs: HOUR });
  assert.deepEqual(early, { removed: [], waiting: 1, current: 1, bytes: 0 });

  const later = await collect({ ...store, olderThanMs: HOUR, now: Date.now() + 2 * HOUR });
  assert.deepEqual(later.removed, [`${BLOG}/${v1.cacheID}/style.css`]);
  await assert.rejects(stat(join(store.root, BLOG, v1.cacheID)), { code: 'ENOENT' }, 'the empty version folder went too');
  assert.equal(await readFile(v2.file, 'utf8'), 'v2');

  const everything = await collect({ ...store, olderThanMs: 0, now: Date.now() + 1000 * HOUR });
  assert.deepEqual(everything.removed, []);
  assert.equal(await readFile(v2.file, 'utf8'), 'v2');
});

test('the grace period runs from when a version stopped being current, not from when it was written', async (t) => {
  const store = await setup(t);
  const v1 = await publish(store, BLOG, 'style.css', Buffer.from('v1'));
  await age(v1.file, 100 * HOUR); // current for a long time…
  const v2 = await publish(store, BLOG, 'style.css', Buffer.from('v2')); // …replaced just now
  assert.ok(Date.now() - (await stat(v1.file)).mtimeMs < HOUR, 'the replaced version is touched');
  await age(v2.file, 100 * HOUR); // even if the current file looks old, v1's own time says "just replaced"
  const result = await collect({ ...store, olderThanMs: HOUR });
  assert.deepEqual(result.removed, []);
  assert.equal(result.waiting, 1);
});

test('going back to an old version makes it current again (and restarts its clock)', async (t) => {
  const store = await setup(t);
  const v1 = await publish(store, BLOG, 'style.css', Buffer.from('v1'));
  await publish(store, BLOG, 'style.css', Buffer.from('v2'));
  await age(v1.file, 100 * HOUR);
  const back = await publish(store, BLOG, 'style.css', Buffer.from('v1'));
  assert.equal(back.written, false);
  assert.equal(back.cacheID, v1.cacheID);
  assert.ok(Date.now() - (await stat(v1.file)).mtimeMs < HOUR, 'touched');
  const result = await collect({ ...store, olderThanMs: HOUR });
  assert.equal(result.current, 1);
  assert.deepEqual(result.removed, []);
});

test('unpublish: the URL falls out of the manifest, the file follows after the grace period', async (t) => {
  const store = await setup(t);
  const v1 = await publish(store, BLOG, 'old.css', Buffer.from('old'));
  await unpublish(store, BLOG, 'old.css');
  assert.equal(store.manifest.get(BLOG, 'old.css'), undefined);
  await publish(store, BLOG, 'keep.css', Buffer.from('keep')); // the blog still has entries
  assert.deepEqual((await collect({ ...store, olderThanMs: HOUR })).removed, []);
  assert.deepEqual((await collect({ ...store, olderThanMs: HOUR, now: Date.now() + 2 * HOUR })).removed, [`${BLOG}/${v1.cacheID}/old.css`]);
});

test('collect leaves the platform folders, unknown blogs and dry runs alone; clears stale temporaries', async (t) => {
  const store = await setup(t);
  const v1 = await publish(store, BLOG, 'a.css', Buffer.from('a1'));
  await publish(store, BLOG, 'a.css', Buffer.from('a2'));
  await age(v1.file, 10 * HOUR);
  const thumbnail = join(store.root, BLOG, '_thumbnails', 'x', 'small.jpg');
  await mkdir(join(thumbnail, '..'), { recursive: true });
  await writeFile(thumbnail, 'thumb');
  const other = 'blog_ffffffffffffffffffffffffffffffff';
  const orphan = versionFile(store.root, other, cacheIdOf(Buffer.from('o')), 'o.css');
  await mkdir(join(orphan, '..'), { recursive: true });
  await writeFile(orphan, 'o');
  const temp = join(store.root, TEMP_FOLDER, 'crashed-upload');
  await writeFile(temp, 'partial');
  const later = Date.now() + 2 * HOUR;

  const dry = await collect({ ...store, olderThanMs: HOUR, now: later, dryRun: true });
  assert.deepEqual(dry.removed, [`${BLOG}/${v1.cacheID}/a.css`]);
  assert.equal(await readFile(v1.file, 'utf8'), 'a1');

  const real = await collect({ ...store, olderThanMs: HOUR, now: later });
  assert.deepEqual(real.removed, [`${BLOG}/${v1.cacheID}/a.css`]);
  assert.equal(await readFile(thumbnail, 'utf8'), 'thumb');
  assert.equal(await readFile(orphan, 'utf8'), 'o', 'a blog the manifest does not know is skipped');
  await assert.rejects(stat(temp), { code: 'ENOENT' });

  const withOrphans = await collect({ ...store, olderThanMs: HOUR, now: later, orphans: true });
  assert.deepEqual(withOrphans.removed, [`${other}/${cacheIdOf(Buffer.from('o'))}/o.css`]);
});

test('publish refuses what could escape the root', async (t) => {
  const store = await setup(t);
  await assert.rejects(publish(store, BLOG, '../../etc/passwd', Buffer.from('x')), { code: 'invalid_path' });
  await assert.rejects(publish(store, '../blog', 'a.css', Buffer.from('x')), { code: 'invalid_blog_id' });
  await assert.rejects(publish(store, BLOG, 'a\\..\\b', Buffer.from('x')), { code: 'invalid_path' });
  assert.deepEqual(await readdir(store.root), []);
});

test('concurrent publishes of many files into one blog: every file on disk and in the manifest', async (t) => {
  const store = await setup(t);
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => publish(store, BLOG, `posts/${i % 50}/${i}.txt`, Buffer.from(`post ${i % 100}`))));
  for (const [i, r] of results.entries()) {
    assert.equal(store.manifest.get(BLOG, `posts/${i % 50}/${i}.txt`), r.cacheID);
    assert.equal(await readFile(r.file, 'utf8'), `post ${i % 100}`);
  }
});
