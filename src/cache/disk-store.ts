// The disk tier: one file per object, named by a 128-bit digest of its key, under a byte and an
// object-count budget with least-recently-used eviction. Ours rather than a library's because
// crash safety, streaming and a bounded index are the point:
//   - an object is written to tmp/ and renamed into place whole (disk-writer.ts); its trailer is
//     checked on every read, so a torn file is deleted on sight, never served (disk-files.ts);
//   - the in-memory index holds fixed-size hashes, not keys (object-index.ts, ~100 bytes an
//     object); it is saved as a snapshot plus a journal (disk-index.ts), so a restart reads one
//     file instead of every object; an entry whose file has gone is dropped when found;
//   - one edge per folder, and a folder deleted under a running edge is made again (disk-folder.ts).
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeRange, readObjectMeta, readRange, readTrailer, trailerFor } from './disk-files.js';
import { DiskFolder } from './disk-folder.js';
import { DiskIndex, type DiskIndexLoad } from './disk-index.js';
import { diskWriter } from './disk-writer.js';
import { keyDigest } from './hash.js';
import { clock } from '../clock.js';
import type { ObjectIndex } from './object-index.js';
import { alreadyStale, appliesTo, indexQuery, markedStale, type PurgeTarget } from './purge-target.js';
import { parallel, SerialQueue } from './serial-queue.js';
import type { CacheMeta, CacheStore, ObjectWriter, StoredObject, StoreFootprint, StoreStats } from './store.js';

/** File operations a purge or the eviction backlog runs at once (the thread pool has four threads). */
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
  /** Something an operator should know happened (the folder was deleted and made again). */
  onEvent?: (code: 'disk_cache_lost', detail: Record<string, unknown>) => void;
}

export class DiskStore implements CacheStore {
  readonly name = 'disk';
  readonly prepared: Promise<void>;
  readonly ready: Promise<void>;
  private readonly folder: DiskFolder;
  private readonly disk: DiskIndex;
  private readonly queue = new SerialQueue();
  /** While the index is being rebuilt from files: objects deleted whose file may still be there. */
  private readonly tombstones = new Set<string>();
  /** Evicted objects whose files are still to be unlinked (digests). */
  private readonly unlinkQueue: Buffer[] = [];
  private unlinking = 0;
  private recovering: Promise<void> | undefined;
  private closing = false;
  private lastFolderCheck = 0;
  /** Times the folder was found deleted and made again. */
  recreated = 0;

  constructor(private readonly options: DiskStoreOptions) {
    this.folder = new DiskFolder(options.dir);
    this.disk = new DiskIndex(this.folder.index, { maxObjects: options.maxObjects ?? 1_000_000, fsync: options.fsync === true, snapshotRecords: options.snapshotRecords ?? 65_536 });
    this.prepared = this.prepare();
    this.ready = this.prepared.then(() => (this.indexed ? undefined : this.rebuild()));
    this.ready.catch(() => {});
  }

  /** The in-memory index of what is on disk. */
  get index(): ObjectIndex {
    return this.disk.entries;
  }

  /** How the index was found at start (for the admin API and the restart benchmark). */
  get startup(): DiskIndexLoad | undefined {
    return this.disk.startup;
  }

  /** True once the index lists every object on disk: a key it does not hold is a miss, unopened. */
  private get indexed(): boolean {
    return this.disk.complete;
  }

  /** Takes the folder and reads the index (its snapshot and journal); a new or emptied folder needs no reading. */
  private async prepare(): Promise<void> {
    if (await this.disk.load(await this.folder.open())) this.evict();
  }

  /** Without a usable snapshot: reads every file's trailer (a cache from before snapshots, a lost index). */
  private async rebuild(): Promise<void> {
    await this.disk.rebuild(this.folder, (digest) => this.tombstones.has(digest.toString('hex')), () => this.closing);
    if (!this.indexed) return;
    this.tombstones.clear();
    this.evict();
  }

