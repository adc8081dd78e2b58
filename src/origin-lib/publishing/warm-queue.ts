// Warming through the edges, shared by every publish job of a worker: coalesced (a URL queued for an
// edge while an earlier request for it has not been sent yet joins that request, so the same URL is
// warmed once) and rate-limited per edge (a token bucket of URLs per second, sent in batches). A URL
// queued after its earlier warm was sent is warmed again: a purge may have come in between, and the
// edge refuses to store a fetch that began before a purge covering it (EdgeCache's gate), so only a
// warm sent after the purge can leave the page warm.
import { warmOn, type EdgeTarget, type WarmOutcome } from './edge-admin.js';

export interface WarmQueueOptions {
  /** URLs sent to each edge per second at most (default 20). */
  ratePerSecond?: number;
  /** URLs per POST /warm at most, and the bucket's burst (default 16). */
  batchSize?: number;
  /** Batches in flight per edge (default 2). */
  inFlight?: number;
  /** URLs the edge fetches at once within a batch (it caps this at its admin.warmConcurrency). */
  concurrency?: number;
  /** The call that warms (tests); POST /warm on the edge by default. */
  send?: (edge: EdgeTarget, urls: string[], concurrency: number) => Promise<WarmOutcome[]>;
  /** Time and timers (tests). */
  clock?: { now(): number; setTimeout(fn: () => void, ms: number): unknown };
}

interface Waiting {
  promise: Promise<WarmOutcome>;
  resolve(outcome: WarmOutcome): void;
  reject(err: unknown): void;
}

interface EdgeLine {
  edge: EdgeTarget;
  pending: Map<string, Waiting>;
  tokens: number;
  refilledAt: number;
  inFlight: number;
  timer: boolean;
}

export class WarmQueue {
  private readonly lines = new Map<string, EdgeLine>();
  private readonly rate: number;
  private readonly batch: number;
  private readonly maxInFlight: number;
  private readonly send: NonNullable<WarmQueueOptions['send']>;
  private readonly clock: NonNullable<WarmQueueOptions['clock']>;
  /** URLs sent, and URLs that joined a request already queued (for stats and tests). */
  readonly counts = { sent: 0, coalesced: 0 };

  constructor(private readonly options: WarmQueueOptions = {}) {
    this.rate = options.ratePerSecond ?? 20;
    this.batch = options.batchSize ?? 16;
    this.maxInFlight = options.inFlight ?? 2;
    this.send = options.send ?? warmOn;
    this.clock = options.clock ?? { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms).unref() };
  }

  /** Warms `urls` through one edge; resolves with each URL's outcome, in order. */
  warm(edge: EdgeTarget, urls: string[]): Promise<WarmOutcome[]> {
    const line = this.line(edge);
    const waits = urls.map((url) => {
      const queued = line.pending.get(url);
      if (queued) {
        this.counts.coalesced++;
        return queued.promise;
      }
      let resolve!: Waiting['resolve'];
      let reject!: Waiting['reject'];
      const promise = new Promise<WarmOutcome>((res, rej) => ((resolve = res), (reject = rej)));
      line.pending.set(url, { promise, resolve, reject });
      return promise;
    });
    this.pump(line);
    return Promise.all(waits);
  }

  private line(edge: EdgeTarget): EdgeLine {
    let line = this.lines.get(edge.admin);
    if (!line) this.lines.set(edge.admin, (line = { edge, pending: new Map(), tokens: this.batch, refilledAt: this.clock.now(), inFlight: 0, timer: false }));
    return line;
  }

  private pump(line: EdgeLine): void {
    while (line.pending.size > 0 && line.inFlight < this.maxInFlight) {
      const now = this.clock.now();
      line.tokens = Math.min(this.batch, line.tokens + ((now - line.refilledAt) / 1000) * this.rate);
      line.refilledAt = now;
      const n = Math.min(line.pending.size, this.batch, Math.floor(line.tokens));
      if (n < 1) {
        if (!line.timer) {
          line.timer = true;
          this.clock.setTimeout(() => {
            line.timer = false;
            this.pump(line);
          }, Math.ceil(((1 - line.tokens) / this.rate) * 1000));
        }
        return;
      }
      const taken = [...line.pending].slice(0, n);
      for (const [url] of taken) line.pending.delete(url);
      line.tokens -= n;
      line.inFlight++;
      this.counts.sent += n;
      this.send(line.edge, taken.map(([url]) => url), this.options.concurrency ?? 4)
        .then(
          (outcomes) => taken.forEach(([url, w], i) => w.resolve(outcomes[i] ?? { url, result: 'error', error: 'the edge gave no result for it' })),
          (err) => taken.forEach(([, w]) => w.reject(err)),
        )
        .finally(() => {
          line.inFlight--;
          this.pump(line);
        });
    }
  }
}
