// The manifest backend for many app servers: one Redis hash per blog (field = path, value =
// cacheID), changed by a Lua script that also bumps a sequence number and publishes the change.
// Every server keeps the whole manifest in memory (lookups stay synchronous) and follows the
// channel; a gap in the sequence (a dropped subscriber connection) makes it reload everything.
// ioredis is imported only here, and lazily, so importing `blotcdn/origin` never loads it.
import type { Redis } from 'ioredis';
import { Manifest, type Blog, type ManifestChange, type RawBlog } from './manifest.js';
import { encodeJournal, parseJournal } from './manifest-format.js';

export interface RedisManifestOptions {
  /** A Redis URL (`redis://…`); or pass `redis`, a client of your own (it is not closed by us). */
  url?: string;
  redis?: Redis;
  /** Prefix of every key and of the channel. Default `blotcdn:manifest:`. */
  prefix?: string;
  /** Follow other servers' changes (pub/sub). Default true; without it, only refresh() sees them. */
  subscribe?: boolean;
  /** How long an update waits for its own change to come back on the channel before reading
   *  Redis directly instead (default 2000 ms). */
  waitMs?: number;
  /** Background failures (a reload after a gap or a reconnection). */
  onError?: (err: Error) => void;
}

// Keys: 1 the sequence, 2 the set of blog ids, 3 the channel name. ARGV: the hash-key prefix, the
// message (journal text), then records: S blog path cacheID | D blog path | R blog. Atomic, so the
// sequence order is the order changes were applied in — and the order subscribers apply them in.
// Blog hashes are built from the prefix inside the script: a Redis Cluster is not supported.
const APPLY = `
local seq = redis.call('INCR', KEYS[1])
local prefix = ARGV[1]
local i = 3
while i <= #ARGV do
  local op, blog = ARGV[i], ARGV[i + 1]
  local key = prefix .. blog
  if op == 'S' then
    redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3]); redis.call('SADD', KEYS[2], blog); i = i + 4
  elseif op == 'D' then
    redis.call('HDEL', key, ARGV[i + 2])
    if redis.call('EXISTS', key) == 0 then redis.call('SREM', KEYS[2], blog) end
    i = i + 3
  else
    redis.call('DEL', key); redis.call('SREM', KEYS[2], blog); i = i + 2
  end
end
redis.call('PUBLISH', KEYS[3], seq .. ARGV[2])
return seq`;

// Many blogs' hashes in one round trip, as flat [path, cacheID, …] arrays (decoded lazily).
const READ_BLOGS = `
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
return out`;

type ScriptClient = Redis & {
  blotcdnManifestApply(...args: (string | number)[]): Promise<number>;
  blotcdnManifestRead(...args: (string | number)[]): Promise<string[][]>;
};

export class RedisManifest extends Manifest {
  private readonly prefix: string;
  private seq = 0;
  private subscriber: Redis | undefined;
  private loading: Promise<void> | undefined;
  private buffered: string[] = [];
  private waiters: { seq: number; resolve(): void }[] = [];

  private constructor(
    private readonly redis: ScriptClient,
    private readonly ownsClient: boolean,
    private readonly options: RedisManifestOptions,
  ) {
    super();
    this.prefix = options.prefix ?? 'blotcdn:manifest:';
    redis.defineCommand('blotcdnManifestApply', { lua: APPLY, numberOfKeys: 3 });
    redis.defineCommand('blotcdnManifestRead', { lua: READ_BLOGS });
  }

  /** Connects, subscribes to changes and loads every blog. */
  static async open(options: RedisManifestOptions): Promise<RedisManifest> {
    let client = options.redis;
    if (!client) {
      if (!options.url) throw new TypeError('RedisManifest needs a url or a redis client');
      const { Redis } = await import('ioredis');
      client = new Redis(options.url, { maxRetriesPerRequest: 3 });
    }
    const manifest = new RedisManifest(client as ScriptClient, !options.redis, options);
    try {
      if (options.subscribe !== false) await manifest.subscribe();
      await manifest.reload();
    } catch (err) {
      await manifest.close();
      throw err;
    }
    return manifest;
  }

