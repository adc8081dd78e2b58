// One contract, every store: MemoryStore, DiskStore and TieredStore must behave the same through
// the CacheStore interface — nothing visible before commit, bodies back byte for byte (whole or by
// range), metadata updates that keep the body, deletes, listing, and a byte budget with LRU
// eviction. Then what only the disk tier promises: restarts, corrupt files, large objects.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile, truncate, stat, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../src/cache/memory-store.js';
import { DiskStore } from '../src/cache/disk-store.js';
import { TieredStore } from '../src/cache/tiered-store.js';
import type { CacheMeta, CacheStore, StoredObject } from '../src/cache/store.js';

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

    test('entries lists every committed object', async () => {
      const s = await kind.make(roomy);
      await put(s, 'a', 'aa', { host: 'a.test', tags: ['t1'] });
      await put(s, 'b', 'bbb', { host: 'b.test' });
      const listed = [...(await (async () => { const out = []; for await (const e of s.entries()) out.push(e); return out; })())];
      assert.deepEqual(listed.map((e) => e.key).sort(), ['a', 'b']);
      assert.deepEqual(listed.find((e) => e.key === 'a')!.tags, ['t1']);
      assert.equal(listed.find((e) => e.key === 'b')!.host, 'b.test');
    });

    test('the byte budget evicts the least recently used object first', async () => {
      const s = await kind.make({ maxBytes: 9_000, maxObjectBytes: 3_000 });
      await put(s, 'old', Buffer.alloc(2_000, 1));
      await put(s, 'used', Buffer.alloc(2_000, 2));
      await put(s, 'mid', Buffer.alloc(2_000, 3));
      await read(s, 'old'); // touching it makes 'used' the least recently used
      await put(s, 'new', Buffer.alloc(2_000, 4));
      await put(s, 'newer', Buffer.alloc(2_000, 5));
      assert.equal(await read(s, 'used'), undefined, 'least recently used, evicted');
      assert.ok(await read(s, 'old'), 'recently read, kept');
      assert.ok(await read(s, 'newer'));
      assert.ok(s.stats().bytes <= 9_000, `stats ${JSON.stringify(s.stats())}`);
    });
  });
}

describe('DiskStore: what survives a restart, and what must not', () => {
  test('objects written by one instance are found by the next', async () => {
    const dir = await tmp();
    const first = new DiskStore({ dir, maxBytes: 10_000_000, maxObjectBytes: 5_000_000 });
    await first.ready;
    await put(first, 'persist', 'still here', { vary: ['accept-encoding'], primary: 'p' });
    const second = new DiskStore({ dir, maxBytes: 10_000_000, maxObjectBytes: 5_000_000 });
    await second.ready;
    assert.equal(second.stats().entries, 1);
    const o = (await second.get('persist'))!;
    assert.equal((await bodyOf(o)).toString(), 'still here');
    assert.deepEqual([...second.entries()].map((e) => [e.primary, e.vary]), [['p', ['accept-encoding']]]);
  });

  test('a truncated or corrupt file is deleted, never served', async () => {
    const dir = await tmp();
    const s = new DiskStore({ dir, maxBytes: 10_000_000, maxObjectBytes: 5_000_000 });
    await s.ready;
    await put(s, 'torn', Buffer.alloc(5000, 7));
    await put(s, 'garbage', 'ok');
    await truncate(s.pathFor('torn'), 3000);
    await writeFile(s.pathFor('garbage'), 'not an object at all');
    assert.equal(await s.get('torn'), undefined);
    await assert.rejects(stat(s.pathFor('torn')), /ENOENT/);
    const restarted = new DiskStore({ dir, maxBytes: 10_000_000, maxObjectBytes: 5_000_000 });
    await restarted.ready;
    assert.equal(restarted.stats().entries, 0, 'the scan drops the corrupt file too');
    await assert.rejects(stat(s.pathFor('garbage')), /ENOENT/);
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
