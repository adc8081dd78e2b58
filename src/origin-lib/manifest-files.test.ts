import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestFiles } from './manifest-files.js';
import { encodeJournal, encodeSnapshot } from './manifest-format.js';
import { blogOf } from './manifest.js';

const BLOG = 'blog_0123456789abcdef0123456789abcdef';
const idN = (n: number) => n.toString(16).padStart(20, '0');
const set = (path: string, n: number) => encodeJournal([{ blogID: BLOG, path, cacheID: idN(n) }]);

async function folder(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'manifest-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function paths(files: ManifestFiles): Promise<string[]> {
  const state = await files.load();
  return [...(blogOf(state.blogs, BLOG)?.keys() ?? [])].sort();
}

test('an append that raced a whole compaction is written again into the new journal', async (t) => {
  const dir = await folder(t);
  const writer = new ManifestFiles(dir);
  const compactor = new ManifestFiles(dir);
  await writer.init();
  await writer.append(set('before.css', 1));

  // The writer reads CURRENT (generation 0), then — before its bytes land — another process runs
  // a complete compaction, which removes journal.0. The write lands in a journal nobody reads any
  // more; the re-check of CURRENT must catch that.
  const currentGen = writer.currentGen.bind(writer);
  let paused = false;
  writer.currentGen = async () => {
    const gen = await currentGen();
    if (!paused) {
      paused = true;
      assert.equal(await compactor.compact(), true);
    }
    return gen;
  };
  await writer.append(set('raced.css', 2));
  assert.deepEqual(await paths(compactor), ['before.css', 'raced.css']);
  assert.equal((await compactor.load()).gen, 1);
});

test('load: the state while a compaction is half done (CURRENT moved, snapshot not yet written)', async (t) => {
  const dir = await folder(t);
  const files = new ManifestFiles(dir);
  await files.init();
  await writeFile(join(dir, 'journal.0'), set('zero.css', 1));
  await writeFile(join(dir, 'CURRENT'), '1\n');
  await writeFile(join(dir, 'journal.1'), set('one.css', 2));
  assert.deepEqual(await paths(files), ['one.css', 'zero.css']);

  // Then the snapshot lands and the old files go: the same state, read differently.
  await writeFile(join(dir, 'snapshot.1'), Buffer.concat([...encodeSnapshot(new Map([[BLOG, new Map([['zero.css', idN(1)]])]]))]));
  await rm(join(dir, 'journal.0'));
  assert.deepEqual(await paths(files), ['one.css', 'zero.css']);
});

test('load: journals are replayed in generation order on top of the newest snapshot', async (t) => {
  const dir = await folder(t);
  const files = new ManifestFiles(dir);
  await files.init();
  await writeFile(join(dir, 'snapshot.3'), Buffer.concat([...encodeSnapshot(new Map([[BLOG, new Map([['a.css', idN(1)], ['b.css', idN(1)]])]]))]));
  await writeFile(join(dir, 'journal.2'), set('stale.css', 9)); // older than the snapshot: ignored
  await writeFile(join(dir, 'journal.3'), Buffer.concat([set('a.css', 2), encodeJournal([{ blogID: BLOG, path: 'b.css', cacheID: null }])]));
  await writeFile(join(dir, 'journal.4'), set('a.css', 3));
  await writeFile(join(dir, 'CURRENT'), '4\n');
  const state = await files.load();
  assert.deepEqual([...blogOf(state.blogs, BLOG)!], [['a.css', idN(3)]]);
  assert.equal(state.gen, 4);
});

test('compaction leaves one snapshot and no journal behind, and new appends go to the new journal', async (t) => {
  const dir = await folder(t);
  const files = new ManifestFiles(dir);
  await files.init();
  for (let i = 0; i < 50; i++) await files.append(set(`${i}.css`, i + 1));
  assert.equal(await files.compact(), true);
  await files.append(set('late.css', 99));
  assert.deepEqual((await readdir(dir)).sort(), ['CURRENT', 'journal.1', 'snapshot.1']);
  assert.equal((await paths(files)).length, 51);
});
