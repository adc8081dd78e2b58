// The disk tier: one file per object, named by a 128-bit digest of its key, under a byte and an
// object-count budget with least-recently-used eviction. Ours rather than a library's because
// crash safety, streaming and a bounded index are the point:
//   - an object is written to tmp/ and renamed into objects/ only once every byte is in; each file
//     ends with a trailer (metadata, lengths, magic) checked on every read, so a torn file is
//     deleted on sight, never served (disk-files.ts);
//   - the in-memory index holds fixed-size hashes, not keys (object-index.ts, ~100 bytes per
//     object); it is saved as a snapshot plus a journal (index-file.ts), so a restart reads one
//     file instead of every object; entries whose file has gone are dropped when found;
//   - one edge per folder (dir-lock.ts); a folder deleted under a running edge is recreated.
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { readBackFrom, pipeRange, readObjectMeta, readRange, readTrailer, trailerFor } from './disk-files.js';
import { rebuildFromFiles } from './disk-rebuild.js';
import { DirLock } from './dir-lock.js';
import { keyDigest } from './hash.js';
import { IndexFile } from './index-file.js';
import { ObjectIndex } from './object-index.js';
import { alreadyStale, appliesTo, indexQuery, markedStale, type PurgeTarget } from './purge-target.js';
import type { CacheMeta, CacheStore, ObjectWriter, StoredObject, StoreFootprint, StoreStats } from './store.js';

/** File operations a purge or an eviction backlog runs at once (the thread pool has four threads). */
const FILE_CONCURRENCY = 16;

export interface DiskStoreOptions {
  dir: string;
  maxBytes: number;
  maxObjectBytes: number;
  /** Most objects held (bounds the index's memory: about 100 bytes each). */
  maxObjects?: number;
  /** Objects up to this size are read whole (and can be promoted to memory). */
  smallObjectBytes?: number;
  /** fsync each object (and the index journal) before it counts (survives power loss, costs a disk flush). */
  fsync?: boolean;
  /** Journal records after which the index is saved as a snapshot again (the replay at start stays short). */
  snapshotRecords?: number;
  /** Something an operator should know happened (the folder was deleted and recreated). */
  onEvent?: (code: 'disk_cache_lost', detail: Record<string, unknown>) => void;
}

export class DiskStore implements CacheStore {
  readonly name = 'disk';
  readonly index: ObjectIndex;
  readonly prepared: Promise<void>;
  readonly ready: Promise<void>;
  private readonly objects: string;
  private readonly tmp: string;
  private readonly smallObjectBytes: number;
  private readonly file: IndexFile;
  private lock: DirLock | undefined;
  /** True once the index lists every object on disk: a key it does not hold is a miss, unopened. */
  private indexed = false;
  /** How the index was found at start (for the admin API and the restart benchmark). */
  startup: { from: 'snapshot' | 'files' | 'new'; replayed: number; torn: number; ms: number } | undefined;
  /**
   * File operations on one object run one after another (rename, rewrite, unlink, purge check),
   * so an unlink still pending can never remove the object a later fetch stored under the same name.
   */
  private readonly chains = new Map<string, Promise<unknown>>();
  /** While the index is being rebuilt from files: objects deleted whose file may still be there. */
  private readonly tombstones = new Set<string>();
  /** Evicted objects whose files are still to be unlinked (digests). */
  private readonly unlinkQueue: Buffer[] = [];
  private unlinking = 0;
  private recovering: Promise<void> | undefined;
  private closing = false;
  private lastFolderCheck = 0;
  /** Times the folder was found deleted and recreated. */
  recreated = 0;

  constructor(private readonly options: DiskStoreOptions) {
    this.objects = join(options.dir, 'objects');
    this.tmp = join(options.dir, 'tmp');
    this.smallObjectBytes = options.smallObjectBytes ?? 1024 * 1024;
    this.index = new ObjectIndex(options.maxObjects ?? 1_000_000);
    this.file = new IndexFile(join(options.dir, 'index'), options.fsync);
    this.index.varyLists.onNew = (id, names) => void this.file.vary(id, names);
    this.prepared = this.prepare();
    this.ready = this.prepared.then(() => (this.indexed ? undefined : this.rebuild()));
    this.ready.catch(() => {});
  }

