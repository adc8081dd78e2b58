// The default manifest backend: a folder on the app server's disk (see manifest-files.ts for the
// layout and the protocol). It loads tens of thousands of blogs in one sequential read, shares the
// folder safely with other processes on the host, and sees their changes by watching the folder.
import { watch, type FSWatcher } from 'node:fs';
import { Manifest, type ManifestChange } from './manifest.js';
import { ManifestFiles } from './manifest-files.js';
import { encodeJournal } from './manifest-format.js';
import { catchUp } from './catch-up.js';

export interface FileManifestOptions {
  /** fsync every journal write and snapshot. Off by default: a crashed process loses nothing (the
   *  page cache survives it); a power cut may lose the last seconds of changes. */
  fsync?: boolean;
  /** Watch the folder to see other processes' changes within milliseconds (inotify). Default true. */
  watch?: boolean;
  /** Also poll for other processes' changes every N ms: for file systems without inotify (NFS). */
  pollMs?: number;
  /** Compact when the live journal is larger than this and than a quarter of the snapshot (so a
   *  load never replays much more than it reads). Default 4 MiB. */
  compactBytes?: number;
  /** A compaction lock older than this is taken over (its holder died). Default 60 s. */
  staleLockMs?: number;
  /** Background failures (a refresh after a watch event, an automatic compaction). */
  onError?: (err: Error) => void;
}

export class FileManifest extends Manifest {
  private readonly files: ManifestFiles;
  private gen = 0;
  private offset = 0;
  private snapshotBytes = 0;
  private readonly catchUp = catchUp(() => this.readNewRecords());
  private compacting: Promise<boolean> | undefined;
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;

  private constructor(
    readonly dir: string,
    private readonly options: FileManifestOptions,
  ) {
    super();
    this.files = new ManifestFiles(dir, options);
  }

  /** Opens (creating if needed) the manifest folder and loads it. */
  static async open(dir: string, options: FileManifestOptions = {}): Promise<FileManifest> {
    const manifest = new FileManifest(dir, options);
    await manifest.files.init();
    await manifest.reload();
    if (options.watch !== false) manifest.startWatching();
    if (options.pollMs) manifest.poller = setInterval(() => manifest.refreshInBackground(), options.pollMs).unref();
    return manifest;
  }

  /**
   * Reads what other processes appended since the last look (or everything, after a compaction).
   * Concurrent calls share one read; a call made during a read causes one more read after it, so
   * its caller sees every change made before it called.
   */
  override refresh(): Promise<void> {
    return this.catchUp();
  }

  /** Folds the journal into a new snapshot now. False when another process is doing it. */
  async compact(): Promise<boolean> {
    if (this.compacting) return this.compacting;
    this.compacting = (async () => {
      try {
        const done = await this.files.compact();
        await this.refresh();
        return done;
      } finally {
        this.compacting = undefined;
      }
    })();
    return this.compacting;
  }

  /** Bytes of the live journal and of the snapshot under it (for monitoring and tests). */
  get sizes(): { generation: number; journalBytes: number; snapshotBytes: number } {
    return { generation: this.gen, journalBytes: this.offset, snapshotBytes: this.snapshotBytes };
  }

  override async close(): Promise<void> {
    await super.close();
    this.watcher?.close();
    clearInterval(this.poller);
    await this.catchUp.running;
    await this.compacting?.catch(() => undefined);
  }

  // Our records become visible by reading the journal back, not by applying them directly: then
  // memory follows the journal's order, which is the order every other process sees too.
  protected override async persist(changes: ManifestChange[]): Promise<void> {
    await this.files.append(encodeJournal(changes));
    await this.refresh();
    const threshold = Math.max(this.options.compactBytes ?? 4 * 1024 * 1024, this.snapshotBytes / 4);
    if (this.offset > threshold && !this.compacting) {
      this.compact().catch((err) => this.options.onError?.(err as Error));
    }
  }

  private async readNewRecords(): Promise<void> {
    const gen = await this.files.currentGen();
    if (gen !== this.gen) return this.reload();
    const read = await this.files.readJournal(gen, this.offset);
    this.offset += read.consumed;
    if (read.changes.length > 0) this.applyChanges(read.changes);
  }

  // A new generation means a compaction rewrote the folder: reading it whole is simplest and,
  // as compactions are rare, cheap overall (a few hundred ms for a million entries).
  private async reload(): Promise<void> {
    const state = await this.files.load();
    this.gen = state.gen;
    this.offset = state.offset;
    this.snapshotBytes = state.snapshotBytes;
    this.replaceAll(state.blogs);
  }

  private refreshInBackground(): void {
    if (this.closed) return;
    this.refresh().catch((err) => this.options.onError?.(err as Error));
  }

  private startWatching(): void {
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, name) => {
        if (name === null || name === 'CURRENT' || name.startsWith('journal.')) this.refreshInBackground();
      });
      this.watcher.on('error', (err) => {
        this.options.onError?.(err);
        this.watcher?.close();
        this.watcher = undefined;
        // Without events, fall back to polling so other processes' changes still arrive.
        this.poller ??= setInterval(() => this.refreshInBackground(), 1000).unref();
      });
    } catch (err) {
      this.options.onError?.(err as Error);
      this.poller ??= setInterval(() => this.refreshInBackground(), 1000).unref();
    }
  }
}
