// One contract, every store: MemoryStore, DiskStore and TieredStore must behave the same through
// the CacheStore interface — nothing visible before commit, bodies back byte for byte (whole or by
// range), metadata updates that keep the body, deletes, listing, and a byte budget with LRU
// eviction. Then what only the disk tier promises: restarts, corrupt files, large objects.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile, truncate, stat, mkdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../src/cache/memory-store.js';
import { DiskStore } from '../src/cache/disk-store.js';
import { TieredStore } from '../src/cache/tiered-store.js';
import { trailerFor } from '../src/cache/disk-files.js';
import { waitFor } from './helpers/wait.js';
import type { CacheMeta, CacheStore, StoredObject } from '../src/cache/store.js';
import type { PurgeTarget } from '../src/cache/purge-target.js';

function meta(key: string, size: number, extra: Partial<CacheMeta> = {}): CacheMeta {
  return {
    key,
    primary: key,
    host: 'example.com',
    path: `/${key}`,
    status: 200,
    headers: ['content-type', 'text/plain'],
    size,
    vary: [],
    tags: [],
    storedAt: 1_700_000_000_000,
    responseTime: 1_700_000_000_000,
    initialAge: 0,
    lifetimeMs: 60_000,
    freshUntil: 1_700_000_060_000,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    mustRevalidate: false,
    noCache: false,
    ...extra,
  };
}

async function put(store: CacheStore, key: string, body: Buffer | string, extra: Partial<CacheMeta> = {}): Promise<boolean> {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const w = store.put(meta(key, bytes.length, extra));
  if (!w) return false;
  for (let i = 0; i < bytes.length; i += 1000) await w.write(bytes.subarray(i, i + 1000));
  return w.commit();
}

async function bodyOf(o: StoredObject, start = 0, end = o.meta.size - 1): Promise<Buffer> {
  if (o.body) return o.body.subarray(start, end + 1);
  const parts: Buffer[] = [];
  for await (const c of o.open!(start, end)) parts.push(c);
  return Buffer.concat(parts);
}

async function read(store: CacheStore, key: string): Promise<StoredObject | undefined> {
  return store.get(key);
}

interface Kind {
  name: string;
  make(budget: { maxBytes: number; maxObjectBytes: number }, dir?: string): Promise<CacheStore>;
}

const tmp = () => mkdtemp(join(tmpdir(), 'blotcdn-store-'));

const kinds: Kind[] = [
  { name: 'MemoryStore', make: async (b) => new MemoryStore(b) },
  {
    name: 'DiskStore',
    make: async (b, dir) => {
      const s = new DiskStore({ dir: dir ?? (await tmp()), maxBytes: b.maxBytes, maxObjectBytes: b.maxObjectBytes, smallObjectBytes: 4096 });
      await s.ready;
      return s;
    },
  },
  {
    name: 'TieredStore',
    make: async (b, dir) => {
      const s = new TieredStore(
        new MemoryStore({ maxBytes: b.maxBytes, maxObjectBytes: Math.min(b.maxObjectBytes, 8192) }),
        new DiskStore({ dir: dir ?? (await tmp()), maxBytes: b.maxBytes, maxObjectBytes: b.maxObjectBytes, smallObjectBytes: 4096 }),
      );
      await s.ready;
      return s;
    },
  },
];

const roomy = { maxBytes: 50_000_000, maxObjectBytes: 20_000_000 };

