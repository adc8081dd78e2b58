// Writing one object into the disk tier: the body streams into a file in tmp/ (one write at a time,
// in order — the store's backpressure), the trailer goes last, and the store renames the file into
// place only at commit, so a crash at any moment leaves no object or a whole one. Bytes already
// written can be read back, so a flight need not keep a large body in memory.
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { readBackFrom, readOpen, trailerFor } from './disk-files.js';
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
  // A read handle on the file for readBack, held until the owner commits or aborts, no read is
  // under way and no hold is left: the bytes stay readable when the file is renamed into place,
  // unlinked after a failed write (a full disk) or deleted with the folder.
  let reader: FileHandle | undefined;
  let reading = 0;
  let holds = 0;
  let finished = false;
  const release = () => {
    if (!finished || reading > 0 || holds > 0 || reader === undefined) return;
    const r = reader;
    reader = undefined;
    void r.close().catch(() => {});
  };
  const create = async () => {
    const fh = await open(h.tmpPath, 'w', 0o600);
    reader = await open(h.tmpPath, 'r').catch(() => undefined);
    return fh;
  };
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
  /** Stops writing and removes the file; what was written stays readable through `reader`. */
  const discard = () => {
    if (committed) return;
    abandoned = true;
    void queue.then(async (fh) => {
      await fh?.close().catch(() => {});
      await unlink(h.tmpPath).catch(() => {});
    });
  };
  const abort = () => {
    discard();
    finished = true;
    release();
  };
  return {
    get abandoned() {
      return abandoned;
    },
    write: (chunk) => {
      if (abandoned) return;
      written += chunk.length;
      if (written > h.maxObjectBytes) return discard();
      queue = queue.then(async (fh) => {
        if (!fh || abandoned) return fh;
        await fh.write(chunk).catch(discard);
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
      finished = true;
      release();
      return true;
    },
    abort,
    hold: () => {
      holds++;
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        holds--;
        release();
      };
    },
    // Through the read handle while the writer holds it; else from the temporary file, or from
    // the object once it has been renamed into place.
    get readBack() {
      if (abandoned) return undefined;
      return readBack;
    },
  };

  async function* readBack(start: number, end: number): AsyncGenerator<Buffer> {
    const fh = reader;
    if (fh === undefined) return yield* readBackFrom(h.tmpPath, h.finalPath, start, end);
    reading++;
    try {
      yield* readOpen(fh, start, end);
    } finally {
      reading--;
      release();
    }
  }
}
