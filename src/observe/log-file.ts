// A log destination written in batches: lines are joined in memory and written with one write()
// when 64 KiB have built up or a second has passed — whichever comes first — so a busy edge pays
// one syscall per thousand lines and a quiet one is never more than a second behind. Written by us
// rather than through pino's destination so the hot path appends one preformatted string and
// nothing else, and so SIGUSR1 can reopen the file after rotation (logrotate's create mode).
import { closeSync, mkdirSync, openSync, write } from 'node:fs';
import { dirname } from 'node:path';

const BATCH_BYTES = 64 * 1024;
/** Lines kept while a write is slow; beyond this, new lines are dropped and counted. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

export class LogFile {
  private fd: number;
  private readonly ownsFd: boolean;
  private pending: string[] = [];
  private pendingBytes = 0;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Lines dropped because the disk did not keep up (counted, never silently). */
  dropped = 0;

  /** `stdout`, `stderr`, or a file path (its folder is made; the file is appended to). */
  constructor(private readonly target: string) {
    this.ownsFd = target !== 'stdout' && target !== 'stderr';
    this.fd = this.open();
  }

  private open(): number {
    if (this.target === 'stdout') return 1;
    if (this.target === 'stderr') return 2;
    mkdirSync(dirname(this.target), { recursive: true });
    return openSync(this.target, 'a', 0o640);
  }

  /** Appends one line (with its newline). */
  append(line: string): void {
    if (this.pendingBytes > MAX_PENDING_BYTES) {
      this.dropped++;
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= BATCH_BYTES) void this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), 1000);
      this.timer.unref();
    }
  }

  /** Writes what is pending; resolves once it is written. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing) return this.writing.then(() => this.flush());
    if (this.pending.length === 0) return Promise.resolve();
    const data = Buffer.from(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
    this.writing = this.writeAll(data).finally(() => {
      this.writing = undefined;
      if (this.pending.length > 0 && this.timer === undefined) {
        this.timer = setTimeout(() => void this.flush(), 1000);
        this.timer.unref();
      }
    });
    return this.writing;
  }

  private async writeAll(data: Buffer): Promise<void> {
    if (!this.ownsFd) {
      // stdout/stderr may be non-blocking pipes: their stream copes with EAGAIN and backpressure.
      const stream = this.fd === 1 ? process.stdout : process.stderr;
      await new Promise<void>((resolve) => stream.write(data, () => resolve()));
      return;
    }
    let offset = 0;
    while (offset < data.length) {
      const n = await new Promise<number>((resolve) => write(this.fd, data, offset, data.length - offset, null, (err, written) => resolve(err ? -1 : written)));
      if (n <= 0) {
        // A full disk or a closed pipe: what is left of this batch is lost, and counted.
        this.dropped += 1;
        return;
      }
      offset += n;
    }
  }

  /** After rotation: write what is pending to the old file, then continue in a new one at the same path. */
  async reopen(): Promise<void> {
    if (!this.ownsFd) return;
    await this.flush();
    const old = this.fd;
    this.fd = this.open();
    closeSync(old);
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.ownsFd) closeSync(this.fd);
  }
}
