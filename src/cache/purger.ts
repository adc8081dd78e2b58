// Purges: by URL, URL prefix, host or tag; hard (gone) or soft (stale, still served while a refresh
// runs or the origin is down). Objects are found through the cache's indexes — a host or tag purge
// touches that host's or tag's objects, never the whole cache — and the result is effective for the
// very next request. A purge also holds against fetches already under way: each purge is kept for
// a while, and an object whose fetch started before a purge that covers it is not stored.
import { clock } from '../clock.js';
import type { EdgeCache } from './edge-cache.js';
import { covers, coversKey, purgeTarget, urlTarget, type PurgeKind, type PurgeRequest, type PurgeTarget } from './purge-target.js';
import type { CacheMeta } from './store.js';

export type { PurgeKind, PurgeRequest } from './purge-target.js';

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

export class Purger {
  /** The last purges, newest last, for the admin API and the dashboard. */
  readonly log: PurgeRecord[] = [];
  /** Purges and objects purged since start, by `kind mode` (e.g. `host hard`), for the metrics. */
  readonly totals = new Map<string, { purges: number; objects: number }>();
  /** Purges recent enough that a fetch started before them may still be under way. */
  private recent: PurgeTarget[] = [];
  /** How long a purge is held against fetches in flight (longer than any fetch may last). */
  private readonly holdMs: number;
  /** Most purges held at once; past it the oldest stop being held early. */
  readonly maxHeld: number;
  private readonly logSize: number;

  constructor(
    private readonly cache: EdgeCache,
    options: { holdMs?: number; logSize?: number; maxHeld?: number } = {},
  ) {
    this.holdMs = options.holdMs ?? 60 * 60 * 1000;
    this.maxHeld = options.maxHeld ?? 100_000;
    this.logSize = options.logSize ?? 200;
    cache.gate = (meta, since) => !this.covers(meta, since);
  }

  async purge(request: PurgeRequest): Promise<PurgeRecord> {
    const started = performance.now();
    const target = purgeTarget(request, clock.now());
    const soft = target.soft;
    const purged = await this.apply(target);
    const record: PurgeRecord = { kind: request.kind, value: request.value, soft, at: target.at, purged, ms: performance.now() - started };
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
  invalidate(primary: string): Promise<number> {
    return this.apply(urlTarget(primary, clock.now()));
  }

  /** Holds the purge against fetches under way and applies it to every tier; resolves with how many objects it took. */
  private async apply(target: PurgeTarget): Promise<number> {
    this.recent.push(target);
    this.prune(target.at);
    const complete = this.detachFlights(target);
    // An object whose bytes are all in but whose write is not done goes, soft purge or not: the
    // gate would refuse it at commit anyway. Then the tiers apply the purge to what they hold.
    await Promise.all([...complete].map((key) => this.cache.delete(key)));
    return complete.size + (await this.cache.purge(target));
  }

  /**
   * Fetches under way that the purge covers stop taking joiners, so a request after the purge
   * fetches anew instead of reading what the origin sent before it (the gate keeps them out of the
   * store). Returns the keys of those that already hold every byte and are only being written.
   */
  private detachFlights(t: PurgeTarget): Set<string> {
    const complete = new Set<string>();
    const { flights } = this.cache;
    for (const flight of [...flights.all()]) {
      const meta = flight.meta;
      // Before the origin's headers are in, only the key is known: its host and path (a tag purge
      // cannot tell yet, so it detaches — at worst one extra origin fetch).
      const covered = meta !== undefined ? covers(t, meta) : t.kind === 'tag' || coversKey(t, flight.key);
      if (!covered) continue;
      flights.finish(flight);
      if (meta !== undefined && flight.state === 'complete') complete.add(meta.key);
    }
    return complete;
  }

  /** Whether a purge made after `since` covers this object (its fetch began before the purge). */
  covers(meta: CacheMeta, since: number): boolean {
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const t = this.recent[i]!;
      if (t.at < since) break;
      if (covers(t, meta)) return true;
    }
    return false;
  }

  private prune(now: number): void {
    const cutoff = now - this.holdMs;
    let drop = 0;
    while (drop < this.recent.length && (this.recent[drop]!.at < cutoff || this.recent.length - drop > this.maxHeld)) drop++;
    if (drop > 0) this.recent = this.recent.slice(drop);
  }

  /** Purges held against in-flight fetches right now (for the admin API). */
  get active(): number {
    return this.recent.length;
  }

  /** Bytes the held purges take (a target is a small object and its strings). */
  /** The purges held against fetches in flight, oldest first (the shield tier reads them). */
  get held(): readonly PurgeTarget[] {
    return this.recent;
  }

  get heldBytes(): number {
    let n = 0;
    for (const t of this.recent) n += 120 + 2 * ((t.host?.length ?? 0) + (t.path?.length ?? 0) + (t.tag?.length ?? 0));
    return n;
  }
}
