// The primary's side of purges between workers: each purge gets a sequence number and goes to every
// worker that is up; each worker acknowledges in order. Purges a worker has not acknowledged are
// kept, so a worker that died (its disk folder outlives it) is sent them when it starts again, before
// it listens. The log is bounded: a worker down through more purges than it holds starts with an
// emptied folder instead (`worker_cache_reset`). Pure bookkeeping: the primary does the sending.
import type { PurgeRecord, PurgeRequest } from '../../cache/purger.js';
import type { ToWorker } from './messages.js';

interface Slot {
  /** Every purge up to this seq is applied in the worker's folder. */
  acked: number;
  /** The worker is up and has been sent what it missed: relay to it. */
  send: ((m: ToWorker) => void) | undefined;
  /** It missed purges the log no longer holds: empty its folder before it starts. */
  reset: boolean;
}

interface Waiting {
  request: PurgeRequest;
  started: number;
  at: number;
  pending: Set<number>;
  records: PurgeRecord[];
  done: (record: PurgeRecord) => void;
  timer: NodeJS.Timeout;
}

export class PurgeRelay {
  private seq = 0;
  private readonly log: { seq: number; request: PurgeRequest }[] = [];
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

  /** Worker `n`'s bus started: send it what it missed, then relay to it. */
  hello(n: number, send: (m: ToWorker) => void): void {
    const slot = this.slots.get(n)!;
    send({ t: 'replay', purges: this.log.filter((p) => p.seq > slot.acked) });
    slot.send = send;
  }

  /** Worker `n` exited: purges it has not acknowledged wait for its restart. */
  down(n: number): void {
    const slot = this.slots.get(n);
    if (slot) slot.send = undefined;
    for (const [seq, w] of this.waiting) if (w.pending.delete(n)) this.settle(seq, w);
  }

  /** Worker `n` applied every purge up to `seq`. */
  applied(n: number, seq: number, record: PurgeRecord | undefined): void {
    const slot = this.slots.get(n);
    if (slot && seq > slot.acked) slot.acked = seq;
    const w = this.waiting.get(seq);
    if (w?.pending.delete(n)) {
      if (record) w.records.push(record);
      this.settle(seq, w);
    }
    this.prune();
  }

  /**
   * A purge for every worker; `from`, the worker that made it and applied it already. Resolves when
   * every worker up has applied it, with the machine's count (the sum of the workers').
   */
  purge(request: PurgeRequest, from?: number): Promise<PurgeRecord> {
    const seq = ++this.seq;
    this.log.push({ seq, request });
    this.bound();
    const live = [...this.slots].filter(([, s]) => s.send !== undefined);
    // Admin purges go to the other nodes once, from the first worker up (a worker's own already went).
    const publisher = from === undefined ? live[0]?.[0] : undefined;
    for (const [n, slot] of live) slot.send!({ t: 'purge', seq, request, remote: n === publisher, own: n === from });
    return new Promise((done) => {
      const timer = setTimeout(() => {
        this.options.onTimeout(seq, [...(this.waiting.get(seq)?.pending ?? [])]);
        const w = this.waiting.get(seq);
        if (w) this.finish(seq, w);
      }, this.options.timeoutMs);
      timer.unref();
      const w: Waiting = { request, started: performance.now(), at: Date.now(), pending: new Set(live.map(([n]) => n).filter((n) => n !== from)), records: [], done, timer };
      this.waiting.set(seq, w);
      this.settle(seq, w);
    });
  }

  private settle(seq: number, w: Waiting): void {
    if (w.pending.size === 0) this.finish(seq, w);
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
    this.records.push(record);
    if (this.records.length > 200) this.records.splice(0, this.records.length - 200);
    w.done(record);
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
