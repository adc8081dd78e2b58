// Purges: by URL, URL prefix, host or tag; hard (gone) or soft (stale, still served while a refresh
// runs or the origin is down). Objects are found through the cache's indexes — a host or tag purge
// touches that host's or tag's objects, never the whole cache — and the result is effective for the
// very next request. A purge also holds against fetches already under way: each purge is kept for
// a while, and an object whose fetch started before a purge that covers it is not stored.
import { clock } from '../clock.js';
import { normaliseHost } from '../sites/host.js';
import type { EdgeCache } from './edge-cache.js';
import type { CacheMeta } from './store.js';

export type PurgeKind = 'url' | 'prefix' | 'host' | 'tag';

export interface PurgeRequest {
  kind: PurgeKind;
  value: string;
  soft?: boolean;
}

export interface PurgeRecord {
  kind: PurgeKind;
  value: string;
  soft: boolean;
  /** Epoch ms the purge took effect. */
  at: number;
  /** Objects removed (hard) or marked stale (soft). */
  purged: number;
  ms: number;
}

/** A purge aimed at one host and, for URL and prefix purges, a path (and query) on it. */
interface Target {
  kind: PurgeKind;
  host?: string;
  /** Path prefix (prefix purge) or path and query (URL purge). */
  path?: string;
  tag?: string;
  at: number;
}

/** A cache key (`scheme://host/path?query`, maybe a variant suffix) → its host and what follows it. */
function splitKey(key: string): { host: string; rest: string } {
  const start = key.indexOf('//') + 2;
  const slash = key.indexOf('/', start);
  return { host: key.slice(start, slash), rest: key.slice(slash) };
}