for (const kind of kinds) {
  describe(`CacheStore contract: ${kind.name}`, () => {
    test('an unknown key is a miss', async () => {
      const s = await kind.make(roomy);
      assert.equal(await read(s, 'nope'), undefined);
    });

    test('a committed object comes back byte for byte, with its metadata', async () => {
      const s = await kind.make(roomy);
      const body = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
      assert.equal(await put(s, 'k', body, { etag: '"v1"', tags: ['post-1'] }), true);
      const o = await read(s, 'k');
      assert.ok(o);
      assert.equal(o.meta.size, body.length);
      assert.equal(o.meta.etag, '"v1"');
      assert.deepEqual(o.meta.tags, ['post-1']);
      assert.deepEqual(o.meta.headers, ['content-type', 'text/plain']);
      assert.ok((await bodyOf(o)).equals(body));
      assert.ok((await bodyOf(o, 1234, 5678)).equals(body.subarray(1234, 5679)), 'a byte range');
    });

    test('nothing is visible before commit, and an aborted object never appears', async () => {
      const s = await kind.make(roomy);
      const w = s.put(meta('pending', 5))!;
      await w.write(Buffer.from('hello'));
      assert.equal(await read(s, 'pending'), undefined);
      w.abort();
      assert.equal(w.abandoned, true);
      assert.equal(await w.commit(), false);
      assert.equal(await read(s, 'pending'), undefined);
    });

    test('a body larger than the object limit is refused, up front or while streaming', async () => {
      const s = await kind.make({ maxBytes: 1_000_000, maxObjectBytes: 20_000 });
      assert.equal(s.put(meta('big', 30_000)), undefined);
      const w = s.put(meta('sneaky', 0))!;
      await w.write(Buffer.alloc(15_000));
      await w.write(Buffer.alloc(15_000));
      assert.equal(w.abandoned, true);
      assert.equal(await w.commit(), false);
      assert.equal(await read(s, 'sneaky'), undefined);
    });

    test('updateMeta replaces the metadata and keeps the body', async () => {
      const s = await kind.make(roomy);
      await put(s, 'm', 'the body');
      const o = (await read(s, 'm'))!;
      await s.updateMeta({ ...o.meta, etag: '"v2"', freshUntil: 42, headers: ['content-type', 'text/html'] });
      const again = (await read(s, 'm'))!;
      assert.equal(again.meta.etag, '"v2"');
      assert.equal(again.meta.freshUntil, 42);
      assert.deepEqual(again.meta.headers, ['content-type', 'text/html']);
      assert.equal((await bodyOf(again)).toString(), 'the body');
    });

    test('writing a key again replaces the object', async () => {
      const s = await kind.make(roomy);
      await put(s, 'r', 'first version');
      await put(s, 'r', 'second');
      assert.equal((await bodyOf((await read(s, 'r'))!)).toString(), 'second');
      assert.equal(s.stats().entries, 1);
    });

    test('delete removes an object; deleting what is not there says so', async () => {
      const s = await kind.make(roomy);
      await put(s, 'd', 'x');
      assert.equal(await s.delete('d'), true);
      assert.equal(await read(s, 'd'), undefined);
      assert.equal(await s.delete('d'), false);
    });

    test('purges find their objects through the index and act only on what they cover', async () => {
      const s = await kind.make(roomy);
      const T = 1_700_000_000_000;
      const m = (host: string, path: string, extra: Partial<CacheMeta> = {}): Partial<CacheMeta> => ({ host, path, primary: `https://${host}${path}`, ...extra });
      await put(s, 'https://a.test/blog/1', 'a1', m('a.test', '/blog/1', { tags: ['post-1', 'blog-a'] }));
      await put(s, 'https://a.test/blog/2', 'a2', m('a.test', '/blog/2', { tags: ['blog-a'] }));
      await put(s, 'https://a.test/about', 'ab', m('a.test', '/about'));
      await put(s, 'https://a.test/perm/x.css', 'px', m('a.test', '/perm/x.css', { immutable: true, tags: ['blog-a'] }));
      await put(s, 'https://b.test/blog/1', 'b1', m('b.test', '/blog/1', { tags: ['post-1'] }));
      await put(s, 'https://b.test/later', 'bl', m('b.test', '/later', { storedAt: T + 10_000 }));
      const there = async (...keys: string[]) => Promise.all(keys.map(async (k) => (await read(s, k)) !== undefined));
      const target = (kind: PurgeTarget['kind'], v: Partial<PurgeTarget>): PurgeTarget => ({ kind, soft: false, at: T + 1, ...v });

      assert.equal(await s.purge(target('prefix', { host: 'a.test', path: '/blog/' })), 2);
      assert.deepEqual(await there('https://a.test/blog/1', 'https://a.test/blog/2', 'https://a.test/about'), [false, false, true]);
      assert.equal(await s.purge(target('tag', { tag: 'post-1' })), 1, 'the other post-1 was purged already');
      assert.equal(await s.purge(target('tag', { tag: 'blog-a' })), 0, 'a permanent URL is left to URL purges');
      assert.equal(await s.purge(target('host', { host: 'b.test' })), 0, 'stored after the purge: not covered');
      assert.ok(await read(s, 'https://b.test/later'));
      assert.equal(await s.purge(target('url', { host: 'a.test', path: '/perm/x.css' })), 1);
      assert.equal(s.has('https://a.test/about'), true);
      assert.equal(await s.purge(target('host', { host: 'a.test', soft: true })), 1, 'soft');
      const stale = (await read(s, 'https://a.test/about'))!;
      assert.equal(stale.meta.freshUntil, T + 1, 'a soft purge marks it stale from the purge on');
      assert.equal(stale.meta.staleWhileRevalidateMs, 1_700_000_060_000 - (T + 1), 'and lets it be served while a refresh runs');
      assert.equal(s.stats().entries, 2);
    });

    test('the index knows the variants of each URL and their Vary list', async () => {
      const s = await kind.make(roomy);
      const primary = 'https://v.test/page';
      assert.equal(s.varyOf(primary), undefined);
      for (const lang of ['en', 'fr', 'de']) await put(s, `${primary}\naccept-language:${lang}`, lang, { primary, host: 'v.test', path: '/page', vary: ['accept-language'] });
      await put(s, `${primary}\naccept-language:en\u0000br`, 'en-br', { primary, host: 'v.test', path: '/page', vary: ['accept-language'], encoding: 'br' });
      assert.deepEqual(s.varyOf(primary), ['accept-language']);
      assert.equal(s.variantCount(primary), 3, 'a compressed copy is not a variant');
      assert.equal(s.has(`${primary}\naccept-language:fr`), true);
      assert.equal(await s.purge({ kind: 'url', host: 'v.test', path: '/page', soft: false, at: Date.now() }), 4, 'every variant and copy');
      assert.equal(s.varyOf(primary), undefined);
      assert.equal(s.footprint().entries, 0);
    });

    test('the byte budget evicts the least recently used object first', async () => {
      // Three objects and what each store charges beside them (metadata, trailer) fit; four do not.
      const s = await kind.make({ maxBytes: 70_000, maxObjectBytes: 30_000 });
      await put(s, 'old', Buffer.alloc(20_000, 1));
      await put(s, 'used', Buffer.alloc(20_000, 2));
      await put(s, 'mid', Buffer.alloc(20_000, 3));
      await read(s, 'old'); // touching it makes 'used' the least recently used
      await put(s, 'new', Buffer.alloc(20_000, 4));
      await put(s, 'newer', Buffer.alloc(20_000, 5));
      assert.equal(await read(s, 'used'), undefined, 'least recently used, evicted');
      assert.ok(await read(s, 'old'), 'recently read, kept');
      assert.ok(await read(s, 'newer'));
      assert.ok(s.stats().bytes <= 70_000, `stats ${JSON.stringify(s.stats())}`);
    });
  });
}

