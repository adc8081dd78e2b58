// The cache as the request pipeline sees it: a store (one tier or several, each indexing what it
// holds — the Vary lookups and purges go through those indexes), the flights under way, the keys
// recently found not storable (Varnish's hit-for-miss: such requests go straight to the origin
// instead of queueing behind a flight that will not be shared), and the purges being applied.
// Everything here that grows with distinct keys is bounded (see EdgeCacheLimits).
import { LRUCache } from 'lru-cache';
import type { HeaderMap } from '../http/headers.js';
import { hash53 } from './hash.js';
import { SingleFlight } from './single-flight.js';
import type { CacheMeta, CacheStore, ObjectWriter, StoredObject } from './store.js';
import { secondaryKey } from './vary.js';
import { alreadyStale, appliesTo, markedStale, type PurgeTarget } from './purge-target.js';
import { clock } from '../clock.js';

export interface EdgeCacheLimits {
  /** How long a key found not storable skips coalescing (ms). */
  hitForMissMs: number;
  /** Most hit-for-miss marks kept (each a 53-bit hash of the URL, ~100 bytes). */
  hitForMissEntries: number;
  /** Most variants (Vary) of one URL stored; more are not stored (`too-many-variants`). */
  maxVariants: number;
  /** Longest cache key stored (characters); longer are not stored (`key-too-long`). */
  maxKeyLength: number;
  /** Most fetches coalesced at once; past it, requests fetch on their own. */
  maxFlights: number;
}

export const DEFAULT_LIMITS: EdgeCacheLimits = { hitForMissMs: 30_000, hitForMissEntries: 100_000, maxVariants: 64, maxKeyLength: 16_384, maxFlights: 10_000 };

/** Why the cache refused an object the origin allowed it to store. */
export type Refusal = 'too-many-variants' | 'key-too-long';

/** Decides at commit time whether an object fetched since `since` may still be stored. */
export type StoreGate = (meta: CacheMeta, since: number) => boolean;

export class EdgeCache {
  readonly flights: SingleFlight;
  /** Marks keyed by a 53-bit hash of the URL: a fixed size whatever the URL's length. */
  private readonly uncacheable: LRUCache<number, string>;
  /** Purges being applied: lookups check them, so a purge holds from the moment it is made. */
  private readonly applying = new Set<PurgeTarget>();
  /** Set by the Purger: refuses objects fetched before a purge that covers them. */
  gate: StoreGate | undefined;
  /**
   * Epoch ms: objects stored before it are not served (a miss). Set by the cluster layer when this
   * node missed purges it can no longer read, so it cannot prove anything it held fresh.
   */
  distrustBefore = 0;
  readonly limits: EdgeCacheLimits;

  constructor(
    readonly store: CacheStore,
    limits: Partial<EdgeCacheLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.flights = new SingleFlight(this.limits.maxFlights);
    this.uncacheable = new LRUCache<number, string>({ max: this.limits.hitForMissEntries, ttl: Math.max(1, this.limits.hitForMissMs), ttlAutopurge: false, perf: clock });
  }

  /** The key of the variant this request would match: primary, plus a secondary key if it varies. */
  keyFor(primary: string, headers: HeaderMap): string {
    const vary = this.store.varyOf(primary);
    return vary === undefined || vary.length === 0 ? primary : primary + secondaryKey(vary, headers);
  }

  /** The full key for a response that varies on `vary`, for the request with `headers`. */
  variantKey(primary: string, vary: readonly string[], headers: HeaderMap): string {
    return vary.length === 0 ? primary : primary + secondaryKey(vary, headers);
  }

  get(key: string): StoredObject | undefined | Promise<StoredObject | undefined> {
    const found = this.store.get(key);
    // Purges still being applied hold at once (and cost nothing when there are none).
    if (this.applying.size === 0 && this.distrustBefore === 0) return found;
    if (found instanceof Promise) return found.then((o) => this.overlay(o));
    return this.overlay(found);
  }

  private overlay(object: StoredObject | undefined): StoredObject | undefined {
    if (object === undefined || object.meta.storedAt < this.distrustBefore) return undefined;
    let meta = object.meta;
    for (const t of this.applying) {
      if (!appliesTo(t, meta)) continue;
      if (!t.soft) return undefined;
      if (!alreadyStale(meta, t.at)) meta = markedStale(meta, t.at);
    }
    return meta === object.meta ? object : { ...object, meta };
  }

  /** Whether the cache's limits refuse this object (the store step counts the reason). */
  refusal(meta: CacheMeta): Refusal | undefined {
    if (meta.key.length > this.limits.maxKeyLength) return 'key-too-long';
    if (meta.vary.length > 0 && meta.encoding === undefined && this.store.variantCount(meta.primary) >= this.limits.maxVariants && !this.store.has(meta.key)) return 'too-many-variants';
    return undefined;
  }

  /**
   * A writer for a new object. Its commit makes the object visible, unless a purge that covers it
   * arrived after `since` (when the fetch started): then it is dropped instead.
   */
  writer(meta: CacheMeta, since = clock.now()): ObjectWriter | undefined {
    if (this.refusal(meta) !== undefined) return undefined;
    const writer = this.store.put(meta);
    if (!writer) return undefined;
    return {
      get abandoned() {
        return writer.abandoned;
      },
      get readBack() {
        return writer.readBack;
      },
      hold: writer.hold && (() => writer.hold!()),
      write: (chunk) => writer.write(chunk),
      abort: () => writer.abort(),
      commit: async () => {
        if (this.purgedSince(meta, since)) {
          writer.abort();
          return false;
        }
        const ok = await writer.commit(() => !this.purgedSince(meta, since));
        if (!ok) return false;
        // A purge that arrived while the tiers were writing did not find this object: take back
        // what was just written rather than let it outlive the purge.
        if (this.purgedSince(meta, since)) {
          await this.store.delete(meta.key);
          return false;
        }
        this.uncacheable.delete(hash53(meta.primary));
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
    return this.store.delete(key);
  }

  /**
   * Applies a purge to every tier: lookups treat what it covers as gone (or stale) from now on,
   * while the tiers find and remove (or mark) the objects. Resolves with how many there were.
   */
  async purge(target: PurgeTarget): Promise<number> {
    this.applying.add(target);
    try {
      return await this.store.purge(target);
    } finally {
      this.applying.delete(target);
    }
  }

  /** Remembers that `primary` answered with something not storable, and why. */
  markUncacheable(primary: string, reason: string): void {
    if (this.limits.hitForMissMs > 0) this.uncacheable.set(hash53(primary), reason);
  }

  /** Why `primary` was recently not storable, if it was. */
  uncacheableReason(primary: string): string | undefined {
    return this.uncacheable.get(hash53(primary));
  }

  /** What the cache's own bookkeeping holds in memory, beside the stores (for the admin API). */
  footprint(): { hitForMiss: { entries: number; max: number; bytes: number }; flights: { count: number; max: number }; purgesApplying: number } {
    const { size, max } = this.uncacheable;
    // lru-cache keeps a Map entry, list slots and TTL stamps per mark (~100 bytes), and arrays sized for max.
    return { hitForMiss: { entries: size, max, bytes: size * 100 + max * 32 }, flights: { count: this.flights.size, max: this.flights.max }, purgesApplying: this.applying.size };
  }
}
