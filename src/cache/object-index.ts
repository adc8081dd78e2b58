// What a cache tier holds, at a fixed cost per object (nginx's keys zone, with purge columns):
// typed-array columns hold a 128-bit digest of the key, 32/64-bit hashes of the URL, host, path
// segments and tags, the size, LRU links and a chain through the variants of one URL — no strings.
// Two open-addressing tables find an entry by digest and the variants of a URL by its hash.
// Purges select candidates by scanning a column (~1 ms per million entries) and check each
// candidate's real metadata before acting. About 67 bytes of columns per slot, plus 16-32 bytes of
// hash tables; see memoryBytes() and docs/ARCHITECTURE.md.
import { hash64 } from './hash.js';
import { digestWords, encodeRecord, F_BR, F_GZIP, F_MORE_TAGS, F_USED, RECORD_BYTES, type IndexedFields } from './index-record.js';
import { selectSlots, type IndexQuery } from './index-select.js';
import { IndexTables } from './index-tables.js';
import { VaryTable } from './vary-table.js';

/** The scalar state of an index, saved beside its columns in a snapshot. */
export interface IndexState {
  cap: number;
  hwm: number;
  count: number;
  bytes: number;
  head: number;
  tail: number;
  freeHead: number;
  overflow: [number, number[]][];
  vary: string[][];
}

/** Bytes of column per slot (see the allocation in grow()). */
export const SLOT_BYTES = 16 + 8 + 4 + 8 + 8 + 8 + 8 + 4 + 2 + 1;

const scratch = new Uint32Array(2);

export class ObjectIndex {
  cap = 0;
  /** Live entries, and the sum of their sizes. */
  count = 0;
  bytes = 0;
  /** Oldest and newest entry (least and most recently used). */
  head = -1;
  tail = -1;
  /** Slots handed out so far; freed slots are chained through `next`. */
  hwm = 0;
  freeHead = -1;
  digest = new Uint32Array(0);
  primary = new Uint32Array(0);
  host = new Uint32Array(0);
  seg = new Uint32Array(0);
  tag = new Uint32Array(0);
  size = new Float64Array(0);
  prev = new Int32Array(0);
  next = new Int32Array(0);
  chain = new Int32Array(0);
  vary = new Uint16Array(0);
  flags = new Uint8Array(0);
  /** Tags beyond the first two, for the few objects that have more. */
  readonly overflow = new Map<number, Uint32Array>();
  readonly varyLists = new VaryTable();
  readonly tables: IndexTables;

  constructor(
    /** Most entries; the owner evicts before adding beyond it. */
    readonly maxEntries: number,
    initial = 1024,
  ) {
    this.tables = new IndexTables(
      {
        home: (s) => this.digest[s * 4]!,
        same: (s, k) => this.sameDigest(s, k),
        wordsOf: (s, out) => out.set(this.digest.subarray(s * 4, s * 4 + 4)),
      },
      {
        home: (s) => this.primary[s * 2]!,
        same: (s, k) => this.primary[s * 2] === k[0] && this.primary[s * 2 + 1] === k[1],
        wordsOf: (s, out) => {
          out[0] = this.primary[s * 2]!;
          out[1] = this.primary[s * 2 + 1]!;
        },
      },
    );
    this.grow(Math.max(16, Math.min(initial, maxEntries)));
  }

  private sameDigest(s: number, k: Uint32Array): boolean {
    const d = this.digest;
    const o = s * 4;
    return d[o] === k[0] && d[o + 1] === k[1] && d[o + 2] === k[2] && d[o + 3] === k[3];
  }

  get full(): boolean {
    return this.count >= this.maxEntries;
  }

  /** The slot holding `digest` (16 bytes), or -1. */
  find(digest: Uint8Array): number {
    return this.tables.findDigest(digestWords(digest));
  }

  /** The record for an object (see index-record.ts); undefined when its Vary list cannot be kept. */
  encode(digest: Uint8Array, f: IndexedFields, size: number): Buffer | undefined {
    return encodeRecord(this.varyLists, digest, f, size);
  }

