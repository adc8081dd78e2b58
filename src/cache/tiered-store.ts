// Memory over disk. Every object is written through to both tiers (the memory tier refuses what is
// too large for it); lookups try memory first — synchronously, so a hot object costs no await — and
// a disk hit small enough for memory is promoted there, so hot objects end up in RAM. Each tier
// indexes what it holds; the disk's index is normally a superset, the memory's also covers objects
// the disk could not take.
import type { DiskStore } from './disk-store.js';
import type { MemoryStore } from './memory-store.js';
import type { PurgeTarget } from './purge-target.js';
import type { CacheMeta, CacheStore, ObjectWriter, StoredObject, StoreFootprint, StoreStats } from './store.js';

export class TieredStore implements CacheStore {
  readonly name = 'tiered';
  readonly prepared: Promise<void>;
  readonly ready: Promise<void>;

  constructor(
    readonly memory: MemoryStore,
    readonly disk: DiskStore,
  ) {
    this.prepared = disk.prepared;
    this.ready = disk.ready;
  }

  /** Purges and deletes begun, and those still running: a disk read they overlap is not promoted. */
  private removals = 0;
  private removing = 0;

  get(key: string): StoredObject | undefined | Promise<StoredObject | undefined> {
    const hot = this.memory.get(key);
    if (hot !== undefined) return hot;
    const before = this.removals;
    const quiet = this.removing === 0;
    return this.disk.get(key).then((object) => {
      // A purge running while the file was read may already have swept the memory tier: promoting
      // what was read would put the purged object back there, for every later hit.
      if (object?.body !== undefined && quiet && this.removals === before && this.removing === 0) this.memory.insert(object);
      return object;
    });
  }

  put(meta: CacheMeta): ObjectWriter | undefined {
    const writers = [this.memory.put(meta), this.disk.put(meta)].filter((w): w is ObjectWriter => w !== undefined);
    if (writers.length === 0) return undefined;
    const disk = writers.find((w) => w.readBack !== undefined);
    return {
      get abandoned() {
        return writers.every((w) => w.abandoned);
      },
      // Only while the disk is still writing: a memory copy going on alone must not have its
      // bytes marked as readable from a file that stopped growing.
      get readBack() {
        return disk?.abandoned === false ? disk.readBack : undefined;
      },
      hold: disk?.hold && (() => disk.hold!()),
      write: (chunk) => {
        let wait: Promise<void> | undefined;
        for (const w of writers) {
          const p = w.write(chunk);
          if (p) wait = p;
        }
        return wait;
      },
      commit: async (stillWanted) => {
        const results = await Promise.all(writers.map((w) => w.commit(stillWanted)));
        return results.some(Boolean);
      },
      abort: () => {
        for (const w of writers) w.abort();
      },
    };
  }

  async updateMeta(meta: CacheMeta): Promise<void> {
    this.memory.updateMeta(meta);
    await this.disk.updateMeta(meta);
  }

  async delete(key: string): Promise<boolean> {
    this.removals++;
    this.removing++;
    try {
      const inMemory = this.memory.delete(key);
      const onDisk = await this.disk.delete(key);
      return inMemory || onDisk;
    } finally {
      this.removing--;
    }
  }

  async keysFor(target: PurgeTarget): Promise<string[]> {
    return [...new Set([...(await this.memory.keysFor(target)), ...(await this.disk.keysFor(target))])];
  }

  /** Both tiers at once; an object held by both counts once. */
  async purge(target: PurgeTarget): Promise<number> {
    this.removals++;
    this.removing++;
    try {
      const inMemory = this.memory.purgeKeys(target).filter((key) => !this.disk.has(key)).length;
      return inMemory + (await this.disk.purge(target));
    } finally {
      this.removing--;
    }
  }

  varyOf(primary: string): readonly string[] | undefined {
    return this.memory.varyOf(primary) ?? this.disk.varyOf(primary);
  }

  variantCount(primary: string): number {
    return Math.max(this.memory.variantCount(primary), this.disk.variantCount(primary));
  }

  has(key: string): boolean {
    return this.memory.has(key) || this.disk.has(key);
  }

  stats(): StoreStats {
    return this.disk.stats();
  }

  footprint(): StoreFootprint {
    const m = this.memory.footprint();
    const d = this.disk.footprint();
    return { index: m.index + d.index, entries: d.entries, maxEntries: d.maxEntries, pending: m.pending + d.pending };
  }

  /** Both tiers' figures, for the admin API. */
  tierStats(): { memory: StoreStats; disk: StoreStats } {
    return { memory: this.memory.stats(), disk: this.disk.stats() };
  }

  async close(): Promise<void> {
    await this.memory.close();
    await this.disk.close();
  }
}
