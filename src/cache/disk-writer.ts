// Writing one object into the disk tier: the body streams into a file in tmp/ (one write at a time,
// in order — the store's backpressure), the trailer goes last, and the store renames the file into
// place only at commit, so a crash at any moment leaves no object or a whole one. Bytes already
// written can be read back, so a flight need not keep a large body in memory.
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { readBackFrom, trailerFor } from './disk-files.js';
import type { CacheMeta, ObjectWriter } from './store.js';

export interface DiskWriterHooks {
  tmpPath: string;
  finalPath: string;
  maxObjectBytes: number;
  fsync: boolean;
  /** Resolves when the folder can take writes. */
  prepared: Promise<void>;
  /** tmp/ was missing (the folder deleted under us): make it again. */
  remake(): Promise<void>;
  /** Moves the whole file from tmpPath into place and indexes it, if still wanted; false when it did not. */
  place(final: CacheMeta, fileBytes: number, stillWanted?: () => boolean): Promise<boolean>;
}

export function diskWriter(meta: CacheMeta, h: DiskWriterHooks): ObjectWriter {
  let written = 0;
  let abandoned = false;
  let committed = false;
  const create = () => open(h.tmpPath, 'w', 0o600);
  // One write at a time, in order; a failed write abandons the object.
  let queue: Promise<FileHandle | undefined> = h.prepared
    .then(() =>
      create().catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        await h.remake();
        return create();
      }),
    )
    .catch(() => {
      abandoned = true;
      return undefined;
    });
  const abort = () => {
    if (committed) return;
    abandoned = true;
    void queue.then(async (fh) => {
      await fh?.close().catch(() => {});
      await unlink(h.tmpPath).catch(() => {});
    });
  };
  return {
    get abandoned() {
      return abandoned;
    },
    write: (chunk) => {
      if (abandoned) return;
      written += chunk.length;
      if (written > h.maxObjectBytes) return abort();
      queue = queue.then(async (fh) => {
        if (!fh || abandoned) return fh;
        await fh.write(chunk).catch(abort);
        return fh;
      });
      return queue.then(() => undefined);
    },
    commit: async (stillWanted) => {
      const fh = await queue;
      if (abandoned || !fh) {
        abort();
        return false;
      }
      const final: CacheMeta = { ...meta, size: written };
      const trailer = trailerFor(final, written);
      try {
        await fh.write(trailer);
        if (h.fsync) await fh.sync();
        await fh.close();
        if (!(await h.place(final, written + trailer.length, stillWanted))) throw new Error('not placed');
      } catch {
        abort();
        return false;
      }
      committed = true;
      return true;
    },
    abort,
    // From the temporary file, or from the object once it has been renamed into place.
    readBack: (start, end) => readBackFrom(h.tmpPath, h.finalPath, start, end),
  };
}
