// Following the platform's domain list as it changes, so a host the app adds is served (and gets its
// certificate) at its first request and a host it removes stops at once, instead of when a cached
// answer expires — the short negative cache stays as the fallback. Two ways in, on one subscriber
// connection: Redis keyspace notifications for `{prefix}*` (the app's own SET and DEL: nothing to
// change in it; Redis must send them — `notify-keyspace-events` with K, $, g and x, which
// `enableKeyspaceEvents` turns on), and a channel any process may PUBLISH a host to.
import { Redis } from 'ioredis';

export interface DomainWatchOptions {
  /** The subscriber connection's Redis (the domain list's). */
  url: string;
  prefix: string;
  channel: string;
  /** CONFIG SET the missing notification classes when Redis does not send them. */
  enableKeyspaceEvents: boolean;
  /** A host was added, removed or named on the channel: forget what is cached about it. */
  onChange(host: string): void;
  /** The connection came back: notifications may have been missed, forget everything. */
  onResync(): void;
  onWarn(message: string, fields?: Record<string, unknown>): void;
}

/** What the watch follows: keyspace notifications and the channel, or only the channel. */
export type WatchMode = 'keyspace' | 'channel';

/** The notification classes keyspace events need: K (keyspace channel), $ (SET), g (DEL…), x (expired). */
export function missingKeyspaceFlags(flags: string): string {
  const all = flags.includes('A') ? `${flags}g$lshzxe` : flags;
  return ['K', '$', 'g', 'x'].filter((f) => !all.includes(f)).join('');
}

const escapeGlob = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&');

export class DomainWatch {
  private readonly sub: Redis;
  private readonly keyspacePrefix: string;

  constructor(private readonly options: DomainWatchOptions) {
    this.sub = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    this.sub.on('error', (err: Error) => options.onWarn('domain list watch: redis', { err: err.message }));
    this.keyspacePrefix = `__keyspace@${this.sub.options.db ?? 0}__:${options.prefix}`;
  }

  /** Subscribes; resolves with what is followed. Never rejects: without a watch the cache's TTLs apply. */
  async start(): Promise<WatchMode | 'off'> {
    try {
      await this.sub.connect();
      const mode = await this.checkNotifications();
      this.sub.on('pmessage', (_pattern: string, channel: string) => {
        if (channel.startsWith(this.keyspacePrefix)) this.options.onChange(channel.slice(this.keyspacePrefix.length));
      });
      this.sub.on('message', (channel: string, host: string) => {
        if (channel === this.options.channel) this.options.onChange(host.trim().toLowerCase());
      });
      // Connected already: a later `ready` is a reconnection (ioredis subscribes again by itself).
      this.sub.on('ready', () => this.options.onResync());
      await this.sub.psubscribe(`${escapeGlob(this.keyspacePrefix)}*`);
      await this.sub.subscribe(this.options.channel);
      return mode;
    } catch (err) {
      this.options.onWarn('domain list watch could not start: new hosts wait for the negative cache to expire', { err: (err as Error).message });
      return 'off';
    }
  }

  /** Asks Redis whether it sends keyspace events, and turns them on when allowed to. */
  private async checkNotifications(): Promise<WatchMode> {
    // A subscribed connection cannot run CONFIG: ask before subscribing.
    try {
      const [, flags = ''] = (await this.sub.config('GET', 'notify-keyspace-events')) as string[];
      const missing = missingKeyspaceFlags(flags);
      if (missing === '') return 'keyspace';
      if (this.options.enableKeyspaceEvents) {
        await this.sub.config('SET', 'notify-keyspace-events', flags + missing);
        return 'keyspace';
      }
      this.options.onWarn(`redis sends no keyspace events for ${this.options.prefix}* (notify-keyspace-events lacks ${missing}): set domains.redis.enableKeyspaceEvents, or have the app PUBLISH new hosts on ${this.options.channel}`);
    } catch (err) {
      this.options.onWarn('cannot read or set notify-keyspace-events: only the channel is followed', { err: (err as Error).message });
    }
    return 'channel';
  }

  close(): void {
    this.sub.disconnect();
  }
}
