import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeJournal, encodeSnapshot, parseJournal, parseSnapshot, SNAPSHOT_HEADER } from './manifest-format.js';
import { decodeRawBlog, type Blog, type ManifestChange, type RawBlog } from './manifest.js';

const A = 'blog_0123456789abcdef0123456789abcdef';
const B = '6f1c2a9e-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
const ID1 = '0123456789abcdef0123';
const ID2 = 'fedcba9876543210fedc';

test('journal: set, remove and remove-blog records round-trip, one tab-separated line each', () => {
  const changes: ManifestChange[] = [
    { blogID: A, path: 'templates/foo/style.css', cacheID: ID1 },
    { blogID: A, path: 'café/a b.css', cacheID: ID2 },
    { blogID: A, path: 'old.css', cacheID: null },
    { blogID: B, path: null, cacheID: null },
  ];
  const bytes = encodeJournal(changes);
  assert.equal(bytes.toString(), `\nS\t${A}\ttemplates/foo/style.css\t${ID1}\nS\t${A}\tcafé/a b.css\t${ID2}\nD\t${A}\told.css\nR\t${B}\n`);
  assert.deepEqual(parseJournal(bytes), { changes, consumed: bytes.length, skipped: 0 });
});

test('journal: an unfinished last line waits; a torn line from a crash is skipped, not glued to the next', () => {
  const first = encodeJournal([{ blogID: A, path: 'a.css', cacheID: ID1 }]);
  const torn = Buffer.from(`S\t${A}\tb.cs`); // a writer died mid-line
  const next = encodeJournal([{ blogID: A, path: 'c.css', cacheID: ID2 }]);
  const waiting = parseJournal(Buffer.concat([first, torn]));
  assert.equal(waiting.consumed, first.length);
  assert.equal(waiting.changes.length, 1);
  const all = parseJournal(Buffer.concat([first, torn, next]));
  assert.deepEqual(all.changes.map((c) => c.path), ['a.css', 'c.css']);
  assert.equal(all.skipped, 1);
});

test('journal: lines that are not valid records are skipped', () => {
  const junk = Buffer.from(`S\tnot-a-blog\ta\t${ID1}\nS\t${A}\ta\tNOTHEX\nX\t${A}\nS\t${A}\t\t${ID1}\n# comment\n`);
  const read = parseJournal(junk);
  assert.equal(read.changes.length, 0);
  assert.equal(read.skipped, 5);
});

test('snapshot: written in chunks, parsed lazily (raw bytes per blog), decoded on demand', () => {
  const blogs = new Map<string, Blog | RawBlog>([
    [A, new Map([['style.css', ID1], ['café/ü.css', ID2]])],
    [B, [`x.js`, ID2]],
    ['e2a4c3c2-0000-4000-8000-000000000000', new Map()], // empty: not written
  ]);
  const bytes = Buffer.concat([...encodeSnapshot(blogs)]);
  assert.ok(bytes.toString().startsWith(SNAPSHOT_HEADER + '\n'));
  const parsed = new Map<string, Blog | RawBlog>();
  parseSnapshot(bytes, parsed);
  assert.deepEqual([...parsed.keys()], [A, B]);
  assert.ok(Buffer.isBuffer(parsed.get(A)), 'not decoded at load');
  assert.deepEqual(decodeRawBlog(parsed.get(A) as Buffer), blogs.get(A));
  assert.deepEqual([...decodeRawBlog(parsed.get(B) as Buffer)], [['x.js', ID2]]);
  // A raw blog is copied as bytes into the next snapshot.
  const again = Buffer.concat([...encodeSnapshot(parsed)]);
  assert.deepEqual(again, bytes);
});

test('snapshot: a file that is not a snapshot is refused', () => {
  assert.throws(() => parseSnapshot(Buffer.from('hello\n'), new Map()), /not a blotcdn manifest snapshot/);
});
