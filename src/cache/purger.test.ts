// A purge against fetches under way: flights it covers stop taking joiners, and an object whose
// bytes are all in but whose write to the tiers is still going (the disk's fsync) is counted,
// removed at once from the tier that already shows it, and taken back when the write finishes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EdgeCache } from './edge-cache.js';
import { MemoryStore } from './memory-store.js';
import { Purger } from './purger.js';
import type { CacheMeta, ObjectWriter } from './store.js';

function meta(host: string, path: string, extra: Partial<CacheMeta> = {}): CacheMeta {
  const now = Date.now();
  const primary = `https://${host}${path}`;
  return {
    key: primary,
    primary,
    host,
    path,
    status: 200,
    headers: ['content-type', 'text/plain'],
    size: 5,
    vary: [],
    tags: [],
    storedAt: now,
    responseTime: now,
    initialAge: 0,
    lifetimeMs: 60_000,
    freshUntil: now + 60_000,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    mustRevalidate: false,
    noCache: false,
    ...extra,
  };
}

/** Like memory over disk: the object shows in memory at commit, the commit resolves when `release` is called. */
class SlowCommitStore extends MemoryStore {
  private held: (() => void)[] = [];

  override put(m: CacheMeta): ObjectWriter | undefined {
    const w = super.put(m);
    if (w === undefined) return undefined;
    return {
      get abandoned() {
        return w.abandoned;
      },
      write: (chunk) => w.write(chunk),
      abort: () => w.abort(),
      commit: async () => {
        const ok = await w.commit();
        await new Promise<void>((resolve) => this.held.push(resolve));
        return ok;
      },
    };
  }

  release(): void {
    for (const r of this.held.splice(0)) r();
  }
}

function setUp() {
  const store = new SlowCommitStore({ maxBytes: 1_000_000, maxObjectBytes: 100_000 });
  const cache = new EdgeCache(store);
  const purger = new Purger(cache);
  return { store, cache, purger };
}

/** A fetch that got every byte and is writing it: returns the commit under way. */
function fetchedAndWriting(cache: EdgeCache, m: CacheMeta): Promise<boolean> {
  const flight = cache.flights.begin(m.key);
  flight.meta = m;
  flight.start({ key: m.key, vary: [], status: 200, headers: m.headers });
  flight.push(Buffer.from('hello'));
  flight.end();
  const writer = cache.writer(m, flight.startedAt)!;
  void writer.write(Buffer.from('hello'));
  return writer.commit().finally(() => cache.flights.finish(flight));
}

describe('Purger: fetches under way', () => {
  test('an object still being written is counted, gone at once, and not stored when the write ends', async () => {
    const { store, cache, purger } = setUp();
    const m = meta('example.com', '/about');
    const committing = fetchedAndWriting(cache, m);
    await new Promise((r) => setImmediate(r));
    assert.ok(store.get(m.key), 'the memory tier already shows it');

    const record = await purger.purge({ kind: 'host', value: 'example.com' });
    assert.equal(record.purged, 1);
    assert.equal(store.get(m.key), undefined, 'gone for the very next request');
    assert.equal(cache.flights.get(m.key), undefined, 'no one joins it any more');

    store.release();
    assert.equal(await committing, false);
    assert.equal(store.get(m.key), undefined);
    assert.equal(store.index.count, 0, 'and nothing of it is left in the index');
  });

  test('an object of another host being written is left alone and stored', async () => {
    const { store, cache, purger } = setUp();
    const m = meta('other.example', '/about');
    const committing = fetchedAndWriting(cache, m);
    const record = await purger.purge({ kind: 'host', value: 'example.com' });
    assert.equal(record.purged, 0);
    assert.ok(cache.flights.get(m.key));
    store.release();
    assert.equal(await committing, true);
    assert.ok(store.get(m.key));
    assert.equal(store.index.select({ kind: 'host', host: 'other.example', skipImmutable: false }).length, 1);
  });

  test('a soft purge of an object being written drops it too (it was fetched before the purge)', async () => {
    const { store, cache, purger } = setUp();
    const m = meta('example.com', '/soft');
    const committing = fetchedAndWriting(cache, m);
    await new Promise((r) => setImmediate(r));
    const record = await purger.purge({ kind: 'url', value: 'https://example.com/soft', soft: true });
    assert.equal(record.purged, 1);
    store.release();
    assert.equal(await committing, false);
    assert.equal(store.get(m.key), undefined);
  });

  test('flights still waiting for headers are detached by the host and path of their key', async () => {
    const { cache, purger } = setUp();
    const keys = [
      'https://example.com/a',
      'https://example.com/ab',
      'https://example.com/a\naccept-language:en',
      'https://example.com/b/c',
      'https://other.example/a',
    ];
    const flights = () => keys.filter((k) => cache.flights.get(k) !== undefined);
    for (const k of keys) cache.flights.begin(k);

    await purger.purge({ kind: 'url', value: 'https://example.com/a' });
    assert.deepEqual(flights(), ['https://example.com/ab', 'https://example.com/b/c', 'https://other.example/a'], 'the URL and its variants only');

    await purger.purge({ kind: 'prefix', value: 'example.com/b/' });
    assert.deepEqual(flights(), ['https://example.com/ab', 'https://other.example/a']);

    await purger.purge({ kind: 'host', value: 'other.example' });
    assert.deepEqual(flights(), ['https://example.com/ab']);

    // A tag is not known before the headers: the flight is detached (at worst one more fetch).
    await purger.purge({ kind: 'tag', value: 'post-1' });
    assert.deepEqual(flights(), []);
  });

  test('a flight with headers is matched by what it will be stored as (tags, permanent URLs)', async () => {
    const { cache, purger } = setUp();
    const tagged = cache.flights.begin('https://example.com/tagged');
    tagged.meta = meta('example.com', '/tagged', { tags: ['post-1'] });
    const permanent = cache.flights.begin('https://cdn.example/blog_x/abc/style.css');
    permanent.meta = meta('cdn.example', '/blog_x/abc/style.css', { immutable: true });

    await purger.purge({ kind: 'tag', value: 'post-2' });
    assert.equal(cache.flights.get(tagged.key), tagged);
    await purger.purge({ kind: 'tag', value: 'post-1' });
    assert.equal(cache.flights.get(tagged.key), undefined);

    await purger.purge({ kind: 'host', value: 'cdn.example' });
    assert.equal(cache.flights.get(permanent.key), permanent, 'host purges skip permanent URLs');
    await purger.purge({ kind: 'url', value: 'https://cdn.example/blog_x/abc/style.css' });
    assert.equal(cache.flights.get(permanent.key), undefined);
  });
});
