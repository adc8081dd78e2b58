// What the certificate side reports: counters for the admin API and metrics, and events for the
// log, in one vocabulary. An obtain is counted once however many handshakes waited for it, and
// only the node that placed an order counts it as issued or renewed.
import { AcmeLimitError } from './acme-limits.js';
import type { ObtainOutcome } from './cert-obtainer.js';

export interface CertEvent {
  type: 'issued' | 'renewed' | 'failed' | 'renewal-failed' | 'refused' | 'timeout' | 'store-error' | 'expired';
  host: string;
  ms?: number;
  error?: unknown;
}

export interface CertCounters {
  issued: number;
  renewed: number;
  failures: number;
  renewalFailures: number;
  /** Handshakes for names the policy refused (or that could not be certified at all). */
  denied: number;
  /** Handshakes answered from memory; memory misses answered from the store. */
  cacheHits: number;
  storeHits: number;
  /** Handshakes that stopped waiting for a first certificate and got the default one. */
  timeouts: number;
  /** Orders a limit refused (the CA was not asked). */
  refused: number;
  /** Handshakes answered by a static certificate (`tls.certificates`). */
  staticHits: number;
}

export class CertStats {
  readonly counts: CertCounters = { issued: 0, renewed: 0, failures: 0, renewalFailures: 0, denied: 0, cacheHits: 0, storeHits: 0, timeouts: 0, refused: 0, staticHits: 0 };

  constructor(private readonly onEvent?: (event: CertEvent) => void) {}

  emit(event: CertEvent): void {
    try {
      this.onEvent?.(event);
    } catch {
      // a failing logger must not fail a handshake
    }
  }

  /** Counts and reports one finished obtain (CertObtainer's onOutcome). */
  readonly outcome = (o: ObtainOutcome): void => {
    const first = o.need === 'missing';
    if (o.error === undefined) {
      if (!o.ordered) return;
      if (first) this.counts.issued++;
      else this.counts.renewed++;
      this.emit({ type: first ? 'issued' : 'renewed', host: o.host, ms: o.ms });
    } else if (o.error instanceof AcmeLimitError) {
      this.counts.refused++;
      this.emit({ type: 'refused', host: o.host, ms: o.ms, error: o.error });
    } else {
      if (first) this.counts.failures++;
      else this.counts.renewalFailures++;
      this.emit({ type: first ? 'failed' : 'renewal-failed', host: o.host, ms: o.ms, error: o.error });
    }
  };
}
