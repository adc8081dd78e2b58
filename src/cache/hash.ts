// Fixed-size fingerprints of cache keys and of the fields purges select by. The object index keeps
// these instead of strings, so an object costs the same few bytes in memory whatever its URL's
// length. Purges treat a hash match as a candidate and check the object's real metadata before
// acting, so a collision can cost a disk read but never a wrong purge.
import { createHash } from 'node:crypto';

/** 32-bit FNV-1a over the string's UTF-16 code units, finished with murmur3's avalanche. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix(h);
}

/** A second, independent 32-bit hash (a murmur2-style lane), for 64-bit fingerprints. */
function hash32b(s: string): number {
  let h = 0x9747b28c ^ s.length;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x5bd1e995);
    h ^= h >>> 15;
  }
  return fmix(h);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A column value: 0 means "none", so a real hash of 0 is stored as 1. */
export function columnHash(s: string): number {
  return hash32(s) || 1;
}

/** A 64-bit fingerprint as two 32-bit words (written into `out` at `at`, no allocation). */
export function hash64(s: string, out: Uint32Array, at = 0): void {
  out[at] = hash32(s);
  out[at + 1] = hash32b(s);
}

/** A 64-bit fingerprint as one JavaScript number's worth of it (53 bits), for Map keys. */
export function hash53(s: string): number {
  return (hash32b(s) & 0x1fffff) * 0x100000000 + hash32(s);
}

/** The first 128 bits of SHA-256 of a cache key: names the object's file and its index entry. */
export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest().subarray(0, 16);
}

/**
 * The path prefixes a prefix purge selects by: the path up to its second and third `/`
 * (`/blog_1/` and `/blog_1/_thumbnails/` for `/blog_1/_thumbnails/a.jpg`), hashed; 0 when the path
 * is not that deep.
 */
export function segmentHashes(path: string, out: Uint32Array, at = 0): void {
  const first = path.indexOf('/', 1);
  const second = first < 0 ? -1 : path.indexOf('/', first + 1);
  out[at] = first < 0 ? 0 : columnHash(path.slice(0, first + 1));
  out[at + 1] = second < 0 ? 0 : columnHash(path.slice(0, second + 1));
}

/**
 * For a prefix purge's path: which segment column to compare (0: none, every object of the host is
 * a candidate; 1 or 2) and the hash it must have. A prefix that does not end at a `/` selects by
 * the deepest whole segment it contains.
 */
export function prefixSelector(prefix: string): { depth: 0 | 1 | 2; hash: number } {
  const path = prefix.split('?')[0]!;
  const first = path.indexOf('/', 1);
  if (first < 0) return { depth: 0, hash: 0 };
  const second = path.indexOf('/', first + 1);
  if (second < 0) return { depth: 1, hash: columnHash(path.slice(0, first + 1)) };
  return { depth: 2, hash: columnHash(path.slice(0, second + 1)) };
}
