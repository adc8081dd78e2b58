// The primary's side of purges between workers: each purge gets a sequence number and goes to every
// worker that is up; each worker acknowledges in order. Purges a worker has not acknowledged are
// kept, so a worker that died (its disk folder outlives it) is sent them when it starts again, before
// it listens. The log is bounded: a worker down through more purges than it holds starts with an
// emptied folder instead (`worker_cache_reset`). A purge the primary accepted itself goes to the
// other nodes once, through one worker (the publisher), whose report (receipts) completes the answer;
// one no worker was up to send goes out with the first worker that starts. Pure bookkeeping: the
// primary does the sending.
import type { PurgeRecord, PurgeRequest } from '../../cache/purger.js';
import type { PurgeSent } from '../cluster.js';
import type { RelayedPurge, ToWorker } from './messages.js';

interface Slot {
  /** Every purge up to this seq is applied in the worker's folder. */
  acked: number;
  /** The worker is up and has been sent what it missed: relay to it. */
  send: ((m: ToWorker) => void) | undefined;
  /** It missed purges the log no longer holds: empty its folder before it starts. */
  reset: boolean;
}

interface Logged extends RelayedPurge {
  /** The worker that sends it to the other nodes (admin purges only); undefined: none up yet. */
  publisher?: number;
}

interface Waiting {
  request: PurgeRequest;
  invalidate: boolean;
  started: number;
  at: number;
  /** Workers up when it went out (and the one that made it). */
  members: number[];
  pending: Set<number>;
  records: PurgeRecord[];
  /** Waiting for the publisher's report of the other nodes' receipts. */
  publisher: number | undefined;
  sent: PurgeSent | undefined;
  done: (answer: MachinePurge) => void;
  timer: NodeJS.Timeout;
}

/** The machine's answer to a purge: the sum of the workers' counts, who applied it, and the other nodes' receipts. */
export interface MachinePurge extends PurgeRecord {
  /** The machine's workers as its members: up when it went out, and those that had not applied it in time. */
  workers: { acked: number; nodes: number; missing: number[] };
  /** The publisher's report (cluster mode; without Redis, or if it exited first: none). */
  sent?: PurgeSent;
}

export interface RelayOptions {
  /** The publisher waits this long for the other nodes' receipts (POST /purge with "wait": true). */
  waitMs?: number;
  /** An unsafe request's invalidation (RFC 9111 §4.4): for the siblings only, never another node. */
  invalidate?: boolean;
}

export class PurgeRelay {
  private seq = 0;
  private readonly log: Logged[] = [];
  /** Admin purges whose publisher has not yet said it sent them to the other nodes. */
  private readonly unpublished = new Set<Logged>();
  private readonly slots = new Map<number, Slot>();
  private readonly waiting = new Map<number, Waiting>();
  /** The machine's purges, newest last (the admin API's GET /purges). */
  readonly records: PurgeRecord[] = [];

  constructor(
    private readonly options: { maxLog?: number; timeoutMs: number; onTimeout: (seq: number, workers: number[]) => void },
  ) {}

  /** A worker slot the primary will fork (before any purge it must catch up on). */
  add(n: number): void {
    if (!this.slots.has(n)) this.slots.set(n, { acked: this.seq, send: undefined, reset: false });
  }

  /** Whether worker `n` must start with an emptied disk folder (and forget that it must). */
  takeReset(n: number): boolean {
    const slot = this.slots.get(n)!;
    const reset = slot.reset;
    slot.reset = false;
    return reset;
  }

  /** Worker `n`'s bus started: send it what it missed (and have it publish what nobody could), then relay to it. */
  hello(n: number, send: (m: ToWorker) => void): void {
    const slot = this.slots.get(n)!;
    const purges = this.log
      .filter((p) => p.seq > slot.acked)
      .map((p) => {
        const remote = this.unpublished.has(p) && p.publisher === undefined;
        if (remote) p.publisher = n;
        return { ...relayed(p), ...(remote ? { remote: true as const } : {}) };
      });
    send({ t: 'replay', purges });
    slot.send = send;
  }

  /** Worker `n` exited: purges it has not acknowledged wait for its restart; those it was to publish, for whoever starts first. */
  down(n: number): void {
    const slot = this.slots.get(n);
    if (slot) slot.send = undefined;
    for (const p of this.unpublished) if (p.publisher === n) p.publisher = undefined;
    for (const [seq, w] of this.waiting) {
      let changed = w.pending.delete(n);
      if (w.publisher === n) {
        w.publisher = undefined;
        w.sent = { queued: false, error: `worker w${n} exited before it reported the other nodes' receipts` };
        changed = true;
      }
      if (changed) this.settle(seq, w);
    }
  }

