import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileManifest } from './file-manifest.js';
import { cacheIdOf } from './cache-id.js';
import type { ManifestChange } from './manifest.js';

const BLOG = 'blog_0123456789abcdef0123456789abcdef';
const GUID = '6f1c2a9e-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
const blogN = (n: number) => `blog_${n.toString(16).padStart(32, '0')}`;
const idN = (n: number) => n.toString(16).padStart(20, '0');

async function folder(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'file-manifest-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function changed(manifest: FileManifest, test: () => boolean, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (test()) return resolve();
    const timer = setTimeout(() => (off(), reject(new Error('no change seen'))), ms);
    const off = manifest.onChange(() => test() && (clearTimeout(timer), off(), resolve()));
  });
}

test('updates persist: a new instance loads them, from the journal and after compaction', async (t) => {
  const dir = await folder(t);
  const a = await FileManifest.open(dir);
  const css = await a.update(BLOG, '/style.css', Buffer.from('body{}'));
  assert.equal(css, cacheIdOf(Buffer.from('body{}')));
  assert.equal(a.get(BLOG, 'style.css'), css, 'visible as soon as update() resolves');
  await a.update(BLOG, 'js/app.js', Buffer.from('app()'));
  await a.update(GUID.toUpperCase(), 'x.css', Buffer.from('x'));
  await a.update(BLOG, 'gone.css', Buffer.from('gone'));
  await a.remove(BLOG, '/gone.css');
  await a.set(blogN(7), 'a.css', idN(1));
  await a.removeBlog(blogN(7));
  const expected = [...a.entries(BLOG)!];
  await a.close();

  const b = await FileManifest.open(dir);
  assert.deepEqual([...b.entries(BLOG)!], expected);
  assert.equal(b.get(GUID, 'x.css'), cacheIdOf(Buffer.from('x')));
  assert.equal(b.get(BLOG, 'gone.css'), undefined);
  assert.equal(b.entries(blogN(7)), undefined);
  assert.deepEqual(b.blogIDs().sort(), [BLOG, GUID].sort());
  assert.equal(await b.compact(), true);
  assert.equal(b.sizes.generation, 1);
  assert.equal(b.sizes.journalBytes, 0);
  await b.update(BLOG, 'after.css', Buffer.from('after'));
  await b.close();

  const c = await FileManifest.open(dir);
  assert.deepEqual([...c.entries(BLOG)!], [...expected, ['after.css', cacheIdOf(Buffer.from('after'))]]);
  await c.close();
});

test('a file is hashed by streaming it', async (t) => {
  const dir = await folder(t);
  const file = join(dir, 'photo.jpg');
  await writeFile(file, Buffer.alloc(1_000_000, 7));
  const m = await FileManifest.open(join(dir, 'manifest'));
  assert.equal(await m.update(BLOG, 'photo.jpg', { file }), cacheIdOf(Buffer.alloc(1_000_000, 7)));
  await m.close();
});

test('many parallel updates on one blog: none lost, batched into few journal writes', async (t) => {
  const dir = await folder(t);
  const m = await FileManifest.open(dir);
  const ids = await Promise.all(Array.from({ length: 1000 }, (_, i) => m.update(BLOG, `posts/${i}.jpg`, Buffer.from(`photo ${i}`))));
  assert.equal(m.entries(BLOG)!.size, 1000);
  ids.forEach((id, i) => assert.equal(m.get(BLOG, `posts/${i}.jpg`), id));
  const batches = (await readFile(join(dir, 'journal.0'), 'utf8')).split('\n').filter((l) => l === '').length - 1;
  assert.ok(batches < 1000, `${batches} journal writes for 1000 updates`);
  await m.close();
  const reloaded = await FileManifest.open(dir);
  assert.equal(reloaded.entries(BLOG)!.size, 1000);
  await reloaded.close();
});

test('two instances on one folder: each sees the other (watch), parallel updates and compactions lose nothing', async (t) => {
  const dir = await folder(t);
  const a = await FileManifest.open(dir, { compactBytes: 4096 });
  const b = await FileManifest.open(dir, { compactBytes: 4096 });
  await a.update(BLOG, 'from-a.css', Buffer.from('a'));
  await changed(b, () => b.get(BLOG, 'from-a.css') !== undefined);

  const writes = (m: FileManifest, who: string) =>
    Promise.all(Array.from({ length: 300 }, (_, i) => m.set(BLOG, `${who}/${i}.css`, idN(i + 1))));
  await Promise.all([writes(a, 'a'), writes(b, 'b'), a.compact(), b.compact()]);
  await Promise.all([a.refresh(), b.refresh()]);
  for (const m of [a, b]) {
    assert.equal(m.entries(BLOG)!.size, 601);
    for (let i = 0; i < 300; i++) assert.equal(m.lookup(BLOG, `b/${i}.css`), idN(i + 1));
  }
  assert.ok(a.sizes.generation > 0, 'compactions happened meanwhile');
  await Promise.all([a.close(), b.close()]);
  const c = await FileManifest.open(dir);
  assert.equal(c.entries(BLOG)!.size, 601);
  await c.close();
});

