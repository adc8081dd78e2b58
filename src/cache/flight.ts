// A response being fetched from the origin into the cache (Varnish's "busy object"). The fetch
// writes chunks into the Flight at the origin's pace; any number of clients read from it, each at
// its own offset and pace, and get every byte as soon as it arrives. That is how coalesced waiters
// get the body while it streams (nginx's cache lock makes them wait for the whole object), how a
// Range request on a miss is answered as soon as its bytes are in, and why a client that goes away
// does not stop the object from being stored.
//
// Memory stays bounded for large objects: chunks are kept in a window, and once the window exceeds
// `retainLimit`, chunks that the store has already written (`markDurable`) are dropped; a reader
// that needs them again reads them back from the store's file (`spill`). Without a spill source the
// window only drops what every reader has consumed, and the fetch is slowed to the slowest reader.

import type { CacheMeta } from './store.js';
import { clock } from '../clock.js';

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

/** Reads bytes start..end (inclusive) of the body back from where the store wrote them. */
export type SpillReader = (start: number, end: number) => AsyncIterable<Buffer>;

interface Cursor {
  offset: number;
}

export class Flight {
  state: FlightState = 'pending';
  head: FlightHead | undefined;
  error: unknown;
  /** Bytes received so far. */
  received = 0;
  /** How many requests joined after the leader (for Cache-Status `collapsed` and metrics). */
  joined = 0;
  readonly startedAt = clock.now();
  /** What the object will be stored as, once the store step knows (purges match flights by it). */
  meta: CacheMeta | undefined;
  /** Most bytes kept in memory once the store can give older ones back (see `spill`). */
  retainLimit = 8 * 1024 * 1024;
  private spill: SpillReader | undefined;
  /** Bytes the store has safely written (readable through `spill`). */
  private durable = 0;
  /** The store still takes bytes (false once it gave up: `durable` no longer grows). */
  private storing = true;
  private doneWaiters: (() => void)[] = [];
  private readonly chunks: Buffer[] = [];
  private readonly offsets: number[] = [];
  /** Index of the first chunk still held. */
  private first = 0;
  /**
   * Chunks removed from the front of the arrays by compaction. Readers keep absolute chunk numbers
   * (array index + spliced), so a compaction while they are between two reads never moves them.
   */
  private spliced = 0;
  private retained = 0;
  private readonly cursors = new Set<Cursor>();
  private wake: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private headWaiters: { resolve: (h: FlightHead) => void; reject: (e: unknown) => void }[] = [];

  /** Requests still waiting on this fetch (clients that have not gone away). */
  private interest = 0;
  /** A fetch the edge itself wants (warming, a refresh): never unwanted. */
  private pinned = false;
  /** Called when the last waiting client goes away (a reset stream, a closed connection). */
  onUnwanted: (() => void) | undefined;
  /** Resolves once the store has decided: true when the object was committed, false otherwise. */
  readonly committed: Promise<boolean>;
  private settle!: (stored: boolean) => void;

  constructor(readonly key: string) {
    this.committed = new Promise((resolve) => (this.settle = resolve));
  }

  /** The store's verdict on this object (only the first call counts). */
  stored(ok: boolean): void {
    this.settle(ok);
  }

