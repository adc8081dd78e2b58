// Token buckets, one per key (a client address, a host): `rate` tokens per ms up to `burst`; a
// request takes one. Buckets live in a bounded LRU, so a flood of distinct addresses costs at most
// `maxKeys` buckets (about 150 bytes each) — the least recently seen are forgotten, which only ever
// makes the limiter more lenient, never wrong about who may pass.
import { LRUCache } from 'lru-cache';

export interface RateLimitOptions {
  /** Tokens added per millisecond. */
  ratePerMs: number;
  burst: number;
  maxKeys: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(private readonly options: RateLimitOptions) {
    this.buckets = new LRUCache<string, Bucket>({ max: Math.max(1, options.maxKeys) });
  }

  /** Takes a token for `key`: 0 when the request may pass, else the ms until it could. */
  take(key: string, now: number): number {
    const { ratePerMs, burst } = this.options;
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + Math.max(0, now - b.at) * ratePerMs);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / ratePerMs);
  }

  get size(): number {
    return this.buckets.size;
  }

  get maxKeys(): number {
    return this.options.maxKeys;
  }
}