test('two processes on one folder: concurrent updates with compactions lose nothing', async (t) => {
  const dir = await folder(t);
  const lib = fileURLToPath(new URL('./file-manifest.ts', import.meta.url));
  const worker = (who: string) =>
    new Promise<void>((resolve, reject) => {
      const code = `
        const { FileManifest } = await import(${JSON.stringify(lib)});
        const m = await FileManifest.open(${JSON.stringify(dir)}, { compactBytes: 8192 });
        for (let round = 0; round < 10; round++) {
          await Promise.all(Array.from({ length: 40 }, (_, i) => m.set('${BLOG}', '${who}/' + (round * 40 + i) + '.css', (round * 40 + i + 1).toString(16).padStart(20, '0'))));
        }
        await m.close();`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('exit', (status) => (status === 0 ? resolve() : reject(new Error(`worker ${who} exited ${status}`))));
    });
  await Promise.all([worker('p1'), worker('p2')]);
  const m = await FileManifest.open(dir);
  assert.equal(m.entries(BLOG)!.size, 800);
  for (let i = 0; i < 400; i++) {
    assert.equal(m.lookup(BLOG, `p1/${i}.css`), idN(i + 1));
    assert.equal(m.lookup(BLOG, `p2/${i}.css`), idN(i + 1));
  }
  assert.ok(m.sizes.generation > 1, `compactions ran (generation ${m.sizes.generation})`);
  await m.close();
});

test('tens of thousands of blogs: 20,000 × 5 assets load in one read and are decoded lazily', async (t) => {
  const dir = await folder(t);
  const writer = await FileManifest.open(dir, { watch: false });
  const changes: ManifestChange[] = [];
  for (let b = 0; b < 20_000; b++) for (let i = 0; i < 5; i++) changes.push({ blogID: blogN(b), path: `templates/t${b % 5}/a${i}.css`, cacheID: idN(b * 5 + i) });
  for (let i = 0; i < changes.length; i += 10_000) await writer.apply(changes.slice(i, i + 10_000));
  await writer.compact();
  await writer.close();

  const started = performance.now();
  const m = await FileManifest.open(dir, { watch: false });
  const ms = performance.now() - started;
  assert.equal(m.blogCount, 20_000);
  // What makes the load cheap, checked as a property (its time is a figure, not an assertion: the
  // machine may be busy): a blog stays the raw bytes of its snapshot line until it is looked up.
  const held = (m as unknown as { blogs: Map<string, unknown> }).blogs;
  assert.ok([...held.values()].every((blog) => Buffer.isBuffer(blog)), 'no blog is decoded at load');
  for (const b of [0, 1, 9_999, 19_999]) assert.equal(m.lookup(blogN(b), `templates/t${b % 5}/a3.css`), idN(b * 5 + 3));
  assert.ok(held.get(blogN(1)) instanceof Map, 'a blog looked up is decoded (once)');
  assert.ok(Buffer.isBuffer(held.get(blogN(2))), 'the others stay raw');
  t.diagnostic(`20,000 blogs × 5 assets loaded in ${ms.toFixed(0)} ms`);
  await m.close();
});

test('a torn journal line left by a crashed writer loses nothing written after it', async (t) => {
  const dir = await folder(t);
  const a = await FileManifest.open(dir, { watch: false });
  await a.set(BLOG, 'one.css', idN(1));
  await appendFile(join(dir, 'journal.0'), `S\t${BLOG}\ttorn.c`);
  await a.set(BLOG, 'two.css', idN(2));
  assert.deepEqual([...a.entries(BLOG)!.keys()], ['one.css', 'two.css']);
  await a.close();
  const b = await FileManifest.open(dir, { watch: false });
  assert.deepEqual([...b.entries(BLOG)!.keys()], ['one.css', 'two.css']);
  await b.close();
});

test('compaction: a live lock makes it skip, a stale one (its holder died) is taken over', async (t) => {
  const dir = await folder(t);
  const m = await FileManifest.open(dir, { watch: false, staleLockMs: 10_000 });
  await m.set(BLOG, 'a.css', idN(1));
  await writeFile(join(dir, 'compact.lock'), 'another process');
  assert.equal(await m.compact(), false);
  const old = new Date(Date.now() - 60_000);
  await utimes(join(dir, 'compact.lock'), old, old);
  assert.equal(await m.compact(), true);
  assert.equal(m.lookup(BLOG, 'a.css'), idN(1));
  await m.close();
});

test('invalid input is refused before anything is written; a closed manifest refuses changes', async (t) => {
  const dir = await folder(t);
  const m = await FileManifest.open(dir, { watch: false });
  await assert.rejects(m.update('blog_nope', 'a.css', Buffer.from('a')), { code: 'invalid_blog_id' });
  await assert.rejects(m.set(BLOG, '../a.css', idN(1)), { code: 'invalid_path' });
  await assert.rejects(m.set(BLOG, 'a.css', 'NOT-A-CACHE-ID'), { code: 'invalid_cache_id' });
  await assert.rejects(m.apply([{ blogID: BLOG, path: 'ok.css', cacheID: idN(1) }, { blogID: BLOG, path: '', cacheID: idN(1) }]), { code: 'invalid_path' });
  assert.equal(m.blogCount, 0);
  await m.close();
  await assert.rejects(m.set(BLOG, 'a.css', idN(1)), { code: 'manifest_unavailable' });
});