  /** Takes the folder's lock, clears what a crashed owner left half-written, reads the index. */
  private async prepare(): Promise<void> {
    const started = performance.now();
    await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    this.lock = await DirLock.acquire(this.options.dir);
    // Ours alone now (the lock): whatever is in tmp/ was being written by a previous owner that died.
    await rm(this.tmp, { recursive: true, force: true });
    await mkdir(this.tmp, { recursive: true, mode: 0o700 });
    const existed = (await readdir(this.objects).catch(() => [])).length > 0;
    await mkdir(this.objects, { recursive: true, mode: 0o700 });
    const loaded = await this.file.load(this.index);
    await this.file.open();
    if (loaded.loaded || !existed) {
      this.indexed = true;
      if (!loaded.loaded) await this.file.snapshot(this.index); // a new folder: its (empty) index is complete
      this.startup = { from: loaded.loaded ? 'snapshot' : 'new', replayed: loaded.replayed, torn: loaded.torn, ms: performance.now() - started };
      this.evict();
    }
  }

  /** Without a usable snapshot: reads every file's trailer (a cache from before snapshots, a lost index). */
  private async rebuild(): Promise<void> {
    const started = performance.now();
    await rebuildFromFiles({
      objects: this.objects,
      pathOf: (hex) => this.pathOf(hex),
      stopped: () => this.closing,
      adopt: (digest, meta, fileBytes) => {
        // Stored or deleted since start-up: what happened since is newer than the file found.
        if (this.index.find(digest) >= 0 || this.tombstones.has(digest.toString('hex'))) return;
        const rec = this.index.encode(digest, meta, fileBytes);
        // Not journaled: the snapshot taken when the rebuild ends holds them all.
        if (rec) this.index.apply(rec, true);
      },
    });
    if (this.closing) return;
    this.indexed = true;
    this.tombstones.clear();
    this.startup = { from: 'files', replayed: 0, torn: 0, ms: performance.now() - started };
    await this.file.snapshot(this.index);
    this.evict();
  }

  private serial<T>(hex: string, op: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(hex) ?? Promise.resolve();
    const next = previous.then(op, op);
    const tail = next.catch(() => {});
    this.chains.set(hex, tail);
    void tail.then(() => {
      if (this.chains.get(hex) === tail) this.chains.delete(hex);
    });
    return next;
  }

  private pathOf(hex: string): string {
    return join(this.objects, hex.slice(0, 2), hex.slice(2, 4), hex);
  }

  pathFor(key: string): string {
    return this.pathOf(keyDigest(key).toString('hex'));
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const digest = keyDigest(key);
    if (this.indexed && this.index.find(digest) < 0) return undefined;
    const hex = digest.toString('hex');
    if (this.tombstones.has(hex)) return undefined;
    const path = this.pathOf(hex);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch {
      this.dangling(digest);
      return undefined;
    }
    try {
      const st = await fh.stat();
      const parsed = await readTrailer(fh, st.size);
      if (!parsed) {
        await this.remove(digest);
        return undefined;
      }
      if (parsed.meta.key !== key) return undefined; // a digest collision: not ours
      const slot = this.index.find(digest);
      if (slot >= 0) this.index.touch(slot);
      else if (this.indexed) return undefined; // removed while we read (purged, evicted)
      else this.indexFound(digest, parsed.meta, st.size);
      const { meta, bodyLength } = parsed;
      if (bodyLength <= this.smallObjectBytes) {
        const body = Buffer.allocUnsafe(bodyLength);
        if (bodyLength > 0) await fh.read(body, 0, bodyLength, 0);
        return { meta, body };
      }
      const ino = st.ino;
      return { meta, open: (start, end) => readRange(path, ino, start, end), pipe: (start, end, out) => pipeRange(path, ino, start, end, out) };
    } finally {
      await fh.close();
    }
  }

  /** A file found before the rebuild reached it. */
  private indexFound(digest: Buffer, meta: CacheMeta, fileBytes: number): void {
    const rec = this.index.encode(digest, meta, fileBytes);
    if (rec === undefined) return;
    this.index.apply(rec);
    void this.file.add(rec);
  }

  /** The index held an object whose file is gone: forget it (and see whether the whole folder went). */
  private dangling(digest: Buffer): void {
    const slot = this.index.find(digest);
    if (slot < 0) return;
    this.index.remove(slot);
    void this.file.remove(digest);
    if (Date.now() - this.lastFolderCheck > 1000) {
      this.lastFolderCheck = Date.now();
      void stat(this.objects).catch(() => this.recover());
    }
  }

