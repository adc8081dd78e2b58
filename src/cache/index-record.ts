// An object index entry as a record of fixed layout: what the journal keeps, and what ObjectIndex
// applies (the one path by which entries are made, at run time and when replaying a journal).
//   0 digest (16) | 16 URL hash (2 × u32) | 24 host hash | 28 path-segment hashes (2 × u32)
//   36 first two tag hashes (2 × u32) | 44 size (f64) | 52 Vary id (u16) | 54 flags | 55 more tags (n)
//   56 n tag hashes (u32 each)
import { columnHash, hash64, segmentHashes } from './hash.js';
import type { VaryTable } from './vary-table.js';

export const F_USED = 1;
export const F_IMMUTABLE = 2;
export const F_BR = 4;
export const F_GZIP = 8;
/** More than two tags: the rest are in the overflow map. */
export const F_MORE_TAGS = 16;

/** What an entry is made from (a subset of CacheMeta). */
export interface IndexedFields {
  primary: string;
  host: string;
  path: string;
  tags: readonly string[];
  vary: readonly string[];
  immutable?: boolean;
  encoding?: 'br' | 'gzip';
}

/** Bytes of a record before its extra tags (see encodeRecord()). */
export const RECORD_BYTES = 56;

const scratch = new Uint32Array(2);

/**
 * The entry for an object as a record: digest, hashes, size, Vary id and flags. Undefined when
 * its Vary list cannot be kept (the table is full). Tags past the 257th are not indexed.
 */
export function encodeRecord(varyLists: VaryTable, digest: Uint8Array, f: IndexedFields, size: number): Buffer | undefined {
  const varyId = varyLists.id(f.vary);
  if (varyId < 0) return undefined;
  const extra = f.tags.slice(2, 2 + 255);
  const rec = Buffer.alloc(RECORD_BYTES + extra.length * 4);
  rec.set(digest.subarray(0, 16), 0);
  hash64(f.primary, scratch);
  rec.writeUInt32LE(scratch[0]!, 16);
  rec.writeUInt32LE(scratch[1]!, 20);
  rec.writeUInt32LE(columnHash(f.host), 24);
  segmentHashes(f.path, scratch);
  rec.writeUInt32LE(scratch[0]!, 28);
  rec.writeUInt32LE(scratch[1]!, 32);
  rec.writeUInt32LE(f.tags[0] === undefined ? 0 : columnHash(f.tags[0]), 36);
  rec.writeUInt32LE(f.tags[1] === undefined ? 0 : columnHash(f.tags[1]), 40);
  rec.writeDoubleLE(size, 44);
  rec.writeUInt16LE(varyId, 52);
  rec[54] = (f.immutable ? F_IMMUTABLE : 0) | (f.encoding === 'br' ? F_BR : f.encoding === 'gzip' ? F_GZIP : 0);
  rec[55] = extra.length;
  extra.forEach((t, i) => rec.writeUInt32LE(columnHash(t), RECORD_BYTES + i * 4));
  return rec;
}

/** 16 bytes → four 32-bit words (a fresh array: callers may keep it). */
export function digestWords(digest: Uint8Array): Uint32Array {
  const out = new Uint32Array(4);
  for (let i = 0; i < 4; i++) out[i] = (digest[i * 4]! | (digest[i * 4 + 1]! << 8) | (digest[i * 4 + 2]! << 16) | (digest[i * 4 + 3]! << 24)) >>> 0;
  return out;
}
