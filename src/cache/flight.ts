// A response being fetched from the origin into the cache (Varnish's "busy object"). The fetch
// writes chunks into the Flight at the origin's pace; any number of clients read from it, each at
// its own offset and pace, and get every byte as soon as it arrives. That is how coalesced waiters
// get the body while it streams (nginx's cache lock makes them wait for the whole object), how a
// Range request on a miss is answered as soon as its bytes are in, and why a client that goes away
// does not stop the object from being stored.
//
// Chunks are kept until the flight ends: they are the body being stored, so keeping them costs no
// extra copy. Only storable responses become flights; the store's object size limit bounds them.

export interface FlightHead {
  /** The key the object is stored under (its variant key). */
  key: string;
  /** Request fields the response varies on, for joiners to check they match. */
  vary: readonly string[];
  member?: string;
  status: number;
  /** Client-facing headers (flat list), without Age, Cache-Status and Content-Length. */
  headers: string[];
  /** Content-Length announced by the origin, when it sent one. */
  length?: number;
  etag?: string;
  lastModified?: string;
}

export type FlightState = 'pending' | 'streaming' | 'complete' | 'failed';

export class Flight {
  state: FlightState = 'pending';
  head: FlightHead | undefined;
  error: unknown;
  /** Bytes received so far. */
  received = 0;
  /** How many requests joined after the leader (for Cache-Status `collapsed` and metrics). */
  joined = 0;
  readonly startedAt = Date.now();
  private readonly chunks: Buffer[] = [];
  private readonly offsets: number[] = [];
  private wake: (() => void)[] = [];
  private headWaiters: { resolve: (h: FlightHead) => void; reject: (e: unknown) => void }[] = [];

  constructor(readonly key: string) {}

  // ---- written by the fetch ----

  start(head: FlightHead): void {
    this.head = head;
    this.state = 'streaming';
    for (const w of this.headWaiters) w.resolve(head);
    this.headWaiters = [];
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.offsets.push(this.received);
    this.chunks.push(chunk);
    this.received += chunk.length;
    this.notify();
  }

  end(): void {
    this.state = 'complete';
    this.notify();
  }

  fail(error: unknown): void {
    if (this.state === 'complete' || this.state === 'failed') return;
    this.state = 'failed';
    this.error = error;
    for (const w of this.headWaiters) w.reject(error);
    this.headWaiters = [];
    this.notify();
  }

  private notify(): void {
    if (this.wake.length === 0) return;
    const wake = this.wake;
    this.wake = [];
    for (const w of wake) w();
  }

  // ---- read by clients ----

  /** Resolves with the response head once the origin has answered; rejects if the fetch failed. */
  waitHead(): Promise<FlightHead> {
    if (this.head) return Promise.resolve(this.head);
    if (this.state === 'failed') return Promise.reject(this.error);
    return new Promise((resolve, reject) => this.headWaiters.push({ resolve, reject }));
  }

  /** Resolves when more bytes arrive or the flight ends. */
  private changed(): Promise<void> {
    return new Promise((resolve) => this.wake.push(resolve));
  }

  /** All chunks, once complete (the body to store). */
  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.received);
  }

  /**
   * The bytes from `start` to `end` (inclusive) as they arrive. Throws the fetch's error if the
   * origin fails before `end` was reached, so a reader never mistakes a cut-off body for a whole one.
   */
  async *read(start = 0, end = Infinity): AsyncGenerator<Buffer> {
    let offset = start;
    let index = 0;
    while (offset <= end) {
      if (offset < this.received) {
        // Find the chunk holding `offset` (readers usually move forward one chunk at a time).
        while (index + 1 < this.chunks.length && this.offsets[index + 1]! <= offset) index++;
        if (this.offsets[index]! > offset) index = this.findChunk(offset);
        const chunk = this.chunks[index]!;
        const from = offset - this.offsets[index]!;
        const to = Math.min(chunk.length, end - this.offsets[index]! + 1);
        const piece = from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
        offset += piece.length;
        yield piece;
        continue;
      }
      if (this.state === 'complete') return;
      if (this.state === 'failed') throw this.error;
      await this.changed();
    }
  }

  private findChunk(offset: number): number {
    let lo = 0;
    let hi = this.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
