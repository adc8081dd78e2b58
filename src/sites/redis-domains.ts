// The platform's own domain list in Redis: a host is ours when `domain:{host}` exists (the Blot app
// writes it, holding the blog id, for custom domains, their www/apex twins and `{handle}.blot.im`).
// One EXISTS per question; put a CachedDomainSource in front so handshakes do not each cost a
// round trip. The Redis client is the caller's (it may be shared with the cert store).
import type { Redis } from 'ioredis';
import type { DomainSource } from './domain-source.js';

export interface RedisDomainOptions {
  /** Key prefix before the host (default `domain:`, the platform's format). */
  prefix?: string;
}

export class RedisDomainSource implements DomainSource {
  readonly name: string;
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    options: RedisDomainOptions = {},
  ) {
    this.prefix = options.prefix ?? 'domain:';
    this.name = `redis ${this.prefix}{host}`;
  }

  async lookup(host: string): Promise<boolean> {
    return (await this.redis.exists(this.prefix + host)) === 1;
  }
}
