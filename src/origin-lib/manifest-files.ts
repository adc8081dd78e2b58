// The file manifest's folder and the protocol that lets several processes share it without losing
// an entry: appends to a journal (O_APPEND, one write per batch, no lock), and a compaction that folds
// the journal into a snapshot under a lock. A generation number in CURRENT says which journal is
// live; writers re-check it after appending, so a write that raced a compaction is written again.
//
//   {dir}/CURRENT          the live generation g (replaced atomically by rename)
//   {dir}/snapshot.{g}     every blog as of the start of generation g (absent while g's is written)
//   {dir}/journal.{g}      changes since; load = newest snapshot.k (k ≤ g) + journal.k … journal.g
//   {dir}/compact.lock     held while compacting
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { applyToBlogs, type Blog, type RawBlog } from './manifest.js';
import { encodeSnapshot, parseJournal, parseSnapshot, type JournalRead } from './manifest-format.js';
import { tryFileLock } from './file-lock.js';

export interface LoadedState {
  gen: number;
  /** Bytes of journal.{gen} already applied. */
  offset: number;
  snapshotBytes: number;
  blogs: Map<string, Blog | RawBlog>;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export class ManifestFiles {
  constructor(
    readonly dir: string,
    private readonly options: { fsync?: boolean; staleLockMs?: number } = {},
  ) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  async currentGen(): Promise<number> {
    try {
      return Number.parseInt(await readFile(join(this.dir, 'CURRENT'), 'utf8'), 10) || 0;
    } catch (err) {
      if (isMissing(err)) return 0;
      throw err;
    }
  }

  /**
   * Everything, read from the folder. A compaction finishing meanwhile may remove files this read
   * needs, so the read is checked afterwards (same generation, no newer snapshot) and retried.
   */
  async load(): Promise<LoadedState> {
    for (let attempt = 1; ; attempt++) {
      try {
        const gen = await this.currentGen();
        const before = await this.snapshotGens();
        const state = await this.loadUpTo(gen, before);
        if ((await this.currentGen()) === gen && Math.max(-1, ...(await this.snapshotGens())) === Math.max(-1, ...before)) return state;
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      if (attempt >= 10) throw new Error(`the manifest in ${this.dir} kept changing while it was read`);
    }
  }

  /** The complete records of journal.{gen} from `offset` on (none when it does not exist yet). */
  async readJournal(gen: number, offset: number): Promise<JournalRead> {
    let handle;
    try {
      handle = await open(join(this.dir, `journal.${gen}`), 'r');
    } catch (err) {
      if (isMissing(err)) return { changes: [], consumed: 0, skipped: 0 };
      throw err;
    }
    try {
      const { size } = await handle.stat();
      if (size <= offset) return { changes: [], consumed: 0, skipped: 0 };
      const bytes = Buffer.allocUnsafe(size - offset);
      let filled = 0;
      while (filled < bytes.length) {
        const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return parseJournal(bytes.subarray(0, filled));
    } finally {
      await handle.close();
    }
  }

  /**
   * Appends a batch to the live journal. One write() with O_APPEND: on a local file system
   * concurrent appenders never interleave inside a write, and no lock is needed. If the generation
   * moved while we wrote, a compaction may have read the old journal before our bytes landed, so
   * the batch goes into the new journal too (a repeated record is harmless: replay is idempotent).
   */
  async append(batch: Buffer): Promise<void> {
    let gen = await this.currentGen();
    for (;;) {
      const handle = await open(join(this.dir, `journal.${gen}`), 'a');
      try {
        let written = 0;
        // A short write is not expected for a regular file; if it ever happens the rest follows.
        while (written < batch.length) written += (await handle.write(batch, written)).bytesWritten;
        if (this.options.fsync) await handle.datasync();
      } finally {
        await handle.close();
      }
      const now = await this.currentGen();
      if (now === gen) return;
      gen = now;
    }
  }

  /**
   * Folds the journals into a new snapshot. Returns false when another process holds the lock.
   * Order matters: switch CURRENT first (new appends go to the new journal), then read the old
   * generation (every append that saw the old CURRENT after writing is in it), then write the
   * snapshot, then remove what it replaces.
   */
  async compact(): Promise<boolean> {
    const lock = await tryFileLock(join(this.dir, 'compact.lock'), { staleMs: this.options.staleLockMs });
    if (!lock) return false;
    try {
      const gen = (await this.currentGen()) + 1;
      await this.writeAtomic('CURRENT', [Buffer.from(`${gen}\n`)]);
      const state = await this.loadUpTo(gen - 1);
      await this.writeAtomic(`snapshot.${gen}`, encodeSnapshot(state.blogs));
      for (const name of await readdir(this.dir)) {
        const old = /^(?:snapshot|journal)\.(\d+)$/.exec(name);
        if (old && Number(old[1]) < gen) await rm(join(this.dir, name), { force: true });
      }
      return true;
    } finally {
      await lock.release();
    }
  }

  private async snapshotGens(): Promise<number[]> {
    const names = await readdir(this.dir);
    return names.map((n) => /^snapshot\.(\d+)$/.exec(n)?.[1]).filter((g) => g !== undefined).map(Number);
  }

  /** The state at the end of generation `gen`: the newest snapshot.k (k ≤ gen), then journals k…gen. */
  private async loadUpTo(gen: number, snapshots?: number[]): Promise<LoadedState> {
    snapshots ??= await this.snapshotGens();
    const base = Math.max(0, ...snapshots.filter((g) => g <= gen));
    const blogs = new Map<string, Blog | RawBlog>();
    let snapshotBytes = 0;
    if (snapshots.includes(base)) {
      const bytes = await readFile(join(this.dir, `snapshot.${base}`));
      parseSnapshot(bytes, blogs);
      snapshotBytes = bytes.length;
    }
    let offset = 0;
    for (let g = base; g <= gen; g++) {
      const read = await this.readJournal(g, 0);
      applyToBlogs(blogs, read.changes);
      offset = read.consumed;
    }
    return { gen, offset, snapshotBytes, blogs };
  }

  // Temp file + rename: readers see the old file or the new one, never a part.
  private async writeAtomic(name: string, chunks: Iterable<Buffer>): Promise<void> {
    const temp = join(this.dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const handle = await open(temp, 'w');
    try {
      for (const chunk of chunks) await handle.write(chunk);
      if (this.options.fsync) await handle.datasync();
    } catch (err) {
      await handle.close();
      await rm(temp, { force: true });
      throw err;
    }
    await handle.close();
    await rename(temp, join(this.dir, name));
  }
}

