// The two lookup tables of the object index: digest → slot, and URL hash → newest slot of that
// URL (the head of its variant chain). Open addressing with linear probing over Int32Arrays, kept
// at most half full, with backward-shift deletion (no tombstones), so a lookup touches one or two
// cache lines and the tables cost 8-16 bytes per slot each, with no per-entry objects for the GC.

/** How a table reads the slots it points at. */
export interface Column {
  /** The slot's hash (its home cell is this & mask). */
  home(slot: number): number;
  /** Whether the slot holds `key` (the words a lookup was given). */
  same(slot: number, key: Uint32Array): boolean;
}

function nextPow2(n: number): number {
  let p = 16;
  while (p < n) p *= 2;
  return p;
}

export class IndexTables {
  private d = new Int32Array(0);
  private p = new Int32Array(0);
  private mask = 0;
  private readonly words = new Uint32Array(4);

  constructor(
    private readonly byDigest: Column & { wordsOf(slot: number, out: Uint32Array): void },
    private readonly byPrimary: Column & { wordsOf(slot: number, out: Uint32Array): void },
  ) {}

  bytes(): number {
    return (this.d.length + this.p.length) * 4;
  }

  /**
   * Sizes the tables for `cap` slots: `keep` rebuilds them from the used slots only when their size
   * changes, `rebuild` always does (after a snapshot is read), `empty` leaves them empty.
   */
  resize(cap: number, hwm: number, flags: Uint8Array, used: number, chain: Int32Array, mode: 'keep' | 'rebuild' | 'empty'): void {
    const size = nextPow2(cap * 2);
    if (size === this.d.length && mode === 'keep') return;
    this.d = new Int32Array(size).fill(-1);
    this.p = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    if (mode === 'empty') return;
    const linked = new Uint8Array(hwm);
    for (let s = 0; s < hwm; s++) if (flags[s]! & used && chain[s]! >= 0) linked[chain[s]!] = 1;
    for (let s = 0; s < hwm; s++) {
      if (!(flags[s]! & used)) continue;
      this.place(this.d, this.byDigest, s);
      if (!linked[s]) this.place(this.p, this.byPrimary, s);
    }
  }

  private place(t: Int32Array, col: Column, slot: number): void {
    let i = col.home(slot) & this.mask;
    while (t[i] !== -1) i = (i + 1) & this.mask;
    t[i] = slot;
  }

  private find(t: Int32Array, col: Column, key: Uint32Array): number {
    for (let i = key[0]! & this.mask; ; i = (i + 1) & this.mask) {
      const s = t[i]!;
      if (s === -1 || col.same(s, key)) return s;
    }
  }

  /** The cell of `t` whose slot holds the same key as `slot` (-1 if none). */
  private cellOf(t: Int32Array, col: Column & { wordsOf(slot: number, out: Uint32Array): void }, slot: number): number {
    col.wordsOf(slot, this.words);
    for (let i = this.words[0]! & this.mask; ; i = (i + 1) & this.mask) {
      const s = t[i]!;
      if (s === -1) return -1;
      if (col.same(s, this.words)) return i;
    }
  }

  /** Empties cell i and moves later entries of the probe run back into the gap. */
  private deleteCell(t: Int32Array, col: Column, i: number): void {
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      const s = t[j]!;
      if (s === -1) break;
      const k = col.home(s) & this.mask;
      const stays = i <= j ? k > i && k <= j : k > i || k <= j;
      if (stays) continue;
      t[i] = s;
      i = j;
    }
    t[i] = -1;
  }

  findDigest(words: Uint32Array): number {
    return this.find(this.d, this.byDigest, words);
  }

  insertDigest(slot: number): void {
    this.place(this.d, this.byDigest, slot);
  }

  removeDigest(slot: number): void {
    for (let i = this.byDigest.home(slot) & this.mask; ; i = (i + 1) & this.mask) {
      const s = this.d[i]!;
      if (s === -1) return;
      if (s === slot) return this.deleteCell(this.d, this.byDigest, i);
    }
  }

  /** The newest slot of the URL with these hash words, or -1. */
  findPrimary(words: Uint32Array): number {
    return this.find(this.p, this.byPrimary, words);
  }

  /** Makes `slot` the head of its URL's chain; returns the previous head (-1: none). */
  swapPrimaryHead(slot: number): number {
    const i = this.cellOf(this.p, this.byPrimary, slot);
    if (i < 0) {
      this.place(this.p, this.byPrimary, slot);
      return -1;
    }
    const previous = this.p[i]!;
    this.p[i] = slot;
    return previous;
  }

  /** Takes `slot` out of its URL's chain (the table follows when it was the head). */
  removeFromChain(slot: number, chain: Int32Array): void {
    const i = this.cellOf(this.p, this.byPrimary, slot);
    if (i < 0) return;
    const head = this.p[i]!;
    if (head === slot) {
      if (chain[slot]! >= 0) this.p[i] = chain[slot]!;
      else this.deleteCell(this.p, this.byPrimary, i);
    } else {
      let s = head;
      while (chain[s]! >= 0 && chain[s] !== slot) s = chain[s]!;
      if (chain[s] === slot) chain[s] = chain[slot]!;
    }
    chain[slot] = -1;
  }
}