describe('DiskStore: what survives a restart, and what must not', () => {
  const disk = (dir: string, extra: Partial<ConstructorParameters<typeof DiskStore>[0]> = {}) =>
    new DiskStore({ dir, maxBytes: 10_000_000, maxObjectBytes: 5_000_000, ...extra });

  test('objects written by one instance are found by the next, from its index snapshot', async () => {
    const dir = await tmp();
    const first = disk(dir);
    await first.ready;
    await put(first, 'persist', 'still here', { vary: ['accept-encoding'], primary: 'p' });
    await first.close();
    const second = disk(dir);
    await second.ready;
    assert.deepEqual(second.startup && [second.startup.from, second.startup.replayed], ['snapshot', 0]);
    assert.equal(second.stats().entries, 1);
    const o = (await second.get('persist'))!;
    assert.equal((await bodyOf(o)).toString(), 'still here');
    assert.deepEqual(second.varyOf('p'), ['accept-encoding']);
    await second.close();
  });

  test('without a clean close (kill -9), the journal brings back every change since the snapshot', async () => {
    const dir = await tmp();
    const first = disk(dir);
    await first.ready;
    for (const k of ['a', 'b', 'c']) await put(first, k, `body ${k}`, { tags: [`tag-${k}`] });
    await first.delete('b');
    await first.updateMeta({ ...(await first.get('c'))!.meta, etag: '"v2"', tags: ['tag-new'] });
    await first.journaled();
    // `first` is never closed: the folder is left as a killed process leaves it.
    const second = disk(dir);
    await second.ready;
    assert.equal(second.startup!.from, 'snapshot');
    assert.ok(second.startup!.replayed >= 5, `replayed ${second.startup!.replayed}`);
    assert.deepEqual([second.has('a'), second.has('b'), second.has('c')], [true, false, true]);
    assert.equal((await second.get('c'))!.meta.etag, '"v2"');
    const byTag = (tag: string) => second.purge({ kind: 'tag', tag, soft: false, at: Date.now() });
    assert.equal(await byTag('tag-c'), 0, 'the rewrite replaced the tags in the index too');
    assert.equal(await byTag('tag-new'), 1);
    await second.close();
  });

  test('a torn journal record (a crash while appending) is ignored; what came before stands', async () => {
    const dir = await tmp();
    const first = disk(dir);
    await first.ready;
    await put(first, 'x', 'xx');
    await put(first, 'y', 'yy');
    await first.journaled();
    const journal = (await readdir(join(dir, 'index'))).find((n) => n.startsWith('journal.'))!;
    await appendFile(join(dir, 'index', journal), Buffer.from([200, 0, 0, 0, 0x41, 1, 2, 3]));
    const second = disk(dir);
    await second.ready;
    assert.equal(second.startup!.torn, 1);
    assert.deepEqual([second.has('x'), second.has('y')], [true, true]);
    await second.close();
  });

  test('an index snapshot that does not check out: the index is rebuilt from the files themselves', async () => {
    const dir = await tmp();
    const first = disk(dir);
    await first.ready;
    await put(first, 'kept', 'kept body', { tags: ['t'] });
    await first.close();
    const snapshot = join(dir, 'index', 'snapshot');
    const bytes = await readFile(snapshot);
    bytes[bytes.length >> 1] ^= 0xff;
    await writeFile(snapshot, bytes);
    // A file named as before 128-bit digests (the whole SHA-256): renamed into place, not lost.
    const legacyMeta = meta('legacy', 3);
    const full = createHash('sha256').update('legacy').digest('hex');
    await mkdir(join(dir, 'objects', full.slice(0, 2), full.slice(2, 4)), { recursive: true });
    await writeFile(join(dir, 'objects', full.slice(0, 2), full.slice(2, 4), full), Buffer.concat([Buffer.from('old'), trailerFor(legacyMeta, 3)]));
    const second = disk(dir);
    await second.ready;
    assert.equal(second.startup!.from, 'files');
    assert.equal((await bodyOf((await second.get('kept'))!)).toString(), 'kept body');
    assert.equal((await bodyOf((await second.get('legacy'))!)).toString(), 'old');
    assert.equal(await second.purge({ kind: 'tag', tag: 't', soft: false, at: Date.now() }), 1, 'purges work on the rebuilt index');
    await second.close();
    const third = disk(dir);
    await third.ready;
    assert.equal(third.startup!.from, 'snapshot', 'the rebuild saved a snapshot');
    assert.equal(third.has('legacy'), true);
    await third.close();
  });

  test('while the index is rebuilt from files, lookups open the files and purges wait for the whole index', async () => {
    const dir = await tmp();
    const first = disk(dir);
    await first.ready;
    for (let i = 0; i < 600; i++) await put(first, `https://r.test/${i}`, `body ${i}`, { host: 'r.test', primary: `https://r.test/${i}`, path: `/${i}` });
    await first.close();
    await rm(join(dir, 'index'), { recursive: true });
    const second = disk(dir);
    await second.prepared;
    // The rebuild reads files in batches of 256 and yields between them: it has not finished.
    assert.equal(second.startup, undefined, 'not complete yet');
    const purging = second.purge({ kind: 'host', host: 'r.test', soft: false, at: Date.now() });
    assert.equal((await bodyOf((await second.get('https://r.test/599'))!)).toString(), 'body 599', 'served from its file meanwhile');
    assert.equal(await purging, 600, 'the purge counted every object, once the index was whole');
    assert.equal(second.startup!.from, 'files');
    assert.equal(second.stats().entries, 0);
    await second.close();
  });

  test('a file deleted behind the index is a miss, and its entry goes', async () => {
    const s = disk(await tmp());
    await s.ready;
    await put(s, 'gone', 'soon');
    await rm(s.pathFor('gone'));
    assert.equal(await s.get('gone'), undefined);
    assert.equal(s.stats().entries, 0);
    await s.close();
  });

  test('the object-count bound evicts the least recently used first', async () => {
    const s = disk(await tmp(), { maxObjects: 3 });
    await s.ready;
    for (const k of ['o1', 'o2', 'o3']) await put(s, k, k);
    await read(s, 'o1');
    await put(s, 'o4', 'o4');
    assert.equal(s.stats().entries, 3);
    assert.deepEqual([s.has('o1'), s.has('o2'), s.has('o3'), s.has('o4')], [true, false, true, true]);
    await waitFor(() => stat(s.pathFor('o2')).then(() => false, () => true), 'the evicted file is unlinked');
    await s.close();
  });

  test('a truncated or corrupt file is deleted when read, never served, before and after a restart', async () => {
    const dir = await tmp();
    const s = disk(dir);
    await s.ready;
    await put(s, 'torn', Buffer.alloc(5000, 7));
    await put(s, 'garbage', 'ok');
    await truncate(s.pathFor('torn'), 3000);
    await writeFile(s.pathFor('garbage'), 'not an object at all');
    assert.equal(await s.get('torn'), undefined);
    await assert.rejects(stat(s.pathFor('torn')), /ENOENT/);
    await s.journaled();
    const restarted = disk(dir);
    await restarted.ready;
    assert.equal(await restarted.get('garbage'), undefined);
    await assert.rejects(stat(s.pathFor('garbage')), /ENOENT/);
    assert.equal(restarted.stats().entries, 0);
    await restarted.close();
  });

  test('the folder deleted under a running store is recreated at the next write, and reported', async () => {
    const dir = await tmp();
    const events: string[] = [];
    const s = disk(dir, { onEvent: (code) => events.push(code) });
    await s.ready;
    await put(s, 'before', 'b');
    await rm(dir, { recursive: true, force: true });
    assert.equal(await put(s, 'after', 'a'), true, 'stored in the recreated folder');
    assert.deepEqual(events, ['disk_cache_lost']);
    assert.equal(s.recreated, 1);
    assert.equal(s.has('before'), false, 'what was in the folder is gone from the index too');
    assert.equal((await bodyOf((await s.get('after'))!)).toString(), 'a');
    assert.equal(JSON.parse(await readFile(join(dir, 'lock'), 'utf8')).pid, process.pid, 'the lock is back');
    await s.close();
    const again = disk(dir);
    await again.ready;
    assert.deepEqual([again.has('before'), again.has('after')], [false, true]);
    await again.close();
  });

  test('half-written objects left in tmp/ by a crash are cleared at start', async () => {
    const dir = await tmp();
    await mkdir(join(dir, 'tmp'), { recursive: true });
    await writeFile(join(dir, 'tmp', 'leftover'), 'partial body');
    const s = new DiskStore({ dir, maxBytes: 10_000_000, maxObjectBytes: 5_000_000 });
    await s.ready;
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  });

  test('a large object streams in and out in chunks, not as one buffer', async () => {
    const s = new DiskStore({ dir: await tmp(), maxBytes: 200_000_000, maxObjectBytes: 100_000_000, smallObjectBytes: 1024 * 1024 });
    await s.ready;
    const size = 64 * 1024 * 1024;
    const w = s.put(meta('large', size))!;
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 64; i++) {
      chunk.fill(i);
      await w.write(Buffer.from(chunk));
    }
    assert.equal(await w.commit(), true);
    const o = (await s.get('large'))!;
    assert.equal(o.body, undefined, 'large objects are not read into memory');
    let total = 0;
    let biggest = 0;
    let i = 0;
    for await (const c of o.open!(0, size - 1)) {
      biggest = Math.max(biggest, c.length);
      assert.equal(c[0], Math.floor(total / (1024 * 1024)), `byte at ${total}`);
      total += c.length;
      i++;
    }
    assert.equal(total, size);
    assert.ok(biggest <= 1024 * 1024, `chunks of at most 1 MiB, saw ${biggest}`);
    assert.ok(i >= 64);
  });

  test('bytes written so far can be read back before the object is committed', async () => {
    const s = new DiskStore({ dir: await tmp(), maxBytes: 10_000_000, maxObjectBytes: 5_000_000 });
    await s.ready;
    const w = s.put(meta('partial', 0))!;
    await w.write(Buffer.from('hello '));
    await w.write(Buffer.from('world'));
    const parts: Buffer[] = [];
    for await (const c of w.readBack!(3, 8)) parts.push(c);
    assert.equal(Buffer.concat(parts).toString(), 'lo wor', 'bytes 3..8 inclusive');
    await w.commit();
    const after: Buffer[] = [];
    for await (const c of w.readBack!(0, 4)) after.push(c);
    assert.equal(Buffer.concat(after).toString(), 'hello', 'and from the final file once renamed');
  });
});

