// The disk tier's folder: its layout (objects/ab/cd/<digest>, tmp/, index/, lock), the lock that
// makes it one edge's, clearing what a crashed owner left half-written (safe: the lock is ours), and
// making the folder again when it is deleted under a running edge.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DirLock } from './dir-lock.js';

const gone = (path: string) => stat(path).then(() => false, () => true);

export class DiskFolder {
  readonly objects: string;
  readonly tmp: string;
  readonly index: string;
  private lock: DirLock | undefined;

  constructor(readonly dir: string) {
    this.objects = join(dir, 'objects');
    this.tmp = join(dir, 'tmp');
    this.index = join(dir, 'index');
  }

  /** Takes the folder (or throws CacheLockedError), clears tmp/, makes the rest; resolves whether objects/ held anything. */
  async open(): Promise<boolean> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.lock = await DirLock.acquire(this.dir);
    // Ours alone now: whatever is in tmp/ was being written by a previous owner that died.
    await rm(this.tmp, { recursive: true, force: true });
    await mkdir(this.tmp, { recursive: true, mode: 0o700 });
    const held = (await readdir(this.objects).catch(() => [])).length > 0;
    await mkdir(this.objects, { recursive: true, mode: 0o700 });
    return held;
  }

  /** Where the object with this digest (hex) lives. */
  pathOf(hex: string): string {
    return join(this.objects, hex.slice(0, 2), hex.slice(2, 4), hex);
  }

  /** A fresh name to write an object under until it is whole. */
  tmpPath(): string {
    return join(this.tmp, randomUUID());
  }

  /** Whether the objects folder is still there. */
  async intact(): Promise<boolean> {
    return !(await gone(this.objects));
  }

  /** Makes again what was deleted (and the lock file); says whether the objects and the index went with it. */
  async remake(): Promise<{ objectsLost: boolean; indexLost: boolean }> {
    const objectsLost = await gone(this.objects);
    const indexLost = await gone(this.index);
    await mkdir(this.tmp, { recursive: true, mode: 0o700 });
    await mkdir(this.objects, { recursive: true, mode: 0o700 });
    await mkdir(this.index, { recursive: true, mode: 0o700 });
    await this.lock?.rewrite();
    return { objectsLost, indexLost };
  }

  async release(): Promise<void> {
    await this.lock?.release();
  }
}
