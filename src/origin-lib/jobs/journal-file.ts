// One append-only file shared by the processes of a host: any of them appends (one write() per
// batch with O_APPEND, so appends never interleave, then fdatasync when asked), readers follow it
// from an offset, and the worker rewrites it smaller now and then (compaction) without a lock that
// appenders must take. A compaction renames a new file into place; an appender that finds, after
// writing, that the file it wrote to was replaced writes its batch again into the new one, and the
// compactor copies what reached the old file after it read it. A record written twice is harmless:
// every record carries its job's revision, and a revision already seen is ignored.
//
// Durability (FsyncMode): a batch is in the kernel once write() returns, so a process that crashes
// or is killed loses nothing. 'interval' (the default, Redis's appendfsync everysec) also syncs to
// disk within a second, bounding what a power cut can lose; 'always' syncs before add() resolves
// (group commit: concurrent batches share one fdatasync), at the disk's sync latency per call.
import { closeSync, fdatasync, fstatSync, openSync, statSync, writeSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { parseRecords, type JournalRead } from './journal-format.js';

export interface JournalCursor {
  ino: number;
  offset: number;
}

export type FsyncMode = 'always' | 'interval' | 'never';

/** How long after a write 'interval' syncs it to disk at the latest. */
const SYNC_INTERVAL_MS = 1000;

interface Pending {
  bytes: Buffer;
  resolve(): void;
  reject(err: unknown): void;
}

const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export class JournalFile {
  private fd: number | undefined;
  private fdIno = -1;
  private pending: Pending[] = [];
  private draining = false;
  private tail: Promise<unknown> = Promise.resolve();
  private syncTimer: NodeJS.Timeout | undefined;
  /** Bytes this process appended since it opened the file or last compacted it. */
  appended = 0;

  constructor(
    readonly path: string,
    private readonly fsync: FsyncMode,
  ) {}

  /**
   * Appends a batch. Concurrent calls share one write (and with 'always' one fdatasync); each
   * resolves once its bytes are written (and synced, with 'always').
   */
  append(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ bytes, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        void this.exclusive(() => this.drain());
      }
    });
  }

  /** Complete records after `cursor` (from the start when the file was replaced since). */
  async read<T>(cursor: JournalCursor | undefined): Promise<JournalRead<T> & { cursor: JournalCursor; reset: boolean }> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'r');
    } catch (err) {
      if (!missing(err)) throw err;
      return { records: [], consumed: 0, skipped: 0, cursor: { ino: 0, offset: 0 }, reset: cursor !== undefined && cursor.ino !== 0 };
    }
    try {
      const { ino, size } = await handle.stat();
      const reset = cursor === undefined || cursor.ino !== ino || size < cursor.offset;
      const from = reset ? 0 : cursor.offset;
      const read = parseRecords<T>(await readRange(handle, from, size));
      return { ...read, cursor: { ino, offset: from + read.consumed }, reset };
    } finally {
      await handle.close();
    }
  }

  /**
   * Rewrites the file as `rewrite(records)` returns it, given every record it holds now. Run by
   * one process at a time (the worker, under its lock); this process's appends wait meanwhile.
   */
  compact(rewrite: (records: unknown[]) => Buffer): Promise<void> {
    return this.exclusive(async () => {
      const old = await open(this.path, 'r').catch((err) => (missing(err) ? undefined : Promise.reject(err)));
      if (!old) return;
      try {
        const { size } = await old.stat();
        const read = parseRecords(await readRange(old, 0, size));
        const temp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
        const fresh = await open(temp, 'w');
        try {
          await fresh.writeFile(rewrite(read.records));
          await fresh.datasync();
        } finally {
          await fresh.close();
        }
        await rename(temp, this.path).catch(async (err) => {
          await rm(temp, { force: true });
          throw err;
        });
        this.closeFd();
        // What other processes appended to the old file after our read: their check after writing
        // may have run before the rename, so they will not write it again — copy it over.
        const { size: end } = await old.stat();
        const rest = await readRange(old, read.consumed, end);
        const complete = rest.subarray(0, rest.lastIndexOf(10) + 1);
        this.appended = 0;
        if (complete.length > 0) await this.writeChecked(complete);
      } finally {
        await old.close();
      }
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    await this.exclusive(async () => {
      if (this.fsync !== 'never') await this.syncFd();
      this.closeFd();
    });
  }

  // 'interval': one sync for everything written in the next second (unref'd: it never holds the
  // process open; close() syncs what is left).
  private scheduleSync(): void {
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      void this.exclusive(() => this.syncFd()).catch(() => undefined);
    }, SYNC_INTERVAL_MS).unref();
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0);
        try {
          await this.writeChecked(batch.length === 1 ? batch[0]!.bytes : Buffer.concat(batch.map((p) => p.bytes)));
          for (const p of batch) p.resolve();
        } catch (err) {
          try {
            this.closeFd();
          } catch {
            // the write's error is what the callers hear
          }
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  // Writes, syncs, then checks the path still names the file written to; if a compaction replaced
  // it meanwhile, writes again into the new file. The write and the checks are synchronous system
  // calls (tens of microseconds for a batch in the page cache): done through libuv's thread pool
  // they would queue behind sharp's long image tasks there, and publish() would wait for a thumbnail.
  // Only the fdatasync ('always') goes to the pool.
  private async writeChecked(bytes: Buffer): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const fd = this.openFd();
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written);
      this.appended += bytes.length;
      if (this.fsync === 'always') await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
      else if (this.fsync === 'interval') this.scheduleSync();
      let now: number | undefined;
      try {
        now = statSync(this.path).ino;
      } catch (err) {
        if (!missing(err)) throw err;
      }
      if (now === this.fdIno) return;
      this.closeFd();
      if (attempt >= 10) throw new Error(`${this.path} kept being replaced while it was written`);
    }
  }

  private openFd(): number {
    if (this.fd === undefined) {
      this.fd = openSync(this.path, 'a', 0o600);
      this.fdIno = fstatSync(this.fd).ino;
    }
    return this.fd;
  }

  private closeFd(): void {
    const fd = this.fd;
    this.fd = undefined;
    this.fdIno = -1;
    if (fd !== undefined) closeSync(fd);
  }

  private syncFd(): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) return Promise.resolve();
    return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  /** Runs `fn` after everything this process queued on the file before it. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

async function readRange(handle: FileHandle, from: number, to: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(Math.max(0, to - from));
  let filled = 0;
  while (filled < bytes.length) {
    const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, from + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
}
