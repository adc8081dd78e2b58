// The memory tier: whole bodies as Buffers under a byte budget, least recently used evicted first.
// lru-cache does the bookkeeping (it keeps recency in typed arrays, so a hit moves no objects).
// `get` is synchronous: a memory hit is served without waiting on anything. Its object index (for
// purges and Vary) follows every insert, replacement, eviction and delete.
import { LRUCache } from 'lru-cache';
import { keyDigest } from './hash.js';
import { ObjectIndex } from './object-index.js';
import { alreadyStale, appliesTo, indexQuery, markedStale, type PurgeTarget } from './purge-target.js';
import type { CacheMeta, CacheStore, ObjectWriter, StoredObject, StoreFootprint, StoreStats } from './store.js';

/**
 * What an object costs beside its body, key and headers: the metadata object, the body's Buffer,
 * the LRU's and the index's entries. Measured at ~1.4 KB on the heap for a small object with five
 * response headers (node --expose-gc, 20,000 objects); with its header strings counted apart,
 * 1,152 bytes. So many tiny objects still count for what they take — and the budget bounds the
 * index too: at most maxBytes / 1,152 entries.
 */
const OVERHEAD = 1152;
/** A string's own cost on the heap beside its characters (for the header list). */
const STRING = 16;

export interface MemoryStoreOptions {
  maxBytes: number;
  maxObjectBytes: number;
  /** Called for every object the budget pushes out (the tiered store demotes them). */
  onEvict?: (object: StoredObject) => void;
}

export class MemoryStore implements CacheStore {
  readonly name = 'memory';
  private readonly lru: LRUCache<string, StoredObject>;
  private readonly maxObjectBytes: number;
  readonly index: ObjectIndex;
  /** The key of each index slot (the strings the LRU holds anyway). */
  private keys: string[] = [];

  constructor(options: MemoryStoreOptions) {
    this.maxObjectBytes = Math.min(options.maxObjectBytes, Math.max(0, options.maxBytes - OVERHEAD));
    this.index = new ObjectIndex(Math.ceil(Math.max(1, options.maxBytes) / OVERHEAD) + 1, 256);
    this.lru = new LRUCache<string, StoredObject>({
      maxSize: Math.max(1, options.maxBytes),
      sizeCalculation: (o) => this.cost(o.meta),
      dispose: (value, key, reason) => {
        // A replacement keeps its entry (insert() updates it); anything else takes it out.
        if (reason !== 'set') this.unindex(key);
        if (reason === 'evict') options.onEvict?.(value);
      },
    });
  }

  private reindex(meta: CacheMeta): void {
    const rec = this.index.encode(keyDigest(meta.key), meta, this.cost(meta));
    if (rec === undefined) return;
    const slot = this.index.apply(rec);
    this.keys[slot] = meta.key;
  }

  private unindex(key: string): void {
    const slot = this.index.find(keyDigest(key));
    if (slot < 0) return;
    this.index.remove(slot);
    this.keys[slot] = '';
  }

  /** What an object counts against the budget: body, key, header strings and a fixed overhead. */
  private cost(meta: CacheMeta, size = meta.size): number {
    let headers = 0;
    for (const h of meta.headers) headers += h.length + STRING;
    return size + meta.key.length + headers + OVERHEAD;
  }

  private fits(meta: CacheMeta, size = meta.size): boolean {
    return size <= this.maxObjectBytes && this.cost(meta, size) <= this.lru.maxSize;
  }

  get(key: string): StoredObject | undefined {
    return this.lru.get(key);
  }

  /** Looks without touching recency (used by purges and the admin API). */
  peek(key: string): StoredObject | undefined {
    return this.lru.peek(key);
  }

  put(meta: CacheMeta): ObjectWriter | undefined {
    if (!this.fits(meta)) return undefined;
    const chunks: Buffer[] = [];
    let length = 0;
    let aborted = false;
    return {
      get abandoned() {
        return aborted;
      },
      write: (chunk) => {
        if (aborted) return;
        length += chunk.length;
        if (!this.fits(meta, length)) {
          aborted = true;
          chunks.length = 0;
          return;
        }
        chunks.push(chunk);
      },
      commit: async (stillWanted) => {
        if (aborted) return false;
        aborted = true;
        if (stillWanted !== undefined && !stillWanted()) {
          chunks.length = 0;
          return false;
        }
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
        return this.insert({ meta: { ...meta, size: length }, body });
      },
      abort: () => {
        aborted = true;
        chunks.length = 0;
      },
    };
  }

  /** Adds a complete object (used by the tiered store to promote from disk). */
  insert(object: StoredObject): boolean {
    if (!object.body || !this.fits(object.meta)) return false;
    // An object whose Vary list the index cannot keep is not stored (see vary-table.ts).
    if (this.index.varyLists.id(object.meta.vary) < 0) return false;
    this.lru.set(object.meta.key, object);
    if (this.lru.peek(object.meta.key) === object) this.reindex(object.meta);
    return true;
  }

  updateMeta(meta: CacheMeta): void {
    const existing = this.lru.peek(meta.key);
    if (!existing) return;
    existing.meta = meta;
    this.reindex(meta);
  }

  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  /** Every object's metadata, most recently used first (for tests and debugging). */
  *entries(): Iterable<CacheMeta> {
    for (const object of this.lru.values()) yield object.meta;
  }

  async purge(target: PurgeTarget): Promise<number> {
    return this.purgeKeys(target).length;
  }

  async keysFor(target: PurgeTarget): Promise<string[]> {
    const keys: string[] = [];
    for (const slot of this.index.select(indexQuery(target))) {
      const object = this.lru.peek(this.keys[slot]!);
      if (object !== undefined && appliesTo(target, object.meta)) keys.push(object.meta.key);
    }
    return keys;
  }

  /** Applies a purge at once; returns the keys of the objects it removed or marked stale. */
  purgeKeys(target: PurgeTarget): string[] {
    const done: string[] = [];
    for (const slot of this.index.select(indexQuery(target))) {
      const key = this.keys[slot]!;
      const object = this.lru.peek(key);
      if (object === undefined || !appliesTo(target, object.meta)) continue;
      done.push(key);
      if (!target.soft) this.lru.delete(key);
      else if (!alreadyStale(object.meta, target.at)) object.meta = markedStale(object.meta, target.at);
    }
    return done;
  }

  varyOf(primary: string): readonly string[] | undefined {
    return this.index.varyOf(primary);
  }

  variantCount(primary: string): number {
    return this.index.variantCount(primary);
  }

  has(key: string): boolean {
    return this.lru.has(key);
  }

  stats(): StoreStats {
    return { entries: this.lru.size, bytes: this.lru.calculatedSize, maxBytes: this.lru.maxSize };
  }

  footprint(): StoreFootprint {
    return { index: this.index.memoryBytes() + this.index.cap * 8, entries: this.index.count, maxEntries: this.index.maxEntries, pending: 0 };
  }

  async close(): Promise<void> {
    this.lru.clear();
  }
}
