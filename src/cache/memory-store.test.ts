import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from './memory-store.js';
import type { CacheMeta, StoredObject } from './store.js';

const T0 = Date.UTC(2024, 0, 15, 12, 0, 0);
/**
 * Per-object overhead the store charges on top of body and key: memory-store.ts's OVERHEAD plus
 * its charge for this test's header list (each string's length + 16).
 */
const OVERHEAD = 1152 + ('content-type'.length + 16) + ('text/plain'.length + 16);

function meta(key: string, size: number, extra: Partial<CacheMeta> = {}): CacheMeta {
  return {
    key,
    primary: key,
    host: 'example.com',
    path: '/' + key,
    status: 200,
    headers: ['content-type', 'text/plain'],
    size,
    vary: [],
    tags: [],
    storedAt: T0,
    responseTime: T0,
    initialAge: 0,
    lifetimeMs: 60_000,
    freshUntil: T0 + 60_000,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    mustRevalidate: false,
    noCache: false,
    ...extra,
  };
}

/** Stores `body` under `key` through put/write/commit; returns what commit said. */
async function store(s: MemoryStore, key: string, body: Buffer | string): Promise<boolean> {
  const buf = Buffer.from(body);
  const w = s.put(meta(key, buf.length));
  assert.ok(w, `put refused ${key}`);
  await w.write(buf);
  return w.commit();
}

const cost = (key: string, size: number) => size + key.length + OVERHEAD;

describe('MemoryStore: writing', () => {
  test('a committed object is returned with its body', async () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
    const w = s.put(meta('a', 11))!;
    await w.write(Buffer.from('hello '));
    await w.write(Buffer.from('world'));
    assert.equal(await w.commit(), true);
    const o = s.get('a');
    assert.ok(o);
    assert.equal(o.body!.toString(), 'hello world');
    assert.equal(o.meta.key, 'a');
    assert.equal(o.meta.size, 11);
  });

  test('the stored size is the streamed length, not the announced one', async () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
    const w = s.put(meta('a', 0))!;
    await w.write(Buffer.from('12345'));
    assert.equal(await w.commit(), true);
    assert.equal(s.get('a')!.meta.size, 5);
  });

  test('nothing is visible before commit', async () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
    const w = s.put(meta('a', 3))!;
    await w.write(Buffer.from('abc'));
    assert.equal(s.get('a'), undefined);
    assert.equal(s.peek('a'), undefined);
    assert.deepEqual([...s.entries()], []);
    assert.equal(s.stats().entries, 0);
    assert.equal(s.stats().bytes, 0);
    assert.equal(await w.commit(), true);
    assert.ok(s.get('a'));
  });

  test('a writer does not replace a stored object until it commits', async () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
    await store(s, 'a', 'old');
    const w = s.put(meta('a', 3))!;
    await w.write(Buffer.from('new'));
    assert.equal(s.get('a')!.body!.toString(), 'old');
    await w.commit();
    assert.equal(s.get('a')!.body!.toString(), 'new');
  });

  test('abort drops the data and commit then refuses', async () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
    const w = s.put(meta('a', 3))!;
    await w.write(Buffer.from('abc'));
    w.abort();
    await w.write(Buffer.from('def'));
    assert.equal(await w.commit(), false);
    assert.equal(s.get('a'), undefined);
    assert.equal(s.stats().entries, 0);
  });

  test('abort leaves an older stored object in place', async () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
    await store(s, 'a', 'old');
    const w = s.put(meta('a', 3))!;
    await w.write(Buffer.from('new'));
    w.abort();
    assert.equal(s.get('a')!.body!.toString(), 'old');
  });

  test('a writer commits only once', async () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
    const w = s.put(meta('a', 1))!;
    await w.write(Buffer.from('x'));
    assert.equal(await w.commit(), true);
    assert.equal(await w.commit(), false);
  });
});

describe('MemoryStore: object size limit', () => {
  test('put refuses an announced size over maxObjectBytes', () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100 });
    assert.equal(s.put(meta('a', 101)), undefined);
    assert.ok(s.put(meta('a', 100)));
  });

  test('a streamed body that grows over maxObjectBytes is refused at commit', async () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100 });
    const w = s.put(meta('a', 0))!;
    await w.write(Buffer.alloc(60));
    await w.write(Buffer.alloc(41));
    await w.write(Buffer.alloc(1));
    assert.equal(await w.commit(), false);
    assert.equal(s.get('a'), undefined);
    assert.equal(s.stats().bytes, 0);
  });

  test('a streamed body of exactly maxObjectBytes is kept', async () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100 });
    const w = s.put(meta('a', 0))!;
    await w.write(Buffer.alloc(50));
    await w.write(Buffer.alloc(50));
    assert.equal(await w.commit(), true);
    assert.equal(s.get('a')!.body!.length, 100);
  });

  test('the object limit never exceeds what the budget can hold', () => {
    const s = new MemoryStore({ maxBytes: 1000, maxObjectBytes: 10_000 });
    assert.equal(s.put(meta('a', 1000 - OVERHEAD + 1)), undefined);
    assert.equal(s.put(meta('a', 5000)), undefined);
  });

  test('insert refuses objects without a body or over the limit', () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100 });
    assert.equal(s.insert({ meta: meta('a', 10) }), false);
    assert.equal(s.insert({ meta: meta('b', 101), body: Buffer.alloc(101) }), false);
    assert.equal(s.insert({ meta: meta('c', 10), body: Buffer.alloc(10) }), true);
    assert.equal(s.get('a'), undefined);
    assert.equal(s.get('b'), undefined);
    assert.ok(s.get('c'));
  });

  test('an object whose key and overhead push it over the budget is refused, never silently dropped', async () => {
    const s = new MemoryStore({ maxBytes: 2000, maxObjectBytes: 10_000 });
    const size = 2000 - OVERHEAD;
    assert.equal(s.put(meta('key', size)), undefined, 'refused up front when the announced size cannot fit');
    const w = s.put(meta('key', 0));
    assert.ok(w);
    await w.write(Buffer.alloc(size));
    const committed = await w.commit();
    assert.equal(committed, false, 'a streamed body that cannot fit is refused at commit');
    assert.equal(s.get('key'), undefined);
    const fits = s.put(meta('k2', 100));
    assert.ok(fits);
    await fits.write(Buffer.alloc(100));
    assert.equal(await fits.commit(), true);
    assert.ok(s.get('k2'), 'commit() true means the object can be read back');
  });
});

