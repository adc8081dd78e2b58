// The memory tier: whole bodies as Buffers under a byte budget, least recently used evicted first.
// lru-cache does the bookkeeping (it keeps recency in typed arrays, so a hit moves no objects).
// `get` is synchronous: a memory hit is served without waiting on anything.
import { LRUCache } from 'lru-cache';
import type { CacheMeta, CacheStore, ObjectWriter, StoredObject, StoreStats } from './store.js';

/** Rough per-object cost of the key, metadata and headers, so many tiny objects still count. */
const OVERHEAD = 512;

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

  constructor(options: MemoryStoreOptions) {
    this.maxObjectBytes = Math.min(options.maxObjectBytes, Math.max(0, options.maxBytes - OVERHEAD));
    this.lru = new LRUCache<string, StoredObject>({
      maxSize: Math.max(1, options.maxBytes),
      sizeCalculation: (o) => this.cost(o.meta.size, o.meta.key),
      dispose: options.onEvict
        ? (value, _key, reason) => {
            if (reason === 'evict') options.onEvict!(value);
          }
        : undefined,
    });
  }

  /** What an object counts against the budget: body, key and a fixed overhead. */
  private cost(size: number, key: string): number {
    return size + key.length + OVERHEAD;
  }

  private fits(size: number, key: string): boolean {
    return size <= this.maxObjectBytes && this.cost(size, key) <= this.lru.maxSize;
  }

  get(key: string): StoredObject | undefined {
    return this.lru.get(key);
  }

  /** Looks without touching recency (used by purges and the admin API). */
  peek(key: string): StoredObject | undefined {
    return this.lru.peek(key);
  }

  put(meta: CacheMeta): ObjectWriter | undefined {
    if (!this.fits(meta.size, meta.key)) return undefined;
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
        if (!this.fits(length, meta.key)) {
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
    if (!object.body || !this.fits(object.meta.size, object.meta.key)) return false;
    this.lru.set(object.meta.key, object);
    return true;
  }

  updateMeta(meta: CacheMeta): void {
    const existing = this.lru.peek(meta.key);
    if (existing) existing.meta = meta;
  }

  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  *entries(): Iterable<CacheMeta> {
    for (const object of this.lru.values()) yield object.meta;
  }

  stats(): StoreStats {
    return { entries: this.lru.size, bytes: this.lru.calculatedSize, maxBytes: this.lru.maxSize };
  }

  async close(): Promise<void> {
    this.lru.clear();
  }
}
