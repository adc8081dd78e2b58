// In-process counters, bumped once per request by the log step. Plain numbers keep the hot path
// free of metric-library calls; the admin API and Prometheus exporter read them when asked.
import type { Outcome } from '../pipeline/context.js';

export class EdgeStats {
  readonly startedAt = Date.now();
  requests = 0;
  readonly outcomes: Record<Outcome, number> = { hit: 0, stale: 0, revalidated: 0, miss: 0, pass: 0, synth: 0, error: 0 };
  readonly statuses = new Map<number, number>();
  /** Body bytes sent to clients. */
  bytesServed = 0;
  /** Body bytes received from origins (for flights and passes). */
  bytesFromOrigin = 0;
  /** Requests sent to origin groups, and requests that joined another's flight instead. */
  originFetches = 0;
  collapsed = 0;
  stored = 0;
  readonly notStored = new Map<string, number>();
  readonly errors = new Map<string, number>();

  count(outcome: Outcome, status: number, bytes: number): void {
    this.requests++;
    this.outcomes[outcome]++;
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    this.bytesServed += bytes;
  }

  bump(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }
}