  /**
   * Adds or replaces the entry a record describes; returns its slot, now the most recently used
   * (or, with `oldest`, a new entry goes first in line for eviction: found by a rebuild from files).
   */
  apply(rec: Buffer, oldest = false): number {
    const words = digestWords(rec);
    const pw = new Uint32Array([rec.readUInt32LE(16), rec.readUInt32LE(20)]);
    let slot = this.tables.findDigest(words);
    if (slot >= 0 && (this.primary[slot * 2] !== pw[0] || this.primary[slot * 2 + 1] !== pw[1])) {
      this.remove(slot);
      slot = -1;
    }
    const fresh = slot < 0;
    if (fresh) slot = this.allocate(words, pw);
    else {
      this.bytes -= this.size[slot]!;
      // Newest first in its URL's chain: the URL's current Vary list is the head's.
      this.tables.removeFromChain(slot, this.chain);
      this.chain[slot] = this.tables.swapPrimaryHead(slot);
    }
    this.host[slot] = rec.readUInt32LE(24);
    this.seg[slot * 2] = rec.readUInt32LE(28);
    this.seg[slot * 2 + 1] = rec.readUInt32LE(32);
    this.tag[slot * 2] = rec.readUInt32LE(36);
    this.tag[slot * 2 + 1] = rec.readUInt32LE(40);
    this.size[slot] = rec.readDoubleLE(44);
    this.bytes += this.size[slot]!;
    this.vary[slot] = rec.readUInt16LE(52);
    let flags = F_USED | rec[54]!;
    this.overflow.delete(slot);
    if (rec[55]! > 0) {
      const extra = new Uint32Array(rec[55]!);
      for (let i = 0; i < extra.length; i++) extra[i] = rec.readUInt32LE(RECORD_BYTES + i * 4);
      this.overflow.set(slot, extra);
      flags |= F_MORE_TAGS;
    }
    this.flags[slot] = flags;
    if (fresh && oldest) this.linkHead(slot);
    else if (fresh) this.linkTail(slot);
    else this.touch(slot);
    return slot;
  }

  /** A free slot with its digest and URL hash set, in both tables (grows the columns if needed). */
  private allocate(words: Uint32Array, primaryWords: Uint32Array): number {
    let slot = this.freeHead;
    if (slot >= 0) this.freeHead = this.next[slot]!;
    else {
      if (this.hwm === this.cap) this.grow(Math.max(this.cap + 16, Math.min(Math.ceil(this.cap * 1.5), this.maxEntries)));
      slot = this.hwm++;
    }
    this.digest.set(words, slot * 4);
    this.primary[slot * 2] = primaryWords[0]!;
    this.primary[slot * 2 + 1] = primaryWords[1]!;
    this.flags[slot] = F_USED;
    this.tables.insertDigest(slot);
    this.chain[slot] = this.tables.swapPrimaryHead(slot);
    this.count++;
    return slot;
  }

  remove(slot: number): void {
    if (!(this.flags[slot]! & F_USED)) return;
    this.unlinkLru(slot);
    this.tables.removeDigest(slot);
    this.tables.removeFromChain(slot, this.chain);
    this.overflow.delete(slot);
    this.flags[slot] = 0;
    this.bytes -= this.size[slot]!;
    this.size[slot] = 0;
    this.count--;
    this.next[slot] = this.freeHead;
    this.freeHead = slot;
  }

  /** Marks an entry most recently used. */
  touch(slot: number): void {
    if (this.tail === slot) return;
    this.unlinkLru(slot);
    this.linkTail(slot);
  }

  private linkTail(slot: number): void {
    this.prev[slot] = this.tail;
    this.next[slot] = -1;
    if (this.tail >= 0) this.next[this.tail] = slot;
    else this.head = slot;
    this.tail = slot;
  }

  private linkHead(slot: number): void {
    this.next[slot] = this.head;
    this.prev[slot] = -1;
    if (this.head >= 0) this.prev[this.head] = slot;
    else this.tail = slot;
    this.head = slot;
  }

  private unlinkLru(slot: number): void {
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    if (p >= 0) this.next[p] = n;
    else this.head = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
  }

  /** The Vary names of the URL's newest identity object: [] when it does not vary, undefined when none is held. */
  varyOf(primary: string): readonly string[] | undefined {
    for (let s = this.chainHead(primary); s >= 0; s = this.chain[s]!) {
      if (!(this.flags[s]! & (F_BR | F_GZIP))) return this.varyLists.names(this.vary[s]!);
    }
    return undefined;
  }

