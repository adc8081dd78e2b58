// The TLS SNI callback: memory → CertStore → ACME order, gated by HostPolicy (CertMagic's
// handshake.go is the model). A handshake for a new allowed name waits for the one order for that
// name, up to a bound, and otherwise gets the default certificate — as do denied names and
// handshakes without SNI — so a client sees a certificate error, never a hang. A certificate is
// served only while valid; renewal happens in the background (CertRenewer) with the old
// certificate served until it is replaced or expires. ACME challenges: ChallengeResponder.
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { LRUCache } from 'lru-cache';
import type { AcmeIssuer } from './acme-issuer.js';
import { CertObtainer, type Need } from './cert-obtainer.js';
import { CertStats, type CertCounters, type CertEvent } from './cert-stats.js';
import { CertRenewer, type RenewalHost, type RenewerOptions } from './cert-renewer.js';
import type { CertStore, StoredCert } from './cert-store.js';
import { certDetails, coversHost, renewalTime } from './certificate.js';
import { ChallengeResponder, type SniCallback } from './challenge-responder.js';
import { certifiableHost, type HostPolicy } from './host-policy.js';
import { selfSignedCertificate } from './self-signed.js';
import type { StaticCertificates } from './static-certs.js';
import { clock } from '../clock.js';

export type { CertCounters, CertEvent, SniCallback };

export interface CertManagerOptions extends RenewerOptions {
  store: CertStore;
  policy: HostPolicy;
  /** Without an issuer only stored certificates are served. */
  issuer?: AcmeIssuer;
  /** Served without SNI and for names without a certificate; else the first static one, else self-signed. */
  defaultCert?: { certPem: string; keyPem: string };
  /** Certificates from files for host patterns: names they cover are answered first, never ordered. */
  statics?: StaticCertificates;
  /** How long a handshake waits for a first certificate before getting the default (default 10 s). */
  handshakeWaitMs?: number;
  /** Certificates kept in memory (default 10,000); the least recently used leave first. */
  maxCached?: number;
  /** Issuance lock expiry (default: the issuer's order timeout + 2 min). */
  lockTtlMs?: number;
  /** Applied to every certificate's context (ciphers, curves…); minVersion defaults to TLSv1.2. */
  tlsOptions?: SecureContextOptions;
  onEvent?: (event: CertEvent) => void;
}

export interface CertListing {
  host: string;
  names: string[];
  issuer: string;
  source: string;
  notBefore: Date;
  notAfter: Date;
  renewAt: Date;
  inMemory: boolean;
}

interface CachedCert {
  cert: StoredCert;
  context: SecureContext;
}

export class CertManager implements RenewalHost {
  readonly store: CertStore;
  readonly policy: HostPolicy;
  readonly obtainer: CertObtainer;
  readonly challenges: ChallengeResponder;
  private readonly memory: LRUCache<string, CachedCert>;
  private readonly renewer: CertRenewer;
  private readonly waitMs: number;
  private readonly report: CertStats;
  private fallback: { certPem: string; keyPem: string; context: SecureContext } | undefined;
  private readonly defaultListeners: (() => void)[] = [];

  constructor(private readonly options: CertManagerOptions) {
    this.store = options.store;
    this.policy = options.policy;
    this.waitMs = options.handshakeWaitMs ?? 10_000;
    this.memory = new LRUCache({ max: options.maxCached ?? 10_000 });
    this.report = new CertStats(options.onEvent);
    this.obtainer = new CertObtainer({
      store: options.store,
      issuer: options.issuer,
      lockTtlMs: options.lockTtlMs,
      onOutcome: this.report.outcome,
      onStoreError: (host, error) => this.report.emit({ type: 'store-error', host, error }),
    });
    this.renewer = new CertRenewer(this, options);
    this.challenges = new ChallengeResponder(options.store, options.policy);
  }

  /** Prepares the default certificate and starts background renewal. */
  async start(): Promise<void> {
    const statics = this.options.statics;
    if (statics) {
      await statics.load();
      statics.watch();
    }
    const pair = this.options.defaultCert ?? statics?.first ?? (await selfSignedCertificate());
    this.fallback = { ...pair, context: this.context(pair) };
    if (!this.options.defaultCert && statics?.first) {
      // The static pair is the default: follow its renewals (listeners re-read defaultCertificate).
      statics.onFirstReplaced(() => {
        const next = statics.first!;
        this.fallback = { certPem: next.certPem, keyPem: next.keyPem, context: this.context(next) };
        for (const listener of this.defaultListeners) listener();
      });
    }
    this.renewer.start();
  }

  /** Called when the default certificate is replaced (an HTTPS listener sets it on its server again). */
  onDefaultCertificateChange(listener: () => void): void {
    this.defaultListeners.push(listener);
  }

  async stop(): Promise<void> {
    this.renewer.stop();
    this.options.statics?.close();
  }

  /** The default certificate (for the TLS server's own options); start() must have run. */
  get defaultCertificate(): { certPem: string; keyPem: string } {
    if (!this.fallback) throw new Error('CertManager.start() has not run');
    return this.fallback;
  }