  /** Worker `n` applied every purge up to `seq` (and sent to the other nodes those it publishes). */
  applied(n: number, seq: number, record: PurgeRecord | undefined): void {
    const slot = this.slots.get(n);
    if (slot && seq > slot.acked) slot.acked = seq;
    for (const p of this.unpublished) if (p.publisher === n && p.seq <= seq) this.unpublished.delete(p);
    const w = this.waiting.get(seq);
    if (w?.pending.delete(n)) {
      if (record) w.records.push(record);
      this.settle(seq, w);
    }
    this.prune();
  }

  /** Worker `n` reports what became of purge `seq`, which it published to the other nodes. */
  sent(n: number, seq: number, sent: PurgeSent | undefined): void {
    const w = this.waiting.get(seq);
    if (w === undefined || w.publisher !== n) return;
    w.publisher = undefined;
    w.sent = sent;
    this.settle(seq, w);
  }

  /**
   * A purge for every worker; `from`, the worker that made it and applied it already. Resolves when
   * every worker up has applied it (and the publisher reported the other nodes' receipts), with the
   * machine's count (the sum of the workers').
   */
  purge(request: PurgeRequest, from?: number, options: RelayOptions = {}): Promise<MachinePurge> {
    const seq = ++this.seq;
    const entry: Logged = { seq, request, ...(options.invalidate ? { invalidate: true as const } : {}) };
    this.log.push(entry);
    this.bound();
    const live = [...this.slots].filter(([, s]) => s.send !== undefined).map(([n]) => n);
    // Admin purges go to the other nodes once, from the first worker up (a worker's own already
    // went; invalidations never go).
    if (from === undefined && !options.invalidate) {
      entry.publisher = live[0];
      this.unpublished.add(entry);
    }
    for (const n of live) {
      const remote = n === entry.publisher;
      this.slots.get(n)!.send!({ t: 'purge', ...relayed(entry), remote, own: n === from, ...(remote && options.waitMs !== undefined ? { wait: options.waitMs } : {}) });
    }
    return new Promise((done) => {
      const timer = setTimeout(() => {
        this.options.onTimeout(seq, [...(this.waiting.get(seq)?.pending ?? [])]);
        const w = this.waiting.get(seq);
        if (w) this.finish(seq, w);
      }, this.options.timeoutMs);
      timer.unref();
      const members = from === undefined || live.includes(from) ? live : [...live, from];
      const w: Waiting = {
        request,
        invalidate: options.invalidate === true,
        started: performance.now(),
        at: Date.now(),
        members,
        pending: new Set(live.filter((n) => n !== from)),
        records: [],
        publisher: entry.publisher,
        sent: undefined,
        done,
        timer,
      };
      this.waiting.set(seq, w);
      this.settle(seq, w);
    });
  }

  private settle(seq: number, w: Waiting): void {
    if (w.pending.size === 0 && w.publisher === undefined) this.finish(seq, w);
  }

  private finish(seq: number, w: Waiting): void {
    clearTimeout(w.timer);
    this.waiting.delete(seq);
    const record: PurgeRecord = {
      kind: w.request.kind,
      value: w.request.value,
      soft: w.request.soft === true,
      at: w.records.reduce((min, r) => Math.min(min, r.at), w.at),
      purged: w.records.reduce((n, r) => n + r.purged, 0),
      ms: performance.now() - w.started,
    };
    if (!w.invalidate) {
      this.records.push(record);
      if (this.records.length > 200) this.records.splice(0, this.records.length - 200);
    }
    const workers = { acked: w.members.length - w.pending.size, nodes: w.members.length, missing: [...w.pending] };
    w.done({ ...record, workers, ...(w.sent ? { sent: w.sent } : {}) });
  }

  /** Drops what every worker has applied. */
  private prune(): void {
    let min = this.seq;
    for (const slot of this.slots.values()) min = Math.min(min, slot.acked);
    let drop = 0;
    while (drop < this.log.length && this.log[drop]!.seq <= min) drop++;
    if (drop > 0) this.log.splice(0, drop);
  }

  /** Past the bound, the oldest go; a worker that still needed them must start empty. */
  private bound(): void {
    const max = this.options.maxLog ?? 100_000;
    if (this.log.length <= max) return;
    const dropped = this.log.splice(0, this.log.length - max);
    for (const p of dropped) this.unpublished.delete(p);
    const last = dropped[dropped.length - 1]!.seq;
    for (const slot of this.slots.values()) {
      // A worker up was sent them already and will acknowledge them; one down cannot catch up.
      if (slot.send === undefined && slot.acked < last) {
        slot.acked = last;
        slot.reset = true;
      }
    }
  }

  /** Purges kept for workers that have not applied them (for tests and the figures). */
  get kept(): number {
    return this.log.length;
  }
}

/** A logged purge as it is sent (without the relay's own bookkeeping). */
function relayed(p: Logged): RelayedPurge {
  return { seq: p.seq, request: p.request, ...(p.invalidate ? { invalidate: true as const } : {}) };
}