  pathFor(key: string): string {
    return this.folder.pathOf(keyDigest(key).toString('hex'));
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const digest = keyDigest(key);
    if (this.indexed && this.index.find(digest) < 0) return undefined;
    const hex = digest.toString('hex');
    if (this.tombstones.has(hex)) return undefined;
    const path = this.folder.pathOf(hex);
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
      else this.record(digest, parsed.meta, st.size); // found before the rebuild reached it
      const { meta, bodyLength } = parsed;
      if (bodyLength <= (this.options.smallObjectBytes ?? 1024 * 1024)) {
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

  /** Indexes (and journals) an object found before the rebuild reached it. */
  private record(digest: Buffer, meta: CacheMeta, fileBytes: number): void {
    const rec = this.disk.encode(digest, meta, fileBytes);
    if (rec !== undefined) this.disk.commit(rec);
  }

  /** The index held an object whose file is gone: forget it (and see whether the whole folder went). */
  private dangling(digest: Buffer): void {
    if (this.index.find(digest) < 0) return;
    this.disk.forget(digest);
    if (clock.now() - this.lastFolderCheck > 1000) {
      this.lastFolderCheck = clock.now();
      void this.folder.intact().then((intact) => (intact ? undefined : this.recover()));
    }
  }

  put(meta: CacheMeta): ObjectWriter | undefined {
    if (meta.size > this.options.maxObjectBytes) return undefined;
    const digest = keyDigest(meta.key);
    const hex = digest.toString('hex');
    const tmpPath = this.folder.tmpPath();
    const finalPath = this.folder.pathOf(hex);
    return diskWriter(meta, {
      tmpPath,
      finalPath,
      maxObjectBytes: this.options.maxObjectBytes,
      fsync: this.options.fsync === true,
      prepared: this.prepared,
      remake: () => this.recover(),
      place: async (final, fileBytes, stillWanted) => {
        await mkdir(dirname(finalPath), { recursive: true, mode: 0o700 });
        const placed = await this.queue.run(hex, async () => {
          // Asked in the object's turn: a delete queued before this rename has run by now.
          if (stillWanted !== undefined && !stillWanted()) return false;
          const rec = this.disk.encode(digest, final, fileBytes);
          if (rec === undefined) return false; // its Vary list cannot be kept
          await rename(tmpPath, finalPath);
          this.tombstones.delete(hex);
          this.disk.commit(rec);
          return true;
        });
        if (placed) this.afterChange();
        return placed;
      },
    });
  }

  /** Rewrites the metadata trailer, keeping the body (after a 304). */
  async updateMeta(meta: CacheMeta): Promise<void> {
    const digest = keyDigest(meta.key);
    await this.queue.run(digest.toString('hex'), () => this.rewrite(digest, (stored) => (stored.key === meta.key ? meta : undefined)));
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
      fh = await open(this.folder.pathOf(hex), 'r+');
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
      const rec = this.disk.encode(digest, final, parsed.bodyLength + trailer.length);
      if (rec === undefined) return false;
      await fh.truncate(parsed.bodyLength);
      await fh.write(trailer, 0, trailer.length, parsed.bodyLength);
      if (this.index.find(digest) >= 0) this.disk.commit(rec);
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
    return this.queue.run(hex, () => this.unlinkFile(digest, hex));
  }

  /** Unlinks an object's file, unless it was stored again since it was taken out of the index. */
  private async unlinkFile(digest: Buffer, hex: string): Promise<boolean> {
    try {
      if (this.index.find(digest) >= 0) return false;
      await unlink(this.folder.pathOf(hex));
      this.disk.forget(digest);
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
      if (await this.queue.run(hex, () => this.purgeOne(digest, hex, target))) purged++;
    });
    return purged;
  }

  /** What a purge of `target` would cover: the index's candidates, each checked against its trailer. */
  async keysFor(target: PurgeTarget): Promise<string[]> {
    await this.ready;
    const digests = this.index.select(indexQuery(target)).map((slot) => Buffer.from(this.index.digestOf(slot)));
    const keys: string[] = [];
    await parallel(digests, FILE_CONCURRENCY, async (digest) => {
      const found = await readObjectMeta(this.folder.pathOf(digest.toString('hex')));
      if (typeof found === 'object' && appliesTo(target, found.meta)) keys.push(found.meta.key);
    });
    return keys;
  }

  private async purgeOne(digest: Buffer, hex: string, target: PurgeTarget): Promise<boolean> {
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
    const found = await readObjectMeta(this.folder.pathOf(hex));
    if (found === 'missing') this.dangling(digest);
    if (typeof found !== 'object' || !appliesTo(target, found.meta)) return false;
    this.index.remove(this.index.find(digest));
    return this.unlinkFile(digest, hex);
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
    void this.disk.saveIfDue()?.catch(() => this.recover());
  }

  /** Least recently used objects go first until both budgets hold; their files are unlinked a few at a time. */
  private evict(): void {
    if (!this.indexed) return;
    const { index } = this;
    while ((index.bytes > this.options.maxBytes || index.count > index.maxEntries) && index.head >= 0) {
      this.unlinkQueue.push(Buffer.from(index.digestOf(index.head)));
      index.remove(index.head);
    }
    while (this.unlinking < FILE_CONCURRENCY && this.unlinkQueue.length > 0) {
      const digest = this.unlinkQueue.shift()!;
      const hex = digest.toString('hex');
      this.unlinking++;
      void this.queue.run(hex, () => this.unlinkFile(digest, hex)).finally(() => {
        this.unlinking--;
        this.evict();
      });
    }
  }

  /** The folder (or part of it) was deleted under us: make it again, with an empty index if the objects went. */
  private recover(): Promise<void> {
    this.recovering ??= (async () => {
      const { objectsLost, indexLost } = await this.folder.remake();
      // The journal's file went with its folder: start the index file over from what is in memory.
      if (objectsLost || indexLost) await this.disk.reset(objectsLost);
      if (objectsLost) {
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
      pending: (this.queue.size + this.tombstones.size + this.unlinkQueue.length) * 150 + this.disk.queuedBytes,
    };
  }

  /** Resolves once every index change so far is in the journal (what a kill -9 now would keep). */
  journaled(): Promise<void> {
    return this.disk.journaled();
  }

  /** Saves the index (a restart then reads the snapshot alone) and gives up the folder. */
  async close(): Promise<void> {
    this.closing = true; // a rebuild from files stops where it is: the next start does it again
    await this.ready.catch(() => {});
    await this.queue.idle();
    await this.disk.close();
    await this.folder.release();
  }
}
