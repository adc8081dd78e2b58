// The storage contract every cache tier implements (memory, disk, and the tiered pair). It is kept
// small on purpose, like undici's cache-store interface: get, put (a writer that commits only when
// the body is complete), update metadata, delete, list. One contract test suite runs against each
// implementation (test/cache-store-contract.ts). Each store keeps an index of what it holds (a
// fixed few bytes per object, object-index.ts), which answers purges and the Vary lookups.
import type { FreshnessMeta } from './policy.js';
import type { SpillReader } from './flight.js';
import type { PurgeTarget } from './purge-target.js';

/** Everything about a stored response except its body. Serialisable as JSON (the disk tier does). */
export interface CacheMeta extends FreshnessMeta {
  /** The full cache key (primary key plus the variant's secondary key, if any). */
  key: string;
  /** Primary key (scheme, host, path, kept query) shared by every variant of the URL. */
  primary: string;
  host: string;
  path: string;
  status: number;
  /** Response headers as a flat [name, value, name, value, …] list, ready for writeHead. */
  headers: string[];
  /** Body length in bytes. */
  size: number;
  /** Request header names the response varies on (lower case), empty when it does not vary. */
  vary: string[];
  /** Surrogate keys / cache tags, for purges. */
  tags: string[];
  etag?: string;
  lastModified?: string;
  /** The origin member that produced it (X-Served-By-Origin). */
  member?: string;
  /** When it was stored (epoch ms), for purge-by-time and bans. */
  storedAt: number;
  /** Names the body (kept when only the metadata changes), so compressed copies can be matched to it. */
  bodyId?: string;
  /** The edge may serve compressed copies of this (identity) object. */
  compressible?: boolean;
  /** Set on a compressed copy: its content coding. */
  encoding?: 'br' | 'gzip';
  /** A permanent URL's object: host and tag purges leave it alone (a URL purge still removes it). */
  immutable?: boolean;
  /**
   * The origin's Surrogate-Control. Clients never see it, so it is not among `headers`; kept here so
   * a 304 that does not repeat it is judged by the same edge rule (RFC 9111 §4.3.4 merges fields).
   */
  surrogateControl?: string;
}

export interface StoredObject {
  meta: CacheMeta;
  /** The body, when the tier holds it in memory. */
  body?: Buffer;
  /** Streams the body (or the inclusive byte range start..end) from the tier that holds it. */
  open?(start: number, end: number): AsyncIterable<Buffer>;
  /**
   * Writes bytes start..end to `out` reusing a couple of buffers (disk tiers): the fast path for
   * large hits, with no allocation per chunk. Resolves with the bytes written.
   */
  pipe?(start: number, end: number, out: ChunkSink): Promise<number>;
}

/** Where `pipe` writes: a response, seen through the three things it needs. */
export interface ChunkSink {
  write(chunk: Buffer, done: (err?: Error | null) => void): boolean;
  /** Resolves when the sink can take more, or it has gone away. */
  drained(): Promise<void>;
  /** The client went away: stop. */
  readonly gone: boolean;
}

/** Receives a body as it streams in; nothing becomes visible until `commit()` succeeds. */
export interface ObjectWriter {
  /** Resolves when the chunk may be followed by another (backpressure for disk tiers). */
  write(chunk: Buffer): void | Promise<void>;
  /**
   * Makes the object visible; resolves false when the store refused it (for example too large).
   * `stillWanted` is asked at the very moment it would become visible (a purge or an invalidation
   * may have come while the body was being written): false drops it instead.
   */
  commit(stillWanted?: () => boolean): Promise<boolean>;
  /** Drops everything written so far. */
  abort(): void;
  /** True once the store gave up on this object (too large, I/O error): commit will return false. */
  readonly abandoned: boolean;
  /**
   * Reads back bytes already written, so a flight need not keep a large body in memory. Undefined
   * once the store stopped writing (an I/O error); a reader obtained before still reads the bytes
   * written until then, until the owner commits or aborts.
   */
  readonly readBack?: SpillReader;
  /**
   * Keeps what readBack reads from (an open file) after commit or abort, until the returned
   * function is called: a flight's readers far behind may still need it.
   */
  hold?(): () => void;
}

export interface StoreStats {
  entries: number;
  bytes: number;
  maxBytes: number;
}

/** Memory a store's bookkeeping takes, beside the bodies it holds (for the admin API's memory figure). */
export interface StoreFootprint {
  /** Bytes of the object index (columns, tables, Vary lists). */
  index: number;
  entries: number;
  /** The bound on entries (configured, or derived from the byte budget). */
  maxEntries: number;
  /** Bytes held for operations under way (file operations queued, journal records not yet written). */
  pending: number;
}

export interface CacheStore {
  readonly name: string;
  /** Synchronous for memory tiers, so a memory hit never waits on the event loop. */
  get(key: string): StoredObject | undefined | Promise<StoredObject | undefined>;
  /** A writer for a new object, or undefined when the store will not take it (too large). */
  put(meta: CacheMeta): ObjectWriter | undefined;
  /** Replaces metadata (after a 304 revalidation, a soft purge) and keeps the body. */
  updateMeta(meta: CacheMeta): void | Promise<void>;
  delete(key: string): boolean | Promise<boolean>;
  /**
   * Removes (or, for a soft purge, marks stale) every object the purge covers that was stored no
   * later than it, found through the index and checked against its metadata. Resolves with how many.
   */
  purge(target: PurgeTarget): Promise<number>;
  /** The keys of the objects a purge of `target` would cover, acting on none (the platform's GET /inspect). */
  keysFor(target: PurgeTarget): Promise<string[]>;
  /** The Vary names of the URL's current variants ([]: it does not vary); undefined when none is held. */
  varyOf(primary: string): readonly string[] | undefined;
  /** How many variants (identity objects) of the URL are held. */
  variantCount(primary: string): number;
  /** Whether an object is held under `key` (from the index: no I/O). */
  has(key: string): boolean;
  /** Resolves once the store can take writes (folders made, leftovers of a crash cleared). */
  readonly prepared?: Promise<void>;
  /** Resolves once a persistent tier has found what it held before a restart. */
  readonly ready?: Promise<void>;
  stats(): StoreStats;
  footprint(): StoreFootprint;
  close(): Promise<void>;
}
