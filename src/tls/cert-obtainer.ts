// Gets a usable certificate for a host into the CertStore: the stored one when it will do, or one
// ACME order placed under the store's issuance lock. One obtain per host runs at a time in this
// process (concurrent callers share it); across nodes the lock does the same, and a node that
// finds the lock taken waits for the holder's certificate to appear in the store instead of
// ordering its own. The lock always expires (lockTtlMs > the issuer's order timeout), so a
// crashed holder delays the next order, never blocks it.
import { certId, coversHost, renewalTime } from './certificate.js';
import type { CertStore, StoredCert } from './cert-store.js';
import type { AcmeIssuer } from './acme-issuer.js';
import { clock } from '../clock.js';

/** Why a certificate is wanted, which decides whether a stored one will do. */
export type Need = 'missing' | 'renewal' | 'forced';

export interface CertObtainerOptions {
  store: CertStore;
  issuer?: AcmeIssuer;
  /** Expiry of the issuance lock (default: the issuer's order timeout + 2 min); must exceed it. */
  lockTtlMs?: number;
  /** How often a node waiting on another node's issuance looks at the store (default 250 ms). */
  pollMs?: number;
  /** Called once per obtain that ran (joiners share it): whether this node ordered, and any error. */
  onOutcome?: (outcome: ObtainOutcome) => void;
  /** A new certificate could not be stored: it is still returned (and served), but not kept. */
  onStoreError?: (host: string, error: unknown) => void;
}

export interface ObtainOutcome {
  host: string;
  need: Need;
  /** True when this node placed the order that produced the certificate. */
  ordered: boolean;
  ms: number;
  error?: unknown;
}

export class CertObtainer {
  private readonly running = new Map<string, Promise<StoredCert>>();
  private readonly lockTtl: number;
  private readonly pollMs: number;

  constructor(private readonly options: CertObtainerOptions) {
    const orderTimeout = options.issuer?.orderTimeoutMs ?? 0;
    this.lockTtl = options.lockTtlMs ?? orderTimeout + 2 * 60_000;
    // A lock that could expire while its order still runs would let a second node order too.
    if (this.lockTtl <= orderTimeout) throw new Error(`lockTtlMs (${this.lockTtl}) must exceed the ACME order timeout (${orderTimeout})`);
    this.pollMs = options.pollMs ?? 250;
  }

  get store(): CertStore {
    return this.options.store;
  }

  get canIssue(): boolean {
    return this.options.issuer !== undefined;
  }

  /** True when `cert` satisfies `need` for `host` now (a forced obtain is never satisfied). */
  static satisfies(cert: StoredCert | undefined, host: string, need: Need, now = clock.now()): cert is StoredCert {
    if (!cert || need === 'forced' || !coversHost(cert, host, now)) return false;
    return need === 'missing' || now < renewalTime(cert);
  }

  /**
   * A certificate for `host` that satisfies `need`, from the store or a new order (then stored).
   * Joins an obtain already running for `host` in this process. Rejects when the store fails,
   * the issuer refuses (AcmeLimitError) or the order fails.
   */
  obtain(host: string, need: Need): Promise<StoredCert> {
    const running = this.running.get(host);
    if (running) return running;
    const started = Date.now();
    const ordered = { value: false };
    const p = this.run(host, need, ordered)
      .then(
        (cert) => {
          this.options.onOutcome?.({ host, need, ordered: ordered.value, ms: Date.now() - started });
          return cert;
        },
        (error: unknown) => {
          this.options.onOutcome?.({ host, need, ordered: ordered.value, ms: Date.now() - started, error });
          throw error;
        },
      )
      .finally(() => this.running.delete(host));
    this.running.set(host, p);
    return p;
  }

  /** Hosts with an obtain in progress on this node. */
  get pending(): number {
    return this.running.size;
  }

  private async run(host: string, need: Need, ordered: { value: boolean }): Promise<StoredCert> {
    const { store, issuer } = this.options;
    const deadline = Date.now() + this.lockTtl;
    const initial = await store.getCert(host);
    // A forced obtain is satisfied only by a certificate newer than the one it started from
    // (another node's order finishing while we waited for its lock counts).
    const good = (c: StoredCert | undefined): c is StoredCert =>
      need === 'forced' ? c !== undefined && coversHost(c, host) && (initial === undefined || certId(c) !== certId(initial)) : CertObtainer.satisfies(c, host, need);
    let current = initial;
    for (;;) {
      if (good(current)) return current;
      if (!issuer) throw new Error(`no usable certificate for ${host} in the store, and no ACME issuer configured`);
      // A name in backoff (or a spent budget) is refused here, before it costs a lock round trip.
      issuer.assertMayOrder(host);
      const release = await store.lock(`issue:${host}`, this.lockTtl);
      if (release) {
        try {
          // Another node may have finished between our read and our lock.
          current = await store.getCert(host);
          if (good(current)) return current;
          ordered.value = true;
          const cert = await issuer.issue(host);
          try {
            await store.putCert(host, cert);
          } catch (err) {
            this.options.onStoreError?.(host, err);
          }
          return cert;
        } finally {
          await release().catch(() => undefined);
        }
      }
      if (Date.now() >= deadline) throw new Error(`the issuance lock for ${host} stayed taken for ${this.lockTtl} ms`);
      await new Promise((r) => setTimeout(r, this.pollMs));
      current = await store.getCert(host);
    }
  }
}
