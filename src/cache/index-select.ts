// Purge candidates from the object index: a URL's variant chain, or a scan of one column for a
// host, a tag or a path prefix (about a millisecond per million entries: typed arrays, no objects).
// Hash matches only — the store checks each candidate's metadata before acting on it.
import { columnHash, hash64, prefixSelector } from './hash.js';
import { F_IMMUTABLE, F_MORE_TAGS, F_USED } from './index-record.js';
import type { ObjectIndex } from './object-index.js';

/** Candidates for a purge. Hash matches only: the caller checks each object's metadata. */
export type IndexQuery =
  | { kind: 'url'; primaries: readonly string[] }
  | { kind: 'host'; host: string; skipImmutable: boolean }
  | { kind: 'prefix'; host: string; path: string }
  | { kind: 'tag'; tag: string; skipImmutable: boolean };

const scratch = new Uint32Array(2);

/** Slots that may match: every variant and copy of the URLs, or the host's, prefix's or tag's objects. */
export function selectSlots(index: ObjectIndex, q: IndexQuery): number[] {
  const out: number[] = [];
  if (q.kind === 'url') {
    for (const p of q.primaries) {
      hash64(p, scratch);
      for (let s = index.tables.findPrimary(scratch); s >= 0; s = index.chain[s]!) out.push(s);
    }
    return out;
  }
  const { flags, host, seg, tag, overflow } = index;
  const end = index.hwm;
  if (q.kind === 'tag') {
    const h = columnHash(q.tag);
    const skip = q.skipImmutable ? F_IMMUTABLE : 0;
    for (let s = 0; s < end; s++) {
      const f = flags[s]!;
      if (!(f & F_USED) || f & skip) continue;
      if (tag[s * 2] === h || tag[s * 2 + 1] === h || (f & F_MORE_TAGS && overflow.get(s)!.includes(h))) out.push(s);
    }
    return out;
  }
  const h = columnHash(q.host);
  if (q.kind === 'host') {
    const skip = q.skipImmutable ? F_IMMUTABLE : 0;
    for (let s = 0; s < end; s++) if (host[s] === h && flags[s]! & F_USED && !(flags[s]! & skip)) out.push(s);
    return out;
  }
  const { depth, hash } = prefixSelector(q.path);
  for (let s = 0; s < end; s++) {
    if (host[s] !== h || !(flags[s]! & F_USED)) continue;
    if (depth === 0 || seg[s * 2 + depth - 1] === hash) out.push(s);
  }
  return out;
}