describe('MemoryStore: byte budget and LRU', () => {
  test('stats count body, key and overhead', async () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
    await store(s, 'a', 'x'.repeat(100));
    await store(s, 'bb', 'y'.repeat(200));
    assert.deepEqual(s.stats(), { entries: 2, bytes: cost('a', 100) + cost('bb', 200), maxBytes: 1_000_000 });
  });

  test('the least recently used object is evicted first, and get refreshes recency', async () => {
    const evicted: string[] = [];
    // room for exactly three objects of 100 bytes under a one-character key
    const s = new MemoryStore({ maxBytes: 3 * cost('a', 100) + 10, maxObjectBytes: 100_000, onEvict: (o) => evicted.push(o.meta.key) });
    await store(s, 'a', 'A'.repeat(100));
    await store(s, 'b', 'B'.repeat(100));
    await store(s, 'c', 'C'.repeat(100));
    assert.equal(s.stats().entries, 3);
    assert.deepEqual(evicted, []);

    assert.ok(s.get('a')); // a is now the most recent: b is the oldest
    await store(s, 'd', 'D'.repeat(100));
    assert.deepEqual(evicted, ['b']);
    assert.equal(s.peek('b'), undefined);
    assert.ok(s.peek('a') && s.peek('c') && s.peek('d'));
    assert.ok(s.stats().bytes <= s.stats().maxBytes);
  });

  test('peek does not refresh recency', async () => {
    const evicted: string[] = [];
    const s = new MemoryStore({ maxBytes: 3 * cost('a', 100) + 10, maxObjectBytes: 100_000, onEvict: (o) => evicted.push(o.meta.key) });
    await store(s, 'a', 'A'.repeat(100));
    await store(s, 'b', 'B'.repeat(100));
    await store(s, 'c', 'C'.repeat(100));
    assert.ok(s.peek('a'));
    await store(s, 'd', 'D'.repeat(100));
    assert.deepEqual(evicted, ['a']);
  });

  test('a large object evicts as many old ones as needed, oldest first', async () => {
    const evicted: string[] = [];
    const s = new MemoryStore({ maxBytes: 4 * cost('a', 100), maxObjectBytes: 100_000, onEvict: (o) => evicted.push(o.meta.key) });
    for (const k of ['a', 'b', 'c', 'd']) await store(s, k, k.repeat(100));
    await store(s, 'e', 'E'.repeat(2 * cost('a', 100) - cost('e', 0)));
    assert.deepEqual(evicted, ['a', 'b']);
    assert.deepEqual([...s.entries()].map((m) => m.key).sort(), ['c', 'd', 'e']);
  });

  test('the evicted object is handed over whole', async () => {
    const evicted: StoredObject[] = [];
    const s = new MemoryStore({ maxBytes: cost('a', 100) + 10, maxObjectBytes: 100_000, onEvict: (o) => evicted.push(o) });
    await store(s, 'a', 'A'.repeat(100));
    await store(s, 'b', 'B'.repeat(100));
    assert.equal(evicted.length, 1);
    assert.equal(evicted[0]!.meta.key, 'a');
    assert.equal(evicted[0]!.body!.toString(), 'A'.repeat(100));
  });

  test('delete and replacement are not evictions', async () => {
    const evicted: string[] = [];
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000, onEvict: (o) => evicted.push(o.meta.key) });
    await store(s, 'a', 'one');
    await store(s, 'a', 'two');
    assert.equal(s.get('a')!.body!.toString(), 'two');
    assert.equal(s.delete('a'), true);
    assert.equal(s.delete('a'), false);
    assert.equal(s.get('a'), undefined);
    assert.deepEqual(evicted, []);
  });
});

describe('MemoryStore: metadata, listing, close', () => {
  test('updateMeta replaces the metadata and keeps the body', async () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
    await store(s, 'a', 'body');
    s.updateMeta(meta('a', 4, { freshUntil: T0 + 999_000, etag: '"v2"' }));
    const o = s.get('a')!;
    assert.equal(o.meta.freshUntil, T0 + 999_000);
    assert.equal(o.meta.etag, '"v2"');
    assert.equal(o.body!.toString(), 'body');
  });

  test('updateMeta for a missing key stores nothing', () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
    s.updateMeta(meta('ghost', 4));
    assert.equal(s.get('ghost'), undefined);
    assert.equal(s.stats().entries, 0);
  });

  test('entries lists the metadata of every object', async () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
    await store(s, 'a', '1');
    await store(s, 'b', '22');
    const list = [...s.entries()].sort((x, y) => x.key.localeCompare(y.key));
    assert.deepEqual(list.map((m) => [m.key, m.size]), [['a', 1], ['b', 2]]);
  });

  test('close empties the store', async () => {
    const s = new MemoryStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
    await store(s, 'a', '1');
    await s.close();
    assert.equal(s.get('a'), undefined);
    assert.deepEqual(s.stats(), { entries: 0, bytes: 0, maxBytes: 1_000_000 });
  });
});
