// In-process counters, bumped once per request by the log step. Plain numbers keep the hot path
// free of metric-library calls; the admin API, the dashboard and the Prometheus exporter read
// them when asked. A timer samples the running totals every 10 s into an hour of history, so a
// hit pays nothing for the dashboard's chart.
import { LRUCache } from 'lru-cache';
import type { Outcome } from '../pipeline/context.js';
import { Histogram } from './histogram.js';
import { TaskRunner } from '../tasks/task-runner.js';

export interface Sample {
  /** Epoch ms at the end of the interval. */
  t: number;
  requests: number;
  hits: number;
  bytesServed: number;
  bytesFromOrigin: number;
}

const SAMPLE_MS = 10_000;
const HISTORY = 360; // one hour of 10 s samples

export class EdgeStats {
  readonly startedAt = Date.now();
  requests = 0;
  readonly outcomes: Record<Outcome, number> = { hit: 0, stale: 0, revalidated: 0, miss: 0, pass: 0, synth: 0, error: 0 };
  readonly statuses = new Map<number, number>();
  /** Body bytes sent to clients. */
  bytesServed = 0;
  /** Hits answered by the HTTP/1 fast lane (also counted in requests and hits). */
  laneHits = 0;
  /** Body bytes received from origins (for flights and passes). */
  bytesFromOrigin = 0;
  /** Requests sent to origin groups, and requests that joined another's flight instead. */
  originFetches = 0;
  collapsed = 0;
  stored = 0;
  readonly notStored = new Map<string, number>();
  readonly errors = new Map<string, number>();
  /** Time from the request to the end of the response, by outcome. */
  readonly durations = new Map<Outcome, Histogram>();
  /** Time from the request to the origin's response head (misses, passes, revalidations). */
  readonly originLatency = new Histogram();
  /** Requests refused by deny rules, by `site status`. */
  readonly denied = new Map<string, number>();
  /** Requests refused by rate limits, by `site client|host`. */
  readonly rateLimited = new Map<string, number>();
  /** Misses per URL (bounded in count and bytes: the least recently missed fall out; long URLs are cut). */
  private readonly misses = new LRUCache<string, number>({ max: 5000, maxSize: 2 * 1024 * 1024, sizeCalculation: (_n, url) => 64 + url.length });
  private readonly history: Sample[] = [];
  private stopSample: (() => void) | undefined;

  /** A request's duration (seconds), and the origin's time to answer when it was asked. */
  timing(outcome: Outcome, seconds: number, originSeconds: number | undefined): void {
    let h = this.durations.get(outcome);
    if (h === undefined) this.durations.set(outcome, (h = new Histogram()));
    h.observe(seconds);
    if (originSeconds !== undefined) this.originLatency.observe(originSeconds);
  }

  count(outcome: Outcome, status: number, bytes: number): void {
    this.requests++;
    this.outcomes[outcome]++;
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    this.bytesServed += bytes;
  }

  bump(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  /** Called for requests the cache could not answer (misses and revalidations). */
  missed(url: string): void {
    // A copy, not a slice: V8's substrings keep their whole parent string alive.
    if (url.length > 512) url = `${Buffer.from(url.slice(0, 512), 'latin1').toString('latin1')}…`;
    this.misses.set(url, (this.misses.get(url) ?? 0) + 1);
  }

  topMissed(n = 20): { url: string; misses: number }[] {
    const all: { url: string; misses: number }[] = [];
    for (const [url, misses] of this.misses.entries()) all.push({ url, misses });
    return all.sort((a, b) => b.misses - a.misses).slice(0, n);
  }

  /** Cache hits of every kind (fresh, stale served, revalidated) out of cacheable requests. */
  get hits(): number {
    return this.outcomes.hit + this.outcomes.stale + this.outcomes.revalidated;
  }

  /** The running totals now (the series is the difference between two of these). */
  snapshot(): Sample {
    return { t: Date.now(), requests: this.requests, hits: this.hits, bytesServed: this.bytesServed, bytesFromOrigin: this.bytesFromOrigin };
  }

  startSampling(scheduler: Pick<TaskRunner, 'every'> = new TaskRunner(), intervalMs = SAMPLE_MS): void {
    if (this.stopSample) return;
    this.history.push(this.snapshot());
    this.stopSample = scheduler.every('stats-sample', intervalMs, () => {
      this.history.push(this.snapshot());
      if (this.history.length > HISTORY + 1) this.history.shift();
    });
  }

  stopSampling(): void {
    this.stopSample?.();
    this.stopSample = undefined;
  }

  /** Per-interval figures for the last hour (each sample minus the one before). */
  series(): Sample[] {
    const points = [...this.history, this.snapshot()];
    const out: Sample[] = [];
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1]!;
      const b = points[i]!;
      out.push({ t: b.t, requests: b.requests - a.requests, hits: b.hits - a.hits, bytesServed: b.bytesServed - a.bytesServed, bytesFromOrigin: b.bytesFromOrigin - a.bytesFromOrigin });
    }
    return out;
  }
}
