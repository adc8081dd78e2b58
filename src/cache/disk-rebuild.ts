// Rebuilding the disk tier's index from the files themselves, for a folder without a usable index
// snapshot (a cache written before snapshots existed, a lost or corrupt index). Every file's
// trailer is read with synchronous calls in batches — no thread-pool round trip per call, about ten
// times the rate of the asynchronous scan it replaces — yielding to the event loop between
// batches, so hits keep being served meanwhile. Files named by the older 256-bit scheme are
// renamed into place; files that are not whole objects are deleted.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parseTrailer, TRAILER } from './disk-files.js';
import { keyDigest } from './hash.js';
import type { CacheMeta } from './store.js';

/** Files read between two yields to the event loop (a few milliseconds of work). */
const BATCH = 256;

export interface RebuildTarget {
  objects: string;
  pathOf(hex: string): string;
  /** Indexes an object found (unless it was stored or deleted since start-up). */
  adopt(digest: Buffer, meta: CacheMeta, fileBytes: number): void;
  /** True when the store is closing: stop where we are. */
  stopped(): boolean;
}

const tail = Buffer.allocUnsafe(4096);

/** Reads a file's metadata from its trailer, synchronously; undefined when it is not a whole object. */
function readMetaSync(path: string): { meta: CacheMeta; fileSize: number } | undefined | 'missing' {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 'missing';
  }
  try {
    const size = fstatSync(fd).size;
    if (size < TRAILER) return undefined;
    const length = Math.min(tail.length, size);
    if (readSync(fd, tail, 0, length, size - length) !== length) return undefined;
    const parsed = parseTrailer(tail.subarray(0, length), size, (metaLength, bodyLength) => {
      const raw = Buffer.alloc(metaLength);
      readSync(fd, raw, 0, metaLength, bodyLength);
      return raw;
    });
    return parsed && { meta: parsed.meta, fileSize: size };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Reads every object file under `objects/`; resolves with how many were indexed. */
export async function rebuildFromFiles(target: RebuildTarget): Promise<number> {
  let adopted = 0;
  let inBatch = 0;
  const folders: string[] = [];
  for (const a of readdirSync(target.objects)) {
    try {
      for (const b of readdirSync(join(target.objects, a))) folders.push(join(target.objects, a, b));
    } catch {
      // not a folder
    }
  }
  for (const folder of folders) {
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      continue;
    }
    for (const name of names) {
      if (++inBatch >= BATCH) {
        inBatch = 0;
        await new Promise((resolve) => setImmediate(resolve));
        if (target.stopped()) return adopted;
      }
      const path = join(folder, name);
      const found = readMetaSync(path);
      if (found === 'missing') continue;
      const digest = found && keyDigest(found.meta.key);
      const hex = digest?.toString('hex');
      if (!found || !hex || (name !== hex && !name.startsWith(hex))) {
        try {
          unlinkSync(path);
        } catch {
          // gone already
        }
        continue;
      }
      if (name !== hex) {
        // The older naming: move it into place unless a newer copy was stored there meanwhile.
        const final = target.pathOf(hex);
        if (existsSync(final)) unlinkSync(path);
        else renameSync(path, final);
      }
      target.adopt(digest!, found.meta, found.fileSize);
      adopted++;
    }
  }
  return adopted;
}