  /** How many identity objects (variants) of the URL are held. */
  variantCount(primary: string): number {
    let n = 0;
    for (let s = this.chainHead(primary); s >= 0; s = this.chain[s]!) if (!(this.flags[s]! & (F_BR | F_GZIP))) n++;
    return n;
  }

  private chainHead(primary: string): number {
    hash64(primary, scratch);
    return this.tables.findPrimary(scratch);
  }

  /** Slots that may match a purge (see index-select.ts). */
  select(q: IndexQuery): number[] {
    return selectSlots(this, q);
  }

  digestOf(slot: number): Buffer {
    return Buffer.from(this.digest.buffer, this.digest.byteOffset + slot * 16, 16);
  }

  /** Drops every entry (the files are gone). */
  clear(): void {
    const max = this.maxEntries;
    Object.assign(this, { cap: 0, count: 0, bytes: 0, head: -1, tail: -1, hwm: 0, freeHead: -1 });
    this.overflow.clear();
    this.varyLists.clear();
    this.grow(Math.min(1024, max), true);
  }

  /** Bytes this index holds in memory: columns, tables, overflow tags and Vary lists. */
  memoryBytes(): number {
    let overflow = 0;
    for (const t of this.overflow.values()) overflow += 64 + t.byteLength;
    return this.cap * SLOT_BYTES + this.tables.bytes() + overflow + this.varyLists.bytes();
  }

  /** Every typed-array column, in a fixed order (the snapshot writes and reads them as they are). */
  columns(): (Uint32Array | Float64Array | Int32Array | Uint16Array | Uint8Array)[] {
    return [this.digest, this.primary, this.host, this.seg, this.tag, this.size, this.prev, this.next, this.chain, this.vary, this.flags];
  }

  /** What a snapshot needs besides the columns. */
  state(): IndexState {
    const { cap, hwm, count, bytes, head, tail, freeHead } = this;
    return { cap, hwm, count, bytes, head, tail, freeHead, overflow: [...this.overflow].map(([s, t]) => [s, [...t]]), vary: this.varyLists.all().map((l) => [...l]) };
  }

  /** Takes over columns read from a snapshot (in columns() order) and rebuilds the tables. */
  restore(state: IndexState, columns: ArrayBuffer[]): void {
    const kinds = [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Float64Array, Int32Array, Int32Array, Int32Array, Uint16Array, Uint8Array] as const;
    const [digest, primary, host, seg, tag, size, prev, next, chain, vary, flags] = kinds.map((K, i) => new K(columns[i]!));
    Object.assign(this, { digest, primary, host, seg, tag, size, prev, next, chain, vary, flags });
    const { cap, hwm, count, bytes, head, tail, freeHead } = state;
    Object.assign(this, { cap, hwm, count, bytes, head, tail, freeHead });
    this.overflow.clear();
    for (const [s, t] of state.overflow) this.overflow.set(s, Uint32Array.from(t));
    this.varyLists.clear();
    state.vary.forEach((names, id) => this.varyLists.set(id, names));
    this.tables.resize(cap, hwm, this.flags, F_USED, this.chain, 'rebuild');
  }

  /** Resizes the columns to `cap` slots (keeping what they hold) and the tables to match. */
  grow(cap: number, reset = false): void {
    this.growColumns(cap, reset);
    this.tables.resize(cap, this.hwm, this.flags, F_USED, this.chain, reset ? 'empty' : 'keep');
  }

  private growColumns(cap: number, reset = false): void {
    const old = reset ? undefined : this.columns();
    const make = <T extends { set(a: ArrayLike<number>): void }>(C: new (n: number) => T, per: number, i: number): T => {
      const a = new C(cap * per);
      if (old) a.set(old[i] as unknown as ArrayLike<number>);
      return a;
    };
    this.digest = make(Uint32Array, 4, 0);
    this.primary = make(Uint32Array, 2, 1);
    this.host = make(Uint32Array, 1, 2);
    this.seg = make(Uint32Array, 2, 3);
    this.tag = make(Uint32Array, 2, 4);
    this.size = make(Float64Array, 1, 5);
    this.prev = make(Int32Array, 1, 6);
    this.next = make(Int32Array, 1, 7);
    this.chain = make(Int32Array, 1, 8);
    this.vary = make(Uint16Array, 1, 9);
    this.flags = make(Uint8Array, 1, 10);
    this.cap = cap;
  }
}

