// A log destination written in batches: lines are encoded straight into a 64 KiB buffer and the
// buffer is written with one write() when it is full or a second has passed — whichever comes
// first — so a busy edge pays one syscall per few hundred lines and a quiet one is never more than
// a second behind. Written by us rather than through pino's destination so the hot path encodes
// one preformatted string into bytes and allocates nothing else (no arrays of strings to join,
// no garbage per line), and so SIGUSR1 can reopen the file after rotation (logrotate's create mode).
import { closeSync, mkdirSync, openSync, write } from 'node:fs';
import { dirname } from 'node:path';

const BATCH_BYTES = 64 * 1024;
/** Bytes kept while a write is slow; beyond this, new lines are dropped and counted. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

export class LogFile {
  private fd: number;
  private readonly ownsFd: boolean;
  /** The batch being filled, and how much of it is. */
  private batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private used = 0;
  /** Full batches waiting for the write in progress. */
  private queued: Buffer[] = [];
  private queuedBytes = 0;
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
    if (this.queuedBytes > MAX_PENDING_BYTES) {
      this.dropped++;
      return;
    }
    // A UTF-16 unit takes at most 3 bytes in UTF-8: when the line may not fit, start a new batch.
    if (this.used + line.length * 3 > BATCH_BYTES) {
      this.seal();
      if (line.length * 3 > BATCH_BYTES) this.queue(Buffer.from(line));
      else this.used = this.batch.write(line);
    } else {
      this.used += this.batch.write(line, this.used);
      if (this.used >= BATCH_BYTES - 512) this.seal();
    }
    // A full batch goes out now (or as soon as the write in progress ends); a partial one within a second.
    if (this.queued.length > 0) {
      if (this.writing === undefined) void this.flush();
    } else this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => void this.flush(), 1000);
    this.timer.unref();
  }

  /** Moves the batch being filled to the queue of batches to write. */
  private seal(): void {
    if (this.used === 0) return;
    this.queue(this.batch.subarray(0, this.used));
    this.batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.used = 0;
  }

  private queue(data: Buffer): void {
    this.queued.push(data);
    this.queuedBytes += data.length;
  }

  /** Writes what is pending; resolves once it is written. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing) return this.writing.then(() => this.flush());
    this.seal();
    if (this.queued.length === 0) return Promise.resolve();
    const data = this.queued.length === 1 ? this.queued[0]! : Buffer.concat(this.queued);
    this.queued = [];
    this.queuedBytes = 0;
    this.writing = this.writeAll(data).finally(() => {
      this.writing = undefined;
      if (this.queued.length > 0) void this.flush();
      else if (this.used > 0) this.arm();
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