  /** A client waits on this fetch; the returned function says it went away. */
  addInterest(): () => void {
    this.interest++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.interest === 0 && !this.pinned) this.onUnwanted?.();
    };
  }

  /** The edge itself wants this fetch done, whoever else waits. */
  pin(): void {
    this.pinned = true;
  }

  /** Nobody waits for it any more (and the edge did not ask for it itself). */
  get unwanted(): boolean {
    return this.interest === 0 && !this.pinned;
  }

  // ---- written by the fetch ----

  start(head: FlightHead, spill?: SpillReader): void {
    this.head = head;
    this.spill = spill;
    this.state = 'streaming';
    for (const w of this.headWaiters) w.resolve(head);
    this.headWaiters = [];
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.offsets.push(this.received);
    this.chunks.push(chunk);
    this.received += chunk.length;
    this.retained += chunk.length;
    this.trim();
    this.notify();
  }

  /**
   * The store gave up on the object (a full disk, too large): what it wrote before stays readable
   * through the spill source, nothing more becomes durable, and from here the window keeps what
   * the readers still need (the fetch is held back to the slowest of them).
   */
  storeGaveUp(): void {
    this.storing = false;
    this.releaseDrainWaiters();
  }

  /** Calls `fn` once the flight has ended (complete or failed) and no client is reading it. */
  whenDone(fn: () => void): void {
    this.doneWaiters.push(fn);
    this.checkDone();
  }

  private checkDone(): void {
    if (this.doneWaiters.length === 0 || this.cursors.size > 0 || (this.state !== 'complete' && this.state !== 'failed')) return;
    const waiters = this.doneWaiters;
    this.doneWaiters = [];
    for (const w of waiters) w();
  }

  /** How many clients are reading right now. */
  get readers(): number {
    return this.cursors.size;
  }

  /** The store has written the first `bytes` bytes; they may leave memory. */
  markDurable(bytes: number): void {
    this.durable = bytes;
    this.trim();
  }

  end(): void {
    this.state = 'complete';
    this.notify();
    this.checkDone();
  }

  fail(error: unknown): void {
    this.settle(false);
    if (this.state === 'complete' || this.state === 'failed') return;
    this.state = 'failed';
    this.error = error;
    for (const w of this.headWaiters) w.reject(error);
    this.headWaiters = [];
    this.notify();
    this.checkDone();
  }

  /**
   * Resolves once the slowest reader is within `limit` bytes of the newest one. Used when nothing
   * is stored (no spill): the origin is then read no faster than clients take the bytes.
   */
  readersCaughtUp(limit: number): Promise<void> | undefined {
    if ((this.spill !== undefined && this.storing) || this.received - this.slowest() <= limit) return undefined;
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private slowest(): number {
    let min = this.received;
    for (const c of this.cursors) if (c.offset < min) min = c.offset;
    return min;
  }

  /** Drops chunks from the front of the window that are no longer needed in memory. */
  private trim(): void {
    if (this.retained <= this.retainLimit) return;
    // With a spill source, anything already written can go; without one (or once the store gave
    // up), also what all readers have passed (and no new reader may join from byte 0 any more).
    const limit = this.spill === undefined ? this.slowest() : this.storing ? this.durable : Math.max(this.durable, this.slowest());
    while (this.first < this.chunks.length && this.retained > this.retainLimit) {
      const end = this.offsets[this.first]! + this.chunks[this.first]!.length;
      if (end > limit) break;
      this.retained -= this.chunks[this.first]!.length;
      this.chunks[this.first] = EMPTY;
      this.first++;
    }
    if (this.first > 1024 && this.first * 2 > this.chunks.length) {
      this.chunks.splice(0, this.first);
      this.offsets.splice(0, this.first);
      this.spliced += this.first;
      this.first = 0;
    }
  }

  /** Offset of the first byte still in memory. */
  get windowStart(): number {
    return this.first < this.offsets.length ? this.offsets[this.first]! : this.received;
  }

  /** Every byte is in: complete, or as many bytes as announced (the origin's end may still be on its way). */
  get hasAllBytes(): boolean {
    return this.state === 'complete' || (this.state === 'streaming' && this.head?.length !== undefined && this.received >= this.head.length);
  }

  /** Whether a new reader can still get the body from its first byte. */
  get joinable(): boolean {
    return this.windowStart === 0 || (this.spill !== undefined && this.windowStart <= this.durable);
  }

  private notify(): void {
    if (this.wake.length > 0) {
      const wake = this.wake;
      this.wake = [];
      for (const w of wake) w();
    }
    this.releaseDrainWaiters();
  }

  private releaseDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
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

  /**
   * The bytes from `start` to `end` (inclusive) as they arrive. Throws the fetch's error if the
   * origin fails before `end` was reached, so a reader never mistakes a cut-off body for a whole one.
   */
  async *read(start = 0, end = Infinity): AsyncGenerator<Buffer> {
    const cursor: Cursor = { offset: start };
    this.cursors.add(cursor);
    /** The chunk last read, as an absolute number (see `spliced`). */
    let absolute = this.first + this.spliced;
    try {
      while (cursor.offset <= end) {
        const windowStart = this.windowStart;
        if (cursor.offset < windowStart && cursor.offset < this.received) {
          if (this.spill === undefined) throw new Error('flight: bytes no longer held and no spill source');
          const upto = Math.min(windowStart, end + 1) - 1;
          for await (const piece of this.spill(cursor.offset, upto)) {
            cursor.offset += piece.length;
            yield piece;
          }
          continue;
        }
        if (cursor.offset < this.received) {
          let index = absolute - this.spliced;
          if (index < this.first) index = this.first;
          while (index + 1 < this.chunks.length && this.offsets[index + 1]! <= cursor.offset) index++;
          if (this.offsets[index]! > cursor.offset) index = this.findChunk(cursor.offset);
          absolute = index + this.spliced;
          const chunk = this.chunks[index]!;
          const from = cursor.offset - this.offsets[index]!;
          const to = Math.min(chunk.length, end - this.offsets[index]! + 1);
          const piece = from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
          cursor.offset += piece.length;
          if (this.drainWaiters.length > 0) this.releaseDrainWaiters();
          yield piece;
          continue;
        }
        if (this.state === 'complete') return;
        if (this.state === 'failed') throw this.error;
        await this.changed();
      }
    } finally {
      this.cursors.delete(cursor);
      if (this.drainWaiters.length > 0) this.releaseDrainWaiters();
      this.checkDone();
    }
  }

  private findChunk(offset: number): number {
    let lo = this.first;
    let hi = this.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

const EMPTY = Buffer.alloc(0);