  /** For `tls.createServer({ SNICallback })`: the host's certificate, or the default one. */
  readonly sniCallback: SniCallback = (servername, cb) => {
    this.contextFor(servername).then(
      (ctx) => cb(null, ctx ?? this.fallback?.context),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  };

  /**
   * The SecureContext for a handshake naming `servername`, or undefined for the default one:
   * invalid or denied names, a store that fails, an order that fails or outlasts the wait.
   */
  async contextFor(servername: string): Promise<SecureContext | undefined> {
    const host = certifiableHost(servername);
    if (host && this.options.statics) {
      // A name a static certificate covers is never looked up or ordered, expired pair or not.
      const found = this.options.statics.covering(host);
      if (found.covered) {
        this.report.counts.staticHits++;
        return found.context;
      }
    }
    if (!host || !(await this.policy.allows(host))) {
      this.report.counts.denied++;
      return undefined;
    }
    const now = clock.now();
    const cached = this.memory.get(host);
    if (cached) {
      if (now < cached.cert.notAfter) {
        this.report.counts.cacheHits++;
        this.renewer.touch(host, cached.cert, now);
        return cached.context;
      }
      this.memory.delete(host); // expired: never served, whatever renewal is doing
      this.report.emit({ type: 'expired', host });
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, this.waitMs, 'timeout')));
    const loaded = this.load(host);
    const result = await Promise.race([loaded, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.report.counts.timeouts++;
      this.report.emit({ type: 'timeout', host, ms: this.waitMs });
      return undefined;
    }
    return result?.context;
  }

  /** Store, then ACME (one load per host at a time); never rejects. */
  private readonly loading = new Map<string, Promise<CachedCert | undefined>>();
  private load(host: string): Promise<CachedCert | undefined> {
    let p = this.loading.get(host);
    if (!p) {
      p = this.loadOnce(host).finally(() => this.loading.delete(host));
      this.loading.set(host, p);
    }
    return p;
  }

  private async loadOnce(host: string): Promise<CachedCert | undefined> {
    let stored: StoredCert | undefined;
    try {
      stored = await this.store.getCert(host);
    } catch (err) {
      // Without the store an order could not be kept; better no certificate than a wasted order.
      this.report.emit({ type: 'store-error', host, error: err });
      return undefined;
    }
    if (stored && coversHost(stored, host)) {
      this.report.counts.storeHits++;
      return this.remember(host, stored);
    }
    if (!this.obtainer.canIssue) return undefined;
    try {
      return this.remember(host, await this.obtainer.obtain(host, 'missing'));
    } catch {
      return undefined; // counted and reported by onOutcome
    }
  }

  /**
   * A certificate for `host` meeting `need`, from the store or a new order, kept in memory; for
   * renewal and the CLI. Rejects on failure (AcmeLimitError when a limit refused the order).
   */
  async obtain(host: string, need: Need): Promise<StoredCert> {
    if (this.options.statics?.covering(host).covered) throw new Error(`${host} is covered by a static certificate (tls.certificates): it is never ordered`);
    const cert = await this.obtainer.obtain(host, need);
    this.remember(host, cert);
    return cert;
  }

  private remember(host: string, cert: StoredCert): CachedCert {
    const current = this.memory.get(host);
    // Never replace a certificate with one that expires sooner (a stale store read racing a renewal).
    if (current && current.cert.notAfter > cert.notAfter && clock.now() < current.cert.notAfter) return current;
    const entry = { cert, context: this.context(cert) };
    this.memory.set(host, entry);
    this.renewer.schedule(host, cert);
    return entry;
  }

  private context(pair: { certPem: string; keyPem: string }): SecureContext {
    return createSecureContext({ minVersion: 'TLSv1.2', ...this.options.tlsOptions, cert: pair.certPem, key: pair.keyPem });
  }

  isCached(host: string): boolean {
    return this.memory.has(host);
  }

  /** Drops a host from memory (e.g. the policy no longer allows it). */
  forget(host: string): void {
    this.memory.delete(host);
    this.renewer.unschedule(host);
  }

  /** HTTP-01: the key authorization for `path` on `host`, or undefined (see ChallengeResponder). */
  answerHttp01(host: string, path: string): Promise<string | undefined> {
    return this.challenges.answerHttp01(host, path);
  }

  /** SNICallback for TLS-ALPN-01 validation connections (HttpsListener routes them here). */
  get alpnChallengeCallback(): SniCallback {
    return this.challenges.alpnSniCallback;
  }

  stats(): CertCounters & { cached: number; pending: number; statics?: StaticCertificates['counts'] } {
    return { ...this.report.counts, cached: this.memory.size, pending: this.obtainer.pending, statics: this.options.statics && { ...this.options.statics.counts } };
  }

  /** Every certificate from files, in the store and in memory, with its dates. */
  async list(): Promise<CertListing[]> {
    const hosts = new Set([...(await this.store.listCerts()), ...this.memory.keys()]);
    const out: CertListing[] = [];
    for (const s of this.options.statics?.list() ?? []) {
      const d = certDetails(s.cert);
      out.push({ host: s.hosts.join(' '), names: d.names, issuer: d.issuer, source: `file ${s.file}`, notBefore: d.notBefore, notAfter: d.notAfter, renewAt: d.notAfter, inMemory: true });
    }
    for (const host of [...hosts].sort()) {
      const inMemory = this.memory.peek(host)?.cert;
      const cert = inMemory ?? (await this.store.getCert(host).catch(() => undefined));
      if (!cert) continue;
      const d = certDetails(cert);
      out.push({ host, names: d.names, issuer: d.issuer, source: cert.source, notBefore: d.notBefore, notAfter: d.notAfter, renewAt: new Date(renewalTime(cert)), inMemory: inMemory !== undefined });
    }
    return out;
  }
}
