// The one place cluster parts get a Redis connection, and the one key namespace they share. Keys
// are versioned (`blotcdn:v1:…`): a later format takes `v2` and old nodes never misread it. Clients
// fail commands at once while disconnected (no offline queue) so a caller decides what a Redis
// outage means — serve from cache, queue a purge, refuse an order — instead of hanging; they
// reconnect on their own, backing off up to a second.
import { Redis } from 'ioredis';

export const KEY_VERSION = 'v1';

/** Every cluster key, under one prefix. */
export class ClusterKeys {
  readonly prefix: string;
  constructor(base = 'blotcdn') {
    this.prefix = `${base}:${KEY_VERSION}:`;
  }
  /** The purge stream (XADD, capped). */
  get purges(): string {
    return `${this.prefix}purges`;
  }
  /** Pub/sub channel of acknowledgements. */
  get acks(): string {
    return `${this.prefix}acks`;
  }
  /** Sorted set of members by last heartbeat. */
  get nodes(): string {
    return `${this.prefix}nodes`;
  }
  /** One member's heartbeat (expires on its own). */
  node(id: string): string {
    return `${this.prefix}node:${id}`;
  }
  /** The ACME order budget shared by every node (sorted set of order times). */
  get acmeOrders(): string {
    return `${this.prefix}acme:orders`;
  }
}

export interface RedisClientOptions {
  /** Shown in CLIENT LIST, to tell a node's connections apart. */
  name: string;
  onError?: (err: Error) => void;
  /** Connect now (default) or on first use. */
  lazy?: boolean;
}

export function createRedisClient(url: string, options: RedisClientOptions): Redis {
  const client = new Redis(url, {
    connectionName: options.name.replace(/[^A-Za-z0-9._-]/g, '-'),
    lazyConnect: options.lazy ?? false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(50 * times, 1000),
  });
  client.on('error', options.onError ?? (() => {}));
  return client;
}

/** Resolves once the client is ready, or rejects after `timeoutMs`. */
export function whenReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis was not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
