// The cache as the request pipeline sees it: a store (one tier or several), the Vary index that
// turns a primary key into a variant key, the flights under way, and the keys recently found not
// storable (Varnish's hit-for-miss: such requests go straight to the origin instead of queueing
// behind a flight that will not be shared).
import { LRUCache } from 'lru-cache';
import type { HeaderMap } from '../http/headers.js';
import { SingleFlight } from './single-flight.js';
import type { CacheMeta, CacheStore, EntrySummary, ObjectWriter, StoredObject } from './store.js';
import { secondaryKey } from './vary.js';
import { encodedKey } from './compression.js';

export interface EdgeCacheOptions {
  /** How long a key found not storable skips coalescing (ms). */
  hitForMissMs: number;
}

export class EdgeCache {
  readonly flights = new SingleFlight();
  /** primary key → the request fields its responses vary on, and the variant keys stored (only URLs that vary are here). */
  private readonly variants = new Map<string, { vary: readonly string[]; keys: Set<string> }>();
  private readonly uncacheable: LRUCache<string, string>;

  constructor(
    readonly store: CacheStore,
    private readonly options: EdgeCacheOptions = { hitForMissMs: 30_000 },
  ) {
    this.uncacheable = new LRUCache<string, string>({ max: 100_000, ttl: Math.max(1, options.hitForMissMs), ttlAutopurge: false });
  }

  /** Rebuilds the Vary index from what a persistent tier already holds (after a restart). */
  async loadIndex(): Promise<void> {
    for await (const meta of this.store.entries()) this.remember(meta);
  }

  private remember(meta: EntrySummary & { encoding?: string }): void {
    // Compressed copies are found through their identity object's key.
    if (meta.encoding !== undefined || meta.key.includes('\u0000')) return;
    if (meta.vary.length === 0) {
      this.variants.delete(meta.primary);
      return;
    }
    let entry = this.variants.get(meta.primary);
    if (entry === undefined || entry.vary.join() !== meta.vary.join()) {
      entry = { vary: meta.vary, keys: new Set() };
      this.variants.set(meta.primary, entry);
    }
    entry.keys.add(meta.key);
  }

  /** Every key stored for a primary key: itself or each variant's, and their compressed copies. */
  keysOf(primary: string): string[] {
    const entry = this.variants.get(primary);
    const keys = entry === undefined ? [primary] : [primary, ...entry.keys];
    return keys.flatMap((k) => [k, encodedKey(k, 'br'), encodedKey(k, 'gzip')]);
  }

  /**
   * Removes every variant of a URL (RFC 9111 §4.4, after a successful unsafe request). Resolves
   * with how many objects were removed.
   */
  async invalidate(primary: string): Promise<number> {
    let removed = 0;
    for (const key of this.keysOf(primary)) if (await this.store.delete(key)) removed++;
    this.variants.get(primary)?.keys.clear();
    return removed;
  }

  /** The key of the variant this request would match: primary, plus a secondary key if it varies. */
  keyFor(primary: string, headers: HeaderMap): string {
    const entry = this.variants.get(primary);
    return entry === undefined ? primary : primary + secondaryKey(entry.vary, headers);
  }

  /** The full key for a response that varies on `vary`, for the request with `headers`. */
  variantKey(primary: string, vary: readonly string[], headers: HeaderMap): string {
    return vary.length === 0 ? primary : primary + secondaryKey(vary, headers);
  }

  get(key: string): StoredObject | undefined | Promise<StoredObject | undefined> {
    return this.store.get(key);
  }

  /** A writer for a new object; records its Vary so later lookups find the right variant. */
  writer(meta: CacheMeta): ObjectWriter | undefined {
    const writer = this.store.put(meta);
    if (!writer) return undefined;
    return {
      get abandoned() {
        return writer.abandoned;
      },
      readBack: writer.readBack,
      write: (chunk) => writer.write(chunk),
      abort: () => writer.abort(),
      commit: async () => {
        const ok = await writer.commit();
        if (ok) {
          this.remember(meta);
          this.uncacheable.delete(meta.primary);
        }
        return ok;
      },
    };
  }

  updateMeta(meta: CacheMeta): void | Promise<void> {
    return this.store.updateMeta(meta);
  }

  delete(key: string): boolean | Promise<boolean> {
    return this.store.delete(key);
  }

  /** Remembers that `primary` answered with something not storable, and why. */
  markUncacheable(primary: string, reason: string): void {
    if (this.options.hitForMissMs > 0) this.uncacheable.set(primary, reason);
  }

  /** Why `primary` was recently not storable, if it was. */
  uncacheableReason(primary: string): string | undefined {
    return this.uncacheable.get(primary);
  }
}
