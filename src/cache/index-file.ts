// The disk tier's index on disk, so a restart need not read a million files: a snapshot of the
// index's columns (index-snapshot.ts) plus a journal of the changes since. A change is journaled
// in the same step as it is made in memory, in batches (one write per turn of the event loop); a
// snapshot copies the columns at one instant and starts a new journal generation at that same
// instant, so the snapshot plus every journal from its generation on is the whole index. Journals
// are replayed up to their first torn record; a snapshot that does not check out is ignored (the
// store then rebuilds the index from the files themselves).
//
//   journal.<gen>: records of u32 length | type (A: entry, R: removal, V: Vary list) | payload | u32 CRC-32
import { crc32 } from 'node:zlib';
import { mkdir, open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectIndex } from './object-index.js';
import { readSnapshot, writeSnapshot } from './index-snapshot.js';


export interface LoadResult {
  /** False when there was no usable snapshot: the index must be rebuilt from the files. */
  loaded: boolean;
  /** Journal records replayed on top of the snapshot. */
  replayed: number;
  /** Journals that ended in a torn record (a crash while appending). */
  torn: number;
}

export class IndexFile {
  private gen = 0;
  private fh: FileHandle | undefined;
  private pending: Buffer[] = [];
  private flushing: Promise<void> | undefined;
  /** File operations, one after another (writes, rotations, snapshots). */
  private chain: Promise<unknown> = Promise.resolve();
  /** Journal records since the last snapshot. */
  records = 0;
  private snapshotting: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly fsync = false,
  ) {}

  private journalPath(gen: number): string {
    return join(this.dir, `journal.${gen}`);
  }

  /** Reads the snapshot and replays the journals after it into `index` (which must be empty). */
  async load(index: ObjectIndex): Promise<LoadResult> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const journals = (await readdir(this.dir))
      .map((name) => /^journal\.(\d+)$/.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const from = await readSnapshot(this.dir, index);
    const result: LoadResult = { loaded: from !== undefined, replayed: 0, torn: 0 };
    for (const gen of journals) {
      if (from === undefined || gen < from) {
        // Older than the snapshot (or no snapshot to apply them to): of no use.
        await rm(this.journalPath(gen), { force: true });
        continue;
      }
      const { records, torn } = replay(await readFile(this.journalPath(gen)), index);
      result.replayed += records;
      if (torn) result.torn++;
    }
    this.gen = Math.max(from ?? 0, journals.at(-1) ?? 0) + 1;
    this.records = result.replayed;
    return result;
  }

  /** Opens this run's journal (a new generation: an older one may end in a torn record). */
  open(): Promise<void> {
    const gen = this.gen;
    return this.queue(async () => {
      this.fh = await open(this.journalPath(gen), 'a', 0o600);
    });
  }

  private queue<T>(op: () => Promise<T>): Promise<T> {
    const next = this.chain.then(op, op);
    this.chain = next.catch(() => {});
    return next;
  }

  add(rec: Buffer): Promise<void> {
    return this.append(0x41, rec);
  }

  remove(digest: Uint8Array): Promise<void> {
    return this.append(0x52, Buffer.from(digest.buffer, digest.byteOffset, 16));
  }

  vary(id: number, names: readonly string[]): Promise<void> {
    const json = Buffer.from(JSON.stringify(names));
    const payload = Buffer.alloc(2 + json.length);
    payload.writeUInt16LE(id, 0);
    json.copy(payload, 2);
    return this.append(0x56, payload);
  }

  /** Queues a record; resolves once the batch it is in has been written. */
  private append(type: number, payload: Buffer): Promise<void> {
    const frame = Buffer.allocUnsafe(4 + 1 + payload.length + 4);
    frame.writeUInt32LE(payload.length, 0);
    frame[4] = type;
    payload.copy(frame, 5);
    frame.writeUInt32LE(crc32(frame.subarray(4, 5 + payload.length)), 5 + payload.length);
    this.pending.push(frame);
    this.records++;
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
    return this.flushing;
  }

  private flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.flushing = undefined;
    return this.queue(async () => {
      if (!this.fh || batch.length === 0) return;
      await this.fh.write(Buffer.concat(batch));
      if (this.fsync) await this.fh.datasync();
    });
  }

  /**
   * Writes a snapshot of `index` as it is now; the journal generation changes at the same instant.
   * Older journals are deleted once the snapshot is in place. One at a time.
   */
  snapshot(index: ObjectIndex): Promise<void> {
    if (this.snapshotting) return this.snapshotting;
    // Taken synchronously: the copy and the new generation describe the same instant.
    const state = index.state();
    const columns = index.columns().map((c) => new Uint8Array(c.buffer, c.byteOffset, c.byteLength).slice());
    const previous = this.pending;
    this.pending = [];
    const gen = ++this.gen;
    this.records = 0;
    const write = this.queue(async () => {
      if (this.fh && previous.length) await this.fh.write(Buffer.concat(previous));
      await this.fh?.close();
      this.fh = await open(this.journalPath(gen), 'a', 0o600);
    }).then(() => writeSnapshot(this.dir, this.fsync, gen, state, columns));
    this.snapshotting = write.finally(() => {
      this.snapshotting = undefined;
    });
    return this.snapshotting;
  }

  /** Resolves once every record queued so far has been written. */
  async flushed(): Promise<void> {
    await this.flushing;
    await this.chain;
  }

  /** Bytes queued and not yet written. */
  get queuedBytes(): number {
    return this.pending.reduce((n, b) => n + b.length, 0);
  }

  /** Writes what is queued and closes the journal. */
  async close(): Promise<void> {
    await this.snapshotting;
    await this.flush();
    await this.queue(async () => {
      await this.fh?.close();
      this.fh = undefined;
    });
  }

  /** The folder was lost: start over with an empty index, a fresh snapshot and journal. */
  async reset(index: ObjectIndex): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.snapshotting?.catch(() => {}); // one of the index before the loss: let it settle first
    await this.snapshot(index);
  }
}

/** Applies a journal's records to the index; stops at the first record that does not check out. */
function replay(buf: Buffer, index: ObjectIndex): { records: number; torn: boolean } {
  let at = 0;
  let records = 0;
  while (at < buf.length) {
    if (at + 9 > buf.length) return { records, torn: true };
    const length = buf.readUInt32LE(at);
    const end = at + 5 + length;
    if (end + 4 > buf.length || crc32(buf.subarray(at + 4, end)) !== buf.readUInt32LE(end)) return { records, torn: true };
    const type = buf[at + 4];
    const payload = buf.subarray(at + 5, end);
    if (type === 0x41) index.apply(payload);
    else if (type === 0x52) {
      const slot = index.find(payload);
      if (slot >= 0) index.remove(slot);
    } else if (type === 0x56) index.varyLists.set(payload.readUInt16LE(0), JSON.parse(payload.toString('utf8', 2)) as string[]);
    records++;
    at = end + 4;
  }
  return { records, torn: false };
}
