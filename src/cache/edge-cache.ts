// The cache as the request pipeline sees it: a store (one tier or several), the Vary index that
// turns a primary key into a variant key, the object index purges select from, the flights under
// way, and the keys recently found not storable (Varnish's hit-for-miss: such requests go straight
// to the origin instead of queueing behind a flight that will not be shared).
import { LRUCache } from 'lru-cache';
import type { HeaderMap } from '../http/headers.js';
import { SingleFlight } from './single-flight.js';
import type { CacheMeta, CacheStore, EntrySummary, ObjectWriter, StoredObject } from './store.js';
import { secondaryKey } from './vary.js';
import { encodedKey } from './compression.js';
import { ObjectIndex } from './object-index.js';
import { clock } from '../clock.js';

export interface EdgeCacheOptions {
  /** How long a key found not storable skips coalescing (ms). */
  hitForMissMs: number;
}

/** Decides at commit time whether an object fetched since `since` may still be stored. */
export type StoreGate = (meta: CacheMeta, since: number) => boolean;

export class EdgeCache {
  readonly flights = new SingleFlight();
  readonly index = new ObjectIndex();
  /** primary key → the request fields its responses vary on, and the variant keys stored (only URLs that vary are here). */
  private readonly variants = new Map<string, { vary: readonly string[]; keys: Set<string> }>();
  private readonly uncacheable: LRUCache<string, string>;
  /** Objects soft-purged whose stored metadata is still being rewritten: key → when. */
  private readonly softPurged = new Map<string, number>();
  /** Set by the Purger: refuses objects fetched before a purge that covers them. */
  gate: StoreGate | undefined;

  constructor(
    readonly store: CacheStore,
    private readonly options: EdgeCacheOptions = { hitForMissMs: 30_000 },
  ) {
    this.uncacheable = new LRUCache<string, string>({ max: 100_000, ttl: Math.max(1, options.hitForMissMs), ttlAutopurge: false, perf: clock });
  }

  /** Rebuilds the indexes from what a persistent tier already holds (after a restart). */
  async loadIndex(): Promise<void> {
    for await (const meta of this.store.entries()) this.remember(meta);
  }

  private remember(meta: EntrySummary): void {
    this.index.add(meta.key, { host: meta.host, primary: meta.primary, tags: meta.tags, immutable: meta.immutable === true });
    // Compressed copies are found through their identity object's key.
    if (meta.encoding !== undefined) return;
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

  /** The store pushed an object out (the index must not keep pointing at it). */
  forget(key: string): void {
    this.index.remove(key);
  }

  /** Every key stored for a primary key: itself or each variant's, and their compressed copies. */
  keysOf(primary: string): string[] {
    const entry = this.variants.get(primary);
    const keys = entry === undefined ? [primary] : [primary, ...entry.keys];
    return keys.flatMap((k) => [k, encodedKey(k, 'br'), encodedKey(k, 'gzip')]);
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
    const found = this.store.get(key);
    // Soft purges still being written to disk apply at once (and cost nothing when there are none).
    if (this.softPurged.size === 0) return found;
    if (found instanceof Promise) return found.then((o) => this.overlay(key, o));
    return this.overlay(key, found);
  }

  private overlay(key: string, object: StoredObject | undefined): StoredObject | undefined {
    const at = this.softPurged.get(key);
    if (object === undefined || at === undefined || object.meta.freshUntil <= at) return object;
    return { ...object, meta: markedStale(object.meta, at) };
  }

  /**
   * A writer for a new object. Its commit records the object in the indexes, unless a purge that
   * covers it arrived after `since` (when the fetch started): then it is dropped instead.
   */
  writer(meta: CacheMeta, since = clock.now()): ObjectWriter | undefined {
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
        if (this.purgedSince(meta, since)) {
          writer.abort();
          return false;
        }
        const ok = await writer.commit(() => !this.purgedSince(meta, since));
        if (!ok) return false;
        // A purge that arrived while the tiers were writing found no indexed object to remove:
        // take back what was just written rather than let it outlive the purge.
        if (this.purgedSince(meta, since)) {
          await this.store.delete(meta.key);
          return false;
        }
        this.remember(meta);
        this.uncacheable.delete(meta.primary);
        return true;
      },
    };
  }

  /** Whether a purge made after `since` covers this object. */
  private purgedSince(meta: CacheMeta, since: number): boolean {
    return this.gate !== undefined && !this.gate(meta, since);
  }

  /**
   * Replaces an object's metadata (a 304 freshened it) — unless a purge that covers it arrived
   * after `since`, when the revalidation began: the origin's answer predates the purge.
   */
  updateMeta(meta: CacheMeta, since?: number): void | Promise<void> {
    if (since !== undefined && this.purgedSince(meta, since)) return;
    return this.store.updateMeta(meta);
  }

  delete(key: string): boolean | Promise<boolean> {
    this.index.remove(key);
    return this.store.delete(key);
  }

  /** Marks an object stale now (a soft purge); resolves true if there was one. */
  async markStale(key: string, at: number): Promise<boolean> {
    const object = await this.store.get(key);
    if (object === undefined) return false;
    if (object.meta.freshUntil <= at && object.meta.staleIfErrorMs === 0) return true;
    this.softPurged.set(key, at);
    try {
      await this.store.updateMeta(markedStale(object.meta, at));
    } finally {
      if (this.softPurged.get(key) === at) this.softPurged.delete(key);
    }
    return true;
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

/**
 * A soft-purged object: stale from `at`, but still allowed to be served while a refresh runs or
 * while the origin is down, for as long as it would have stayed fresh (must-revalidate still wins).
 */
export function markedStale(meta: CacheMeta, at: number): CacheMeta {
  const remaining = Math.max(0, meta.freshUntil - at);
  return {
    ...meta,
    freshUntil: Math.min(meta.freshUntil, at),
    staleWhileRevalidateMs: meta.mustRevalidate ? 0 : Math.max(meta.staleWhileRevalidateMs, remaining),
    staleIfErrorMs: meta.mustRevalidate ? 0 : Math.max(meta.staleIfErrorMs, remaining),
  };
}
