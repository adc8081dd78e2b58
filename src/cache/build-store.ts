// The store a config asks for: memory alone, or memory over a disk tier. The bottom tier reports
// its evictions so the purge index never points at objects that are gone.
import type { EdgeConfig } from '../config/schema.js';
import { DiskStore } from './disk-store.js';
import { MemoryStore } from './memory-store.js';
import type { CacheStore } from './store.js';
import { TieredStore } from './tiered-store.js';

export function buildStore(cache: EdgeConfig['cache'], onEvict: (key: string) => void): CacheStore {
  const disk = cache.disk;
  const memory = new MemoryStore({
    maxBytes: cache.memory.maxSize,
    maxObjectBytes: cache.memory.maxObjectSize,
    onEvict: disk ? undefined : (object) => onEvict(object.meta.key),
  });
  if (!disk) return memory;
  return new TieredStore(
    memory,
    new DiskStore({
      dir: disk.dir,
      maxBytes: disk.maxSize,
      maxObjectBytes: disk.maxObjectSize,
      fsync: disk.fsync,
      // Objects small enough for the memory tier are read whole, so a disk hit can promote them.
      smallObjectBytes: Math.min(1024 * 1024, cache.memory.maxObjectSize),
      onEvict,
    }),
  );
}
