// The platform app's purge client, as it behaves today (app/helper/flushCache.js, read, not copied):
// hosts queue up in a set; at most `maxHosts` (10) go in one `GET {proxy}/purge?host=…` with the
// secret in X-Blot-Purge-Token, at most `requestsPerSecond` (3) calls a second; every proxy in
// BLOT_REVERSE_PROXY_URLS is called independently (5 s timeout), and the hosts a proxy did not
// accept are recorded in Redis (`flushCache:pending:{proxy}`, a sorted set) and sent again every
// `retryIntervalMs` (30 s in production) until it accepts them — which is how a proxy that was
// restarting, or answered 503 while reading its cache, still hears every purge.
import type { Redis } from 'ioredis';

export interface PurgeCall {
  proxy: string;
  hosts: string[];
  /** HTTP status, or 0 when the proxy could not be reached. */
  status: number;
  retryAfter?: string;
  body: string;
  retry: boolean;
}

export interface PurgeClientOptions {
  proxies: string[];
  token: string;
  redis: Redis;
  requestsPerSecond?: number;
  maxHosts?: number;
  timeoutMs?: number;
  retryIntervalMs?: number;
}

const pendingKey = (proxy: string) => `flushCache:pending:${proxy}`;

export class PurgeClient {
  /** Every call made, in order. */
  readonly calls: PurgeCall[] = [];
  private readonly queue = new Set<string>();
  private waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private processing = false;
  private retrying = false;
  private last = 0;
  private readonly gapMs: number;
  private readonly maxHosts: number;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: PurgeClientOptions) {
    this.gapMs = 1000 / (o.requestsPerSecond ?? 3);
    this.maxHosts = o.maxHosts ?? 10;
    const every = o.retryIntervalMs ?? 30_000;
    if (every > 0) {
      this.timer = setInterval(() => void this.retryPending(), every);
      this.timer.unref();
    }
  }

  /** Purges `hosts` on every proxy; rejects (after recording them pending) if any proxy failed. */
  flush(hosts: string[]): Promise<void> {
    for (const h of hosts) this.queue.add(h);
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    void this.process();
    return done;
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    let failure: Error | undefined;
    while (this.queue.size > 0) {
      const wait = this.last + this.gapMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const batch = [...this.queue].slice(0, this.maxHosts);
      for (const h of batch) this.queue.delete(h);
      const results = await Promise.all(this.o.proxies.map((proxy) => this.call(proxy, batch, false)));
      for (const [i, ok] of results.entries()) {
        if (ok) continue;
        const proxy = this.o.proxies[i]!;
        await this.o.redis.zadd(pendingKey(proxy), ...batch.flatMap((h) => [Date.now(), h]));
        failure ??= new Error(`failed to flush ${proxy}`);
      }
      this.last = Date.now();
    }
    const waiting = this.waiting.splice(0);
    this.processing = false;
    for (const w of waiting) failure ? w.reject(failure) : w.resolve();
  }

  /** One purge call; true when the proxy accepted it (2xx). */
  private async call(proxy: string, hosts: string[], retry: boolean): Promise<boolean> {
    const url = `${proxy}/purge?${hosts.map((h) => `host=${encodeURIComponent(h)}`).join('&')}`;
    try {
      const res = await fetch(url, { headers: { 'x-blot-purge-token': this.o.token }, signal: AbortSignal.timeout(this.o.timeoutMs ?? 5000) });
      const body = await res.text();
      this.calls.push({ proxy, hosts, status: res.status, retryAfter: res.headers.get('retry-after') ?? undefined, body, retry });
      return res.ok;
    } catch (err) {
      this.calls.push({ proxy, hosts, status: 0, body: String((err as Error).cause ?? err), retry });
      return false;
    }
  }

  /** Sends again what a proxy missed; a host recorded again meanwhile stays pending. */
  async retryPending(): Promise<void> {
    if (this.retrying) return;
    this.retrying = true;
    try {
      for (const proxy of this.o.proxies) {
        const flat = await this.o.redis.zrange(pendingKey(proxy), 0, -1, 'WITHSCORES');
        const entries = [];
        for (let i = 0; i < flat.length; i += 2) entries.push({ host: flat[i]!, score: flat[i + 1]! });
        for (let i = 0; i < entries.length; i += this.maxHosts) {
          const batch = entries.slice(i, i + this.maxHosts);
          if (!(await this.call(proxy, batch.map((e) => e.host), true))) break;
          for (const e of batch) {
            if ((await this.o.redis.zscore(pendingKey(proxy), e.host)) === e.score) await this.o.redis.zrem(pendingKey(proxy), e.host);
          }
          await new Promise((r) => setTimeout(r, this.gapMs));
        }
      }
    } finally {
      this.retrying = false;
    }
  }

  /** Hosts still to be sent to `proxy`. */
  async pending(proxy: string): Promise<string[]> {
    return this.o.redis.zrange(pendingKey(proxy), 0, -1);
  }

  close(): void {
    clearInterval(this.timer);
  }
}