/** `https://Host/p?q`, `host/p` or `/p` (with no host) → host and path. */
function splitUrl(value: string): { host?: string; path: string } {
  const m = /^(?:[a-z][a-z0-9+.-]*:\/\/)?([^/?#]*)([^#]*)/i.exec(value.trim())!;
  const host = m[1] ? normaliseHost(m[1]) : undefined;
  if (m[1] && host === undefined) throw new Error(`not a host: ${JSON.stringify(m[1])}`);
  return { host, path: m[2] || '/' };
}

export class Purger {
  /** The last purges, newest last, for the admin API and the dashboard. */
  readonly log: PurgeRecord[] = [];
  /** Purges and objects purged since start, by `kind mode` (e.g. `host hard`), for the metrics. */
  readonly totals = new Map<string, { purges: number; objects: number }>();
  /** Purges recent enough that a fetch started before them may still be under way. */
  private recent: Target[] = [];
  /** How long a purge is held against fetches in flight (longer than any fetch may last). */
  private readonly holdMs: number;
  private readonly logSize: number;

  constructor(
    private readonly cache: EdgeCache,
    options: { holdMs?: number; logSize?: number } = {},
  ) {
    this.holdMs = options.holdMs ?? 60 * 60 * 1000;
    this.logSize = options.logSize ?? 200;
    cache.gate = (meta, since) => !this.covers(meta, since);
  }

  async purge(request: PurgeRequest): Promise<PurgeRecord> {
    const started = performance.now();
    const at = clock.now();
    const soft = request.soft === true;
    const target = this.target(request, at);
    this.recent.push(target);
    this.prune(at);
    const complete = this.detachFlights(target);
    const keys = new Set([...this.select(target), ...complete]);
    let purged = 0;
    await Promise.all(
      [...keys].map(async (key) => {
        // An object whose bytes are all in but whose write is not done goes, soft purge or not:
        // the gate would refuse it at commit anyway.
        const done = soft && !complete.has(key) ? await this.cache.markStale(key, at) : await this.cache.delete(key);
        if (done || complete.has(key)) purged++;
      }),
    );
    const record: PurgeRecord = { kind: request.kind, value: request.value, soft, at, purged, ms: performance.now() - started };
    this.log.push(record);
    const total = this.totals.get(`${record.kind} ${soft ? 'soft' : 'hard'}`) ?? { purges: 0, objects: 0 };
    total.purges++;
    total.objects += purged;
    this.totals.set(`${record.kind} ${soft ? 'soft' : 'hard'}`, total);
    if (this.log.length > this.logSize) this.log.splice(0, this.log.length - this.logSize);
    return record;
  }

  /**
   * A successful unsafe request invalidates what is stored for its URL (RFC 9111 §4.4), and — like
   * a purge — holds against fetches of it already under way: they take no more joiners and what
   * they bring back is not stored, so a GET right after a PUT never gets the body from before it.
   * Not logged as an operator's purge. Resolves with how many objects were removed.
   */
  async invalidate(primary: string): Promise<number> {
    const at = clock.now();
    const { host, rest } = splitKey(primary);
    const target: Target = { kind: 'url', host, path: rest, at };
    this.recent.push(target);
    this.prune(at);
    const complete = this.detachFlights(target);
    let removed = 0;
    for (const key of new Set([...this.cache.keysOf(primary), ...complete])) if ((await this.cache.delete(key)) || complete.has(key)) removed++;
    return removed;
  }

  private target(request: PurgeRequest, at: number): Target {
    const value = request.value.trim();
    if (value === '') throw new Error(`an empty ${request.kind} purges nothing`);
    switch (request.kind) {
      case 'host': {
        const host = normaliseHost(value);
        if (host === undefined) throw new Error(`not a host: ${JSON.stringify(value)}`);
        return { kind: 'host', host, at };
      }
      case 'tag':
        return { kind: 'tag', tag: value, at };
      case 'url':
      case 'prefix': {
        const { host, path } = splitUrl(value);
        if (host === undefined) throw new Error(`a ${request.kind} purge needs a host: "https://host/path" or "host/path"`);
        return { kind: request.kind, host, path, at };
      }
    }
  }

  /**
   * Fetches under way that the purge covers stop taking joiners, so a request after the purge
   * fetches anew instead of reading what the origin sent before it (the gate keeps them out of the
   * store). Returns the keys of those that already hold every byte and are only being written.
   */
  private detachFlights(t: Target): Set<string> {
    const complete = new Set<string>();
    const { flights } = this.cache;
    for (const flight of [...flights.all()]) {
      const meta = flight.meta;
      // Before the origin's headers are in, only the key is known: its host and path (a tag purge
      // cannot tell yet, so it detaches — at worst one extra origin fetch).
      const covered = meta !== undefined ? this.matches(t, meta) : t.kind === 'tag' || this.matchesKey(t, flight.key);
      if (!covered) continue;
      flights.finish(flight);
      if (meta !== undefined && flight.state === 'complete') complete.add(meta.key);
    }
    return complete;
  }

  /** Whether a cache key falls under a host, prefix or URL purge. */
  private matchesKey(t: Target, key: string): boolean {
    const { host, rest } = splitKey(key);
    if (host !== t.host) return false;
    if (t.kind === 'host') return true;
    if (t.kind === 'prefix') return rest.startsWith(t.path!.split('?')[0]!);
    // A URL purge: the URL itself, or one of its variants (`\n` starts a secondary key).
    return rest === t.path || rest.startsWith(`${t.path}\n`);
  }

  /** Keys of the objects a purge covers. Host and tag purges leave permanent URLs alone. */
  private select(t: Target): string[] {
    const { cache } = this;
    const index = cache.index;
    switch (t.kind) {
      case 'url':
        return ['http', 'https'].flatMap((scheme) => cache.keysOf(`${scheme}://${t.host}${t.path}`));
      case 'host':
        return index.keysForHost(t.host!).filter((k) => !index.get(k)?.immutable);
      case 'tag':
        return index.keysForTag(t.tag!).filter((k) => !index.get(k)?.immutable);
      case 'prefix':
        return index.keysForHost(t.host!).filter((k) => {
          const primary = index.get(k)?.primary;
          return primary !== undefined && splitKey(primary).rest.startsWith(t.path!);
        });
    }
  }

  /** Whether a purge made after `since` covers this object (its fetch began before the purge). */
  covers(meta: CacheMeta, since: number): boolean {
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const t = this.recent[i]!;
      if (t.at < since) break;
      if (this.matches(t, meta)) return true;
    }
    return false;
  }

  private matches(t: Target, meta: CacheMeta): boolean {
    switch (t.kind) {
      case 'host':
        return meta.host === t.host && !meta.immutable;
      case 'tag':
        return meta.tags.includes(t.tag!) && !meta.immutable;
      case 'url':
        return meta.host === t.host && meta.primary.endsWith(`//${t.host}${t.path}`);
      case 'prefix':
        return meta.host === t.host && meta.path.startsWith(t.path!.split('?')[0]!);
    }
  }

  private prune(now: number): void {
    const cutoff = now - this.holdMs;
    let drop = 0;
    while (drop < this.recent.length && this.recent[drop]!.at < cutoff) drop++;
    if (drop > 0) this.recent = this.recent.slice(drop);
  }

  /** Purges held against in-flight fetches right now (for the admin API). */
  get active(): number {
    return this.recent.length;
  }
}
