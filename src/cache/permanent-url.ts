// Permanent asset URLs (`/{blogID}/{cacheID}/{path}`, made by blotcdn/origin): the bytes behind one
// never change, so the edge stores them for a year as immutable whatever the origin says, host
// and tag purges leave them alone, and — if asked — the body is checked against its cacheID (the
// first 20 hex digits of its SHA-256) while it streams, so a wrong body is never stored.
import { createHash, type Hash } from 'node:crypto';
import { isBlogID } from '../origin-lib/asset-key.js';
import { CACHE_ID_LENGTH, isCacheID } from '../origin-lib/cache-id.js';

export const YEAR_MS = 365 * 24 * 3600 * 1000;
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** The cacheID a path names, when it is a permanent URL's path. */
export function cacheIdOfPath(path: string): string | undefined {
  const second = path.indexOf('/', 1);
  if (second < 0) return undefined;
  const third = path.indexOf('/', second + 1);
  if (third < 0) return undefined;
  const blog = path.slice(1, second);
  const id = path.slice(second + 1, third);
  return isBlogID(blog) && isCacheID(id) ? id : undefined;
}

/** Hashes a body as it streams and tells whether it is the one its cacheID names. */
export class CacheIdCheck {
  private readonly hash: Hash = createHash('sha256');

  constructor(readonly expected: string) {}

  update(chunk: Buffer): void {
    this.hash.update(chunk);
  }

  /** The cacheID of the bytes seen (call once, at the end). */
  actual(): string {
    return this.hash.digest('hex').slice(0, CACHE_ID_LENGTH);
  }
}

/** Headers for a permanent URL's response: the origin's freshness fields replaced by a year, immutable. */
export function immutableHeaders(headers: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name === 'cache-control' || name === 'expires' || name === 'pragma' || name === 'set-cookie' || name === 'cdn-cache-control') continue;
    out.push(name, headers[i + 1]!);
  }
  out.push('cache-control', IMMUTABLE_CACHE_CONTROL);
  return out;
}
