// The memory figure the admin API shows (`GET /stats` → memory): each structure of the cache that
// grows with distinct keys, how many entries it holds, the bound it is held to, and the bytes it
// takes — beside the process's own figures, so an operator can see where memory goes.
import { MAX_QUEUED, type Compressor } from './compression.js';
import type { EdgeCache } from './edge-cache.js';
import type { Purger } from './purger.js';
import type { CacheStore } from './store.js';
import { TieredStore } from './tiered-store.js';

export interface MemoryPart {
  entries: number;
  /** The bound the config states or derives (entries). */
  max: number;
  bytes: number;
}

export interface MemoryFigure {
  /** What the parts add up to (bytes; memoryIndex is part of memoryTier's). */
  bytes: number;
  parts: Record<string, MemoryPart>;
  /** Bytes of index per object held on disk (or in memory, without a disk tier). */
  indexBytesPerObject: number;
  process: NodeJS.MemoryUsage;
}

export function memoryFigure(store: CacheStore, cache: EdgeCache, purger: Purger, compressor?: Compressor): MemoryFigure {
  const parts: Record<string, MemoryPart> = {};
  let perObject: { bytes: number; entries: number };
  if (store instanceof TieredStore) {
    const memory = store.memory.stats();
    const m = store.memory.footprint();
    const d = store.disk.footprint();
    parts.memoryTier = { entries: memory.entries, max: m.maxEntries, bytes: memory.bytes };
    parts.memoryIndex = { entries: m.entries, max: m.maxEntries, bytes: m.index };
    parts.diskIndex = { entries: d.entries, max: d.maxEntries, bytes: d.index };
    parts.diskOperations = { entries: 0, max: 0, bytes: d.pending };
    perObject = { bytes: d.index, entries: d.entries };
  } else {
    const s = store.stats();
    const f = store.footprint();
    // The memory tier's byte budget already counts its index (its per-object overhead).
    parts.memoryTier = { entries: s.entries, max: f.maxEntries, bytes: s.bytes };
    parts.memoryIndex = { entries: f.entries, max: f.maxEntries, bytes: f.index };
    perObject = { bytes: f.index, entries: f.entries };
  }
  const own = cache.footprint();
  parts.hitForMiss = { entries: own.hitForMiss.entries, max: own.hitForMiss.max, bytes: own.hitForMiss.bytes };
  // A flight's chunks are bounded by its retain limit; counted here is its bookkeeping.
  parts.flights = { entries: own.flights.count, max: own.flights.max, bytes: own.flights.count * 2048 };
  parts.heldPurges = { entries: purger.active, max: purger.maxHeld, bytes: purger.heldBytes };
  if (compressor) parts.compressionQueue = { entries: compressor.pending, max: MAX_QUEUED + compressor.options.concurrency, bytes: compressor.queuedBytes };
  // The memory tier's index is within its byte budget (each object is charged a fixed overhead).
  const bytes = Object.entries(parts).reduce((n, [name, p]) => (name === 'memoryIndex' ? n : n + p.bytes), 0);
  return { bytes, parts, indexBytesPerObject: perObject.entries === 0 ? 0 : Math.round(perObject.bytes / perObject.entries), process: process.memoryUsage() };
}