  put(meta: CacheMeta): ObjectWriter | undefined {
    if (meta.size > this.options.maxObjectBytes) return undefined;
    const tmpPath = join(this.tmp, randomUUID());
    const digest = keyDigest(meta.key);
    const hex = digest.toString('hex');
    const finalPath = this.pathOf(hex);
    let written = 0;
    let abandoned = false;
    let committed = false;
    const create = () => open(tmpPath, 'w', 0o600);
    // One write at a time, in order; a failed write abandons the object.
    let queue: Promise<FileHandle | undefined> = this.prepared
      .then(() => create().catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        await this.recover(); // the folder was deleted under us
        return create();
      }))
      .catch(() => {
        abandoned = true;
        return undefined;
      });
    const abort = () => {
      if (committed) return;
      abandoned = true;
      void queue.then(async (fh) => {
        await fh?.close().catch(() => {});
        await unlink(tmpPath).catch(() => {});
      });
    };
    return {
      get abandoned() {
        return abandoned;
      },
      write: (chunk) => {
        if (abandoned) return;
        written += chunk.length;
        if (written > this.options.maxObjectBytes) return abort();
        queue = queue.then(async (fh) => {
          if (!fh || abandoned) return fh;
          await fh.write(chunk).catch(abort);
          return fh;
        });
        return queue.then(() => undefined);
      },
      commit: async () => {
        const fh = await queue;
        if (abandoned || !fh) {
          abort();
          return false;
        }
        const final: CacheMeta = { ...meta, size: written };
        const trailer = trailerFor(final, written);
        const rec = this.index.encode(digest, final, written + trailer.length);
        try {
          if (rec === undefined) throw new Error('Vary table full');
          await fh.write(trailer);
          if (this.options.fsync) await fh.sync();
          await fh.close();
          await mkdir(join(finalPath, '..'), { recursive: true, mode: 0o700 });
          await this.serial(hex, async () => {
            await rename(tmpPath, finalPath);
            // In memory and in the journal in one step, so a snapshot never sees one without the other.
            this.tombstones.delete(hex);
            this.index.apply(rec);
            void this.file.add(rec);
          });
        } catch {
          abort();
          return false;
        }
        committed = true;
        this.afterChange();
        return true;
      },
      abort,
      // Bytes already written can be read back from the temporary file, or from the object once
      // it has been renamed into place.
      readBack: (start, end) => readBackFrom(tmpPath, finalPath, start, end),
    };
  }

  /** Rewrites the metadata trailer, keeping the body (after a 304). */
  updateMeta(meta: CacheMeta): Promise<void> {
    const digest = keyDigest(meta.key);
    return this.serial(digest.toString('hex'), () => this.rewrite(digest, (stored) => (stored.key === meta.key ? meta : undefined))).then(() => {});
  }

  /**
   * Replaces an object's trailer with what `update` makes of its metadata (undefined: leave it).
   * A crash between the truncate and the write leaves a file whose trailer does not check out: it
   * is deleted when next read, never served.
   */
  private async rewrite(digest: Buffer, update: (meta: CacheMeta) => CacheMeta | undefined): Promise<boolean> {
    const hex = digest.toString('hex');
    if (this.tombstones.has(hex) || (this.indexed && this.index.find(digest) < 0)) return false;
    let fh: FileHandle;
    try {
      fh = await open(this.pathOf(hex), 'r+');
    } catch {
      this.dangling(digest);
      return false;
    }
    try {
      const st = await fh.stat();
      const parsed = await readTrailer(fh, st.size);
      const meta = parsed && update(parsed.meta);
      if (!parsed || !meta) return false;
      const final = { ...meta, size: parsed.bodyLength };
      const trailer = trailerFor(final, parsed.bodyLength);
      const rec = this.index.encode(digest, final, parsed.bodyLength + trailer.length);
      if (!rec) return false;
      await fh.truncate(parsed.bodyLength);
      await fh.write(trailer, 0, trailer.length, parsed.bodyLength);
      if (this.index.find(digest) >= 0) {
        this.index.apply(rec);
        void this.file.add(rec);
      }
      return true;
    } finally {
      await fh.close();
    }
  }

  async delete(key: string): Promise<boolean> {
    const digest = keyDigest(key);
    const existed = this.index.find(digest) >= 0;
    const removed = await this.remove(digest);
    return existed || removed;
  }

  /** Gone from the index and from lookups at once; the file follows when its turn comes. */
  private remove(digest: Buffer): Promise<boolean> {
    const hex = digest.toString('hex');
    const slot = this.index.find(digest);
    if (slot >= 0) this.index.remove(slot);
    if (!this.indexed) this.tombstones.add(hex);
    return this.serial(hex, () => this.unlinkFile(digest, hex));
  }

  /** Unlinks an object's file, unless it was stored again since it was taken out of the index. */
  private async unlinkFile(digest: Buffer, hex: string): Promise<boolean> {
    try {
      if (this.index.find(digest) >= 0) return false;
      await unlink(this.pathOf(hex));
      void this.file.remove(digest);
      return true;
    } catch {
      return false;
    } finally {
      if (this.index.find(digest) < 0) this.tombstones.delete(hex);
    }
  }

  /**
   * Removes, or marks stale, every object the purge covers that was stored no later than it. The
   * index gives the candidates; each one's trailer is read (in its file's turn) to check it.
   */
  async purge(target: PurgeTarget): Promise<number> {
    await this.ready; // a purge needs the whole index (lookups meanwhile are covered by EdgeCache)
    const digests = this.index.select(indexQuery(target)).map((slot) => Buffer.from(this.index.digestOf(slot)));
    let purged = 0;
    await parallel(digests, FILE_CONCURRENCY, async (digest) => {
      const hex = digest.toString('hex');
      const done = await this.serial(hex, async () => {
        if (this.index.find(digest) < 0) return false;
        if (target.soft) {
          let covered = false;
          const changed = await this.rewrite(digest, (meta) => {
            if (!appliesTo(target, meta)) return undefined;
            covered = true;
            return alreadyStale(meta, target.at) ? undefined : markedStale(meta, target.at);
          });
          return changed || covered;
        }
        const found = await readObjectMeta(this.pathOf(hex));
        if (found === 'missing' || found === undefined) {
          if (found === 'missing') this.dangling(digest);
          return false;
        }
        if (!appliesTo(target, found.meta)) return false;
        this.index.remove(this.index.find(digest));
        return this.unlinkFile(digest, hex);
      });
      if (done) purged++;
    });
    return purged;
  }

  varyOf(primary: string): readonly string[] | undefined {
    return this.index.varyOf(primary);
  }

  variantCount(primary: string): number {
    return this.index.variantCount(primary);
  }

  has(key: string): boolean {
    return this.index.find(keyDigest(key)) >= 0;
  }

  /** After a change: evict over budget, and save the index again when the journal has grown long. */
  private afterChange(): void {
    this.evict();
    if (this.indexed && this.file.records >= Math.max(this.options.snapshotRecords ?? 65_536, this.index.count / 2)) void this.file.snapshot(this.index).catch(() => this.recover());
  }

  /** Least recently used objects go first until both budgets hold; their files are unlinked a few at a time. */
  private evict(): void {
    if (!this.indexed) return;
    const { index } = this;
    while ((index.bytes > this.options.maxBytes || index.count > index.maxEntries) && index.head >= 0) {
      const slot = index.head;
      this.unlinkQueue.push(Buffer.from(index.digestOf(slot)));
      index.remove(slot);
    }
    while (this.unlinking < FILE_CONCURRENCY && this.unlinkQueue.length > 0) {
      const digest = this.unlinkQueue.shift()!;
      const hex = digest.toString('hex');
      this.unlinking++;
      void this.serial(hex, () => this.unlinkFile(digest, hex)).finally(() => {
        this.unlinking--;
        this.evict();
      });
    }
  }

  /** The folder (or part of it) was deleted under us: make it again, with an empty index if the objects went. */
  private recover(): Promise<void> {
    this.recovering ??= (async () => {
      const gone = (path: string) => stat(path).then(() => false, () => true);
      const lost = await gone(this.objects);
      const indexLost = await gone(this.file.dir);
      await mkdir(this.tmp, { recursive: true, mode: 0o700 });
      await mkdir(this.objects, { recursive: true, mode: 0o700 });
      await this.lock?.rewrite();
      if (lost) this.index.clear();
      // The journal's file went with its folder: start the index file over from what is in memory.
      if (lost || indexLost) await this.file.reset(this.index);
      if (lost) {
        this.recreated++;
        this.options.onEvent?.('disk_cache_lost', { dir: this.options.dir });
      }
    })().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  stats(): StoreStats {
    return { entries: this.index.count, bytes: this.index.bytes, maxBytes: this.options.maxBytes };
  }

  footprint(): StoreFootprint {
    return {
      index: this.index.memoryBytes(),
      entries: this.index.count,
      maxEntries: this.index.maxEntries,
      // Map entries and queued buffers: about 150 bytes for each file operation under way.
      pending: (this.chains.size + this.tombstones.size + this.unlinkQueue.length) * 150 + this.file.queuedBytes,
    };
  }

  /** Resolves once every index change so far is in the journal (what a kill -9 now would keep). */
  journaled(): Promise<void> {
    return this.file.flushed();
  }

  /** Saves the index (a restart then reads the snapshot alone) and gives up the folder. */
  async close(): Promise<void> {
    this.closing = true; // a rebuild from files stops where it is: the next start does it again
    await this.ready.catch(() => {});
    await Promise.all([...this.chains.values()]);
    if (this.indexed) await this.file.snapshot(this.index).catch(() => {});
    await this.file.close().catch(() => {});
    await this.lock?.release();
  }
}

/** Runs `op` over `items`, at most `limit` at a time. */
async function parallel<T>(items: readonly T[], limit: number, op: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await op(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
