// Background renewal of the certificates a CertManager holds in memory: each is renewed when a
// third of its lifetime is left (less a random jitter, so nodes and certificates sharing an issue
// time do not all order at once), on a timer and not only when a handshake notices. A failed
// renewal is retried with doubling delays while the old certificate keeps being served — until
// it expires, when it is dropped; the next handshake then has to obtain a new one.
import { TaskRunner } from '../tasks/task-runner.js';
import { AcmeLimitError } from './acme-limits.js';
import { renewalTime } from './certificate.js';
import type { StoredCert } from './cert-store.js';
import type { Need } from './cert-obtainer.js';
import type { HostPolicy } from './host-policy.js';
import { clock } from '../clock.js';

export interface RenewerOptions {
  /** How often held certificates are checked (default 10 min; make it small for short-lived certs). */
  renewCheckIntervalMs?: number;
  /** Where the periodic check runs (the edge's task runner; a private one otherwise). */
  scheduler?: Pick<TaskRunner, 'every'>;
  /** Largest random advance of a renewal (default lifetime/20, at most 12 h). */
  renewJitterMs?: number;
  /** First retry delay after a failed renewal (default lifetime/200 within 1 s…10 min), doubled per failure up to 6 h. */
  renewRetryMs?: number;
}

/** What the renewer needs from its CertManager. */
export interface RenewalHost {
  readonly policy: HostPolicy;
  obtain(host: string, need: Need): Promise<StoredCert>;
  isCached(host: string): boolean;
  forget(host: string): void;
}

interface Plan {
  notBefore: number;
  notAfter: number;
  renewAt: number;
  failures: number;
}

const MAX_RETRY_MS = 6 * 3_600_000;

export class CertRenewer {
  private readonly plans = new Map<string, Plan>();
  private readonly running = new Set<string>();
  private cancel: (() => void) | undefined;

  constructor(
    private readonly host: RenewalHost,
    private readonly options: RenewerOptions = {},
  ) {}

  start(): void {
    if (this.cancel) return;
    const scheduler = this.options.scheduler ?? new TaskRunner();
    this.cancel = scheduler.every('cert-renewal-check', this.options.renewCheckIntervalMs ?? 10 * 60_000, () => this.tick());
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  /** Plans the renewal of `cert` (called whenever a certificate enters memory). */
  schedule(host: string, cert: StoredCert): void {
    const lifetime = cert.notAfter - cert.notBefore;
    const jitter = Math.random() * (this.options.renewJitterMs ?? Math.min(lifetime / 20, 12 * 3_600_000));
    this.plans.set(host, { notBefore: cert.notBefore, notAfter: cert.notAfter, renewAt: renewalTime(cert, jitter), failures: 0 });
  }

  unschedule(host: string): void {
    this.plans.delete(host);
  }

  /** Called on every handshake served from memory: starts a due renewal without waiting for the timer. */
  touch(host: string, cert: StoredCert, now: number): void {
    const plan = this.plans.get(host);
    if (!plan || plan.notAfter !== cert.notAfter) this.schedule(host, cert);
    else if (now >= plan.renewAt) this.renew(host);
  }

  /** Runs the due renewals now (the timer calls this). */
  tick(now = clock.now()): void {
    for (const [host, plan] of this.plans) {
      if (!this.host.isCached(host)) this.plans.delete(host);
      else if (now >= plan.notAfter) this.host.forget(host); // expired: never served again
      else if (now >= plan.renewAt) this.renew(host);
    }
  }

  /** Renewals in progress. */
  get active(): number {
    return this.running.size;
  }

  private renew(host: string): void {
    if (this.running.has(host)) return;
    this.running.add(host);
    void this.renewOnce(host).finally(() => this.running.delete(host));
  }

  private async renewOnce(host: string): Promise<void> {
    const plan = this.plans.get(host);
    if (!plan) return;
    if (!(await this.host.policy.allows(host))) {
      // Off the list now: no new order; drop it so handshakes stop getting it.
      this.host.forget(host);
      return;
    }
    try {
      await this.host.obtain(host, 'renewal'); // a success re-plans through schedule()
    } catch (err) {
      const now = clock.now();
      const current = this.plans.get(host);
      if (current !== plan) return; // replaced meanwhile
      plan.failures++;
      const lifetime = plan.notAfter - plan.notBefore;
      const base = this.options.renewRetryMs ?? Math.min(10 * 60_000, Math.max(1_000, lifetime / 200));
      let delay = Math.min(MAX_RETRY_MS, base * 2 ** (plan.failures - 1));
      if (err instanceof AcmeLimitError) delay = Math.max(delay, err.retryAfterMs);
      plan.renewAt = now + delay;
    }
  }
}
