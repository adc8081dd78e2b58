// One edge per cache folder: a lock file holding the owner's PID (and, on Linux, when that process
// started, so a PID reused by another program is not mistaken for the owner). A second edge on the
// same folder refuses to start before touching anything in it; a lock left by an owner that died
// (kill -9, a crash) is taken over — by rename, so two edges starting at once cannot both take it.
import { link, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';

interface Holder {
  pid: number;
  /** Start time of the process in clock ticks since boot (Linux), to tell a reused PID apart. */
  started?: number;
}

export class CacheLockedError extends Error {
  readonly code = 'disk_cache_locked';
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`the cache folder ${dir} is in use by process ${pid} (another blotcdn edge?); two edges cannot share a disk cache: stop that one, or give this one another cache.disk.dir`);
    this.name = 'CacheLockedError';
  }
}

function startTime(pid: number | 'self'): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the command name (which may hold spaces) closes with ")".
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

function alive(holder: Holder): boolean {
  if (holder.pid === process.pid) return false; // our own lock, from before a restart in this PID (containers)
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = startTime(holder.pid);
  return holder.started === undefined || started === undefined || started === holder.started;
}

async function readHolder(path: string): Promise<Holder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Holder;
    return Number.isInteger(parsed.pid) ? parsed : { pid: -1 };
  } catch (err) {
    // Unreadable or half-written: a dead owner's (a live one writes it whole before using the folder).
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : { pid: -1 };
  }
}

export class DirLock {
  private readonly content = JSON.stringify({ pid: process.pid, started: startTime('self') } satisfies Holder);

  private constructor(
    readonly path: string,
    private readonly dir: string,
  ) {}

  /** Takes the lock of `dir` (the folder must exist), or throws CacheLockedError. */
  static async acquire(dir: string): Promise<DirLock> {
    const lock = new DirLock(`${dir}/lock`, dir);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fh = await open(lock.path, 'wx', 0o600);
        try {
          await fh.writeFile(lock.content);
        } finally {
          await fh.close();
        }
        return lock;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await readHolder(lock.path);
      if (holder === undefined) continue;
      if (alive(holder)) throw new CacheLockedError(dir, holder.pid);
      await lock.takeOver();
    }
    throw new Error(`could not take the lock ${lock.path}: it keeps changing hands`);
  }

  /** Moves a dead owner's lock aside; if another edge took the lock meanwhile, puts it back and refuses. */
  private async takeOver(): Promise<void> {
    const aside = `${this.path}.stale.${process.pid}`;
    try {
      await rename(this.path, aside);
    } catch {
      return; // someone else moved it first: try again
    }
    const moved = await readHolder(aside);
    if (moved && alive(moved)) {
      await link(aside, this.path).catch(() => {});
      await unlink(aside).catch(() => {});
      throw new CacheLockedError(this.dir, moved.pid);
    }
    await unlink(aside).catch(() => {});
  }

  /** Writes the lock again (the folder was deleted under us and recreated). */
  rewrite(): Promise<void> {
    return writeFile(this.path, this.content, { mode: 0o600 });
  }

  /** Removes the lock if it is still ours. */
  async release(): Promise<void> {
    if ((await readHolder(this.path))?.pid === process.pid) await unlink(this.path).catch(() => {});
  }
}