  /** Reloads everything when Redis holds changes this process has not seen (one GET otherwise). */
  override async refresh(): Promise<void> {
    const seq = Number(await this.redis.get(this.key('seq'))) || 0;
    if (seq !== this.seq) await this.reload();
  }

  override async close(): Promise<void> {
    await super.close();
    for (const w of this.waiters.splice(0)) w.resolve();
    this.subscriber?.disconnect();
    if (this.ownsClient) this.redis.disconnect();
  }

  protected override async persist(changes: ManifestChange[]): Promise<void> {
    const records: string[] = [];
    for (const c of changes) {
      if (c.path === null) records.push('R', c.blogID);
      else if (c.cacheID === null) records.push('D', c.blogID, c.path);
      else records.push('S', c.blogID, c.path, c.cacheID);
    }
    const message = encodeJournal(changes).toString('utf8');
    const seq = await this.redis.blotcdnManifestApply(this.key('seq'), this.key('blogs'), this.key('changes'), this.key('blog:'), message, ...records);
    // With a subscriber, our change becomes visible when its message arrives, in sequence order
    // with everyone else's; without one, apply it now.
    if (!this.subscriber) return this.applyChanges(changes);
    if (this.seq >= seq) return;
    // If our message never comes (the subscriber connection dropped and has not come back), a
    // reload every waitMs reads the state, and the sequence number, straight from Redis.
    const retry = setInterval(() => this.reloadInBackground(), this.options.waitMs ?? 2000);
    try {
      await new Promise<void>((resolve) => this.waiters.push({ seq, resolve }));
    } finally {
      clearInterval(retry);
    }
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  private async subscribe(): Promise<void> {
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('error', (err: Error) => this.options.onError?.(err));
    subscriber.on('message', (_channel: string, message: string) => this.receive(message));
    await subscriber.subscribe(this.key('changes'));
    // ioredis subscribes again after a reconnection, but messages sent while it was away are lost:
    // a reconnection reloads (a gap in the sequence would too, but only once a later one arrives).
    subscriber.on('ready', () => this.reloadInBackground());
  }

  private receive(message: string): void {
    if (this.loading) return void this.buffered.push(message);
    const newline = message.indexOf('\n');
    const seq = Number(message.slice(0, newline));
    if (seq <= this.seq) return;
    if (seq !== this.seq + 1) return this.reloadInBackground();
    this.seq = seq;
    this.applyChanges(parseJournal(Buffer.from(message.slice(newline), 'utf8')).changes);
    this.wake();
  }

  private wake(): void {
    this.waiters = this.waiters.filter((w) => (w.seq <= this.seq ? (w.resolve(), false) : true));
  }

  private reloadInBackground(): void {
    if (this.closed || this.loading) return;
    this.reload().catch((err) => this.options.onError?.(err as Error));
  }

  // Subscribed first, then the sequence, then the hashes: every change after that sequence number
  // arrives as a message (buffered meanwhile) and is applied on top, in order.
  private reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        this.buffered = [];
        const seq = Number(await this.redis.get(this.key('seq'))) || 0;
        const ids = await this.redis.smembers(this.key('blogs'));
        const blogs = new Map<string, Blog | RawBlog>();
        for (let i = 0; i < ids.length; i += 1000) {
          const chunk = ids.slice(i, i + 1000);
          const hashes = await this.redis.blotcdnManifestRead(chunk.length, ...chunk.map((id) => this.key(`blog:${id}`)));
          chunk.forEach((id, j) => hashes[j]!.length > 0 && blogs.set(id, hashes[j]!));
        }
        this.seq = seq;
        this.replaceAll(blogs);
      } finally {
        this.loading = undefined;
      }
      for (const message of this.buffered.splice(0)) this.receive(message);
      this.wake();
    })();
    return this.loading;
  }
}
