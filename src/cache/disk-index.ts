// The disk tier's index as a whole: the compact in-memory index of what is on disk (object-index.ts),
// kept on disk as a snapshot plus a journal (index-file.ts), read at start — or, when there is no
// usable snapshot, rebuilt from the files themselves (disk-rebuild.ts) — and saved again when its
// journal has grown long and at close. Until it is complete, the store opens files to find out.
import type { DiskFolder } from './disk-folder.js';
import { rebuildFromFiles } from './disk-rebuild.js';
import { IndexFile } from './index-file.js';
import { ObjectIndex } from './object-index.js';
import type { CacheMeta } from './store.js';

/** How the index was found at start. */
export interface DiskIndexLoad {
  from: 'snapshot' | 'files' | 'new';
  /** Journal records replayed on top of the snapshot. */
  replayed: number;
  /** Journals that ended in a torn record. */
  torn: number;
  ms: number;
}

export class DiskIndex {
  readonly entries: ObjectIndex;
  private readonly file: IndexFile;
  /** True once it lists every object on disk: a key it does not hold is a miss. */
  complete = false;
  startup: DiskIndexLoad | undefined;

  constructor(
    dir: string,
    private readonly options: { maxObjects: number; fsync: boolean; snapshotRecords: number },
  ) {
    this.entries = new ObjectIndex(options.maxObjects);
    this.file = new IndexFile(dir, options.fsync);
    // A new Vary list is journaled before the first entry that uses it.
    this.entries.varyLists.onNew = (id, names) => void this.file.vary(id, names);
  }

  /** Reads the snapshot and the journals after it; false when the index must be rebuilt from the files. */
  async load(objectsHeld: boolean): Promise<boolean> {
    const started = performance.now();
    const loaded = await this.file.load(this.entries);
    await this.file.open();
    if (!loaded.loaded && objectsHeld) return false;
    this.complete = true;
    if (!loaded.loaded) await this.file.snapshot(this.entries); // a new folder: its empty index is whole
    this.startup = { from: loaded.loaded ? 'snapshot' : 'new', replayed: loaded.replayed, torn: loaded.torn, ms: performance.now() - started };
    return true;
  }

  /** Indexes every object file (skipping what was stored or deleted since start-up), then saves a snapshot. */
  async rebuild(folder: DiskFolder, skip: (digest: Buffer) => boolean, stopped: () => boolean): Promise<void> {
    const started = performance.now();
    await rebuildFromFiles({
      objects: folder.objects,
      pathOf: (hex) => folder.pathOf(hex),
      stopped,
      adopt: (digest, meta, fileBytes) => {
        if (this.entries.find(digest) >= 0 || skip(digest)) return;
        const rec = this.entries.encode(digest, meta, fileBytes);
        // Not journaled: the snapshot taken when the rebuild ends holds them all.
        if (rec) this.entries.apply(rec, true);
      },
    });
    if (stopped()) return;
    this.complete = true;
    this.startup = { from: 'files', replayed: 0, torn: 0, ms: performance.now() - started };
    await this.file.snapshot(this.entries);
  }

  /** The record for an object (undefined: its Vary list cannot be kept). */
  encode(digest: Buffer, meta: CacheMeta, fileBytes: number): Buffer | undefined {
    return this.entries.encode(digest, meta, fileBytes);
  }

  /** Indexes an object and journals it, in one step (a snapshot never sees one without the other). */
  commit(rec: Buffer): void {
    this.entries.apply(rec);
    void this.file.add(rec);
  }

  /** Takes an entry out and journals it (its file is gone). */
  forget(digest: Buffer): void {
    const slot = this.entries.find(digest);
    if (slot >= 0) this.entries.remove(slot);
    void this.file.remove(digest);
  }

  /** Saves the index again once its journal has grown long (half the entries, at least `snapshotRecords`). */
  saveIfDue(): Promise<void> | undefined {
    if (!this.complete || this.file.records < Math.max(this.options.snapshotRecords, this.entries.count / 2)) return undefined;
    return this.file.snapshot(this.entries);
  }

  /** The folder was lost: start over (empty, when its objects went too) with a fresh snapshot and journal. */
  async reset(empty: boolean): Promise<void> {
    if (empty) this.entries.clear();
    await this.file.reset(this.entries);
  }

  /** Resolves once every change so far is in the journal (what a kill -9 now would keep). */
  journaled(): Promise<void> {
    return this.file.flushed();
  }

  get queuedBytes(): number {
    return this.file.queuedBytes;
  }

  /** Saves a snapshot (when complete) and closes the journal. */
  async close(): Promise<void> {
    if (this.complete) await this.file.snapshot(this.entries).catch(() => {});
    await this.file.close().catch(() => {});
  }
}
