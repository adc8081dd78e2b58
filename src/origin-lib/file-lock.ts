// A lock between processes sharing a folder, for rare and short critical sections (the file
// manifest's compaction). Node has no flock(), so the lock is a file created with O_EXCL, which
// is atomic on local file systems; a holder that died leaves the file behind, so a lock older
// than `staleMs` is taken over — or, for a lock held for a process's whole life (the job worker's),
// a lock whose holder process is gone.
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

export interface FileLockOptions {
  /** A lock file older than this belongs to a holder that died. Must exceed the longest hold. */
  staleMs?: number;
  /** Held as long as the holder's process lives (on this host), however long that is: the lock
   *  is taken over only once that process is gone. staleMs then only covers a lock file left
   *  empty by a holder that died while creating it. */
  whileAlive?: boolean;
}

export interface FileLock {
  release(): Promise<void>;
}

/**
 * Takes the lock at `path`, or resolves null when a live holder has it (callers of a compaction
 * simply skip it: the holder is doing the same work). Never waits.
 */
export async function tryFileLock(path: string, options: FileLockOptions = {}): Promise<FileLock | null> {
  const staleMs = options.staleMs ?? 60_000;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      const token = `${process.pid} ${randomBytes(6).toString('hex')} ${new Date().toISOString()} ${hostname()}\n`;
      try {
        await handle.writeFile(token);
      } finally {
        await handle.close();
      }
      return { release: () => releaseIfOurs(path, token) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const age = await lockAge(path);
    if (age === undefined) continue; // released meanwhile: try again
    const holder = options.whileAlive ? await holderAlive(path) : undefined;
    if (holder === true || (holder === undefined && age < staleMs)) return null;
    // Take over a stale lock by renaming it away first: of two processes that both found it stale,
    // only one rename succeeds, so only one of them removes it.
    const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await rename(path, aside);
      await rm(aside, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return null;
}

/** Whether the lock's holder process still runs: undefined when the file does not say who holds it,
 *  and true for a holder on another host (this host cannot tell). */
async function holderAlive(path: string): Promise<boolean | undefined> {
  const [pid, , , host] = (await readFile(path, 'utf8').catch(() => '')).trim().split(' ');
  if (!pid || !/^\d+$/.test(pid)) return undefined;
  if (host !== undefined && host !== hostname()) return true;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function lockAge(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

// Releasing checks the token so a holder that outlived staleMs does not remove its successor's lock.
async function releaseIfOurs(path: string, token: string): Promise<void> {
  try {
    if ((await readFile(path, 'utf8')) === token) await rm(path, { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
