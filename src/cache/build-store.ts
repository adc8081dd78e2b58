// The store a config asks for: memory alone, or memory over a disk tier. Each tier indexes what it
// holds; the disk tier reports what an operator should know (its folder deleted and recreated).
import type { EdgeConfig } from '../config/schema.js';
import { DiskStore, type DiskStoreOptions } from './disk-store.js';
import { MemoryStore } from './memory-store.js';
import type { CacheStore } from './store.js';
import { TieredStore } from './tiered-store.js';

export function buildStore(cache: EdgeConfig['cache'], onEvent?: DiskStoreOptions['onEvent']): CacheStore {
  const disk = cache.disk;
  const memory = new MemoryStore({ maxBytes: cache.memory.maxSize, maxObjectBytes: cache.memory.maxObjectSize });
  if (!disk) return memory;
  return new TieredStore(
    memory,
    new DiskStore({
      dir: disk.dir,
      maxBytes: disk.maxSize,
      maxObjectBytes: disk.maxObjectSize,
      maxObjects: disk.maxObjects,
      snapshotRecords: disk.snapshotEvery,
      fsync: disk.fsync,
      // Objects small enough for the memory tier are read whole, so a disk hit can promote them.
      smallObjectBytes: Math.min(1024 * 1024, cache.memory.maxObjectSize),
      onEvent,
    }),
  );
}
