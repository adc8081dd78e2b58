// Latency histograms kept by the request path itself: a fixed set of buckets in a typed array, one
// increment per observation — no metric library on the hot path. The Prometheus exporter reads
// them at scrape time (see metrics.ts), in seconds, as every Prometheus latency metric is.

/** Upper bounds in seconds, Prometheus's default buckets plus two finer ones for cache hits. */
export const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export class Histogram {
  /** Observations at or below each bound (not cumulative), and above the last one at the end. */
  readonly counts = new Float64Array(BUCKETS.length + 1);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }

  /** Cumulative counts per bound, as Prometheus's `le` buckets want them (`+Inf` last). */
  cumulative(): { le: string; count: number }[] {
    const out: { le: string; count: number }[] = [];
    let running = 0;
    for (let i = 0; i < BUCKETS.length; i++) {
      running += this.counts[i]!;
      out.push({ le: String(BUCKETS[i]), count: running });
    }
    out.push({ le: '+Inf', count: this.count });
    return out;
  }
}