describe('TieredStore promotion', () => {
  // A disk hit is copied into memory. A purge that began while the file was being read has
  // already swept the memory tier: copying the object there then would serve it after the purge
  // (the soak found pages stale after a purge had returned).
  test('a disk read that a purge overlaps is not promoted into memory', async () => {
    const s = new TieredStore(new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 8192 }), new DiskStore({ dir: await tmp(), maxBytes: 10_000_000, maxObjectBytes: 5_000_000, smallObjectBytes: 4096 }));
    await s.ready;
    const key = 'https://p.test/page';
    assert.equal(await put(s, key, 'before the purge', { host: 'p.test', path: '/page', primary: key }), true);
    s.memory.delete(key); // on disk only, as after an eviction from memory
    const reading = s.get(key);
    const purging = s.purge({ kind: 'url', host: 'p.test', path: '/page', soft: false, at: Date.now() });
    await Promise.all([reading, purging]);
    assert.equal(s.memory.get(key), undefined, 'promoted after the purge');
    assert.equal(await s.get(key), undefined);
    // Without a purge in the way, a disk hit is promoted as before.
    assert.equal(await put(s, key, 'after', { host: 'p.test', path: '/page', primary: key }), true);
    s.memory.delete(key);
    await s.get(key);
    assert.notEqual(s.memory.get(key), undefined);
  });
});
