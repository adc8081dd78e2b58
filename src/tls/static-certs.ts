// Certificates from files for host patterns (`tls.certificates`): the platform's wildcard for
// `*.blot.im` and `blot.im`, renewed by something else. A name a pattern covers is answered from
// here and never reaches the domain list or ACME, so made-up handles and preview hosts cannot spend
// the account's orders. The files' folders are watched (a rename into place and a symlink swap are
// both seen) and the pairs re-read when something there changes; a pair that does not parse, does not
// match its key or does not cover its patterns is refused, and the one in service stays.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { certDetails, certId, coversHost, parseCertificate } from './certificate.js';
import type { StoredCert } from './cert-store.js';
import { certifiableHost } from './host-policy.js';

export interface StaticCertConfig {
  /** Exact names and `*.example.com` one-label wildcards. */
  hosts: string[];
  cert: string;
  key: string;
}

export type StaticCertEvent =
  | { type: 'loaded' | 'replaced'; hosts: string[]; file: string; id: string; notAfter: number }
  | { type: 'refused'; hosts: string[]; file: string; error: string };

export interface StaticCertOptions {
  tlsOptions?: SecureContextOptions;
  /** How long to wait after a change before reading (a renewal writes two files). Default 200 ms. */
  settleMs?: number;
  onEvent?: (event: StaticCertEvent) => void;
}

interface Entry {
  config: StaticCertConfig;
  exact: Set<string>;
  parents: Set<string>;
  cert?: StoredCert;
  context?: SecureContext;
}

export class StaticCertificates {
  /** Pairs read and put in service, replaced by a change, and refused (the old one stayed). */
  readonly counts = { loaded: 0, replaced: 0, refused: 0 };
  private readonly entries: Entry[];
  private readonly watchers: FSWatcher[] = [];
  private readonly defaultListeners: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> = Promise.resolve();

  constructor(
    configs: readonly StaticCertConfig[],
    private readonly options: StaticCertOptions = {},
  ) {
    this.entries = configs.map((config) => {
      const exact = new Set<string>();
      const parents = new Set<string>();
      for (const raw of config.hosts) {
        const wildcard = raw.startsWith('*.');
        const host = certifiableHost(wildcard ? raw.slice(2) : raw);
        if (!host) throw new Error(`tls.certificates: not a name a certificate can cover: ${JSON.stringify(raw)}`);
        (wildcard ? parents : exact).add(host);
      }
      return { config: { ...config, cert: resolve(config.cert), key: resolve(config.key) }, exact, parents };
    });
  }

  get size(): number {
    return this.entries.length;
  }

  /** Reads every pair; throws on the first that cannot be served (a start must not go on without it). */
  async load(): Promise<void> {
    for (const entry of this.entries) {
      const cert = await this.read(entry);
      this.install(entry, cert, 'loaded');
    }
  }

  /** Reads every pair again; a changed, usable pair replaces the one in service. Never throws. */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(async () => {
      for (const entry of this.entries) {
        try {
          const cert = await this.read(entry);
          if (entry.cert && certId(entry.cert) === certId(cert) && entry.cert.keyPem === cert.keyPem) continue;
          this.install(entry, cert, 'replaced');
        } catch (err) {
          this.counts.refused++;
          this.options.onEvent?.({ type: 'refused', hosts: entry.config.hosts, file: entry.config.cert, error: (err as Error).message });
        }
      }
    });
    return this.reloading;
  }

  /** Watches the files' folders; a change is read once things settle. */
  watch(): void {
    const folders = new Map<string, Set<string>>();
    for (const { config } of this.entries) {
      for (const file of [config.cert, config.key]) {
        const names = folders.get(dirname(file)) ?? new Set<string>();
        names.add(basename(file));
        folders.set(dirname(file), names);
      }
    }
    for (const folder of folders.keys()) {
      try {
        const watcher = watch(folder, { persistent: false }, () => this.changed());
        watcher.on('error', () => undefined); // a folder removed: the pair in service stays
        this.watchers.push(watcher);
      } catch {
        // a folder that cannot be watched: `reload()` (SIGHUP) still reads it
      }
    }
  }

  private changed(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), this.options.settleMs ?? 200);
    this.timer.unref();
  }

  private async read(entry: Entry): Promise<StoredCert> {
    const { cert: certFile, key: keyFile } = entry.config;
    const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot read ${err.path ?? certFile}: ${err.code ?? err.message}`);
    });
    const cert = parseCertificate(certPem, keyPem, 'file');
    const names = [...entry.exact, ...[...entry.parents].map((p) => `*.${p}`)];
    // A wildcard pattern must be covered by the certificate's own wildcard (checked with a sample name).
    const missing = names.filter((n) => !coversHost(cert, n.startsWith('*.') ? `blotcdn-check.${n.slice(2)}` : n, cert.notBefore));
    if (missing.length > 0) throw new Error(`${certFile} does not cover ${missing.join(', ')} (it names ${certDetails(cert).names.join(', ') || 'nothing'})`);
    return cert;
  }

  private install(entry: Entry, cert: StoredCert, type: 'loaded' | 'replaced'): void {
    this.counts[type]++;
    entry.cert = cert;
    entry.context = createSecureContext({ minVersion: 'TLSv1.2', ...this.options.tlsOptions, cert: cert.certPem, key: cert.keyPem });
    this.options.onEvent?.({ type, hosts: entry.config.hosts, file: entry.config.cert, id: certId(cert), notAfter: cert.notAfter });
    if (entry === this.entries[0] && type === 'replaced') for (const listener of this.defaultListeners) listener();
  }

  /**
   * Whether a pattern covers `host` (normalised, certifiable) and, if so, the context to serve —
   * undefined when its certificate has expired: the default certificate then, but still no order.
   */
  covering(host: string, now = Date.now()): { covered: true; context: SecureContext | undefined } | { covered: false } {
    const dot = host.indexOf('.');
    const parent = dot > 0 ? host.slice(dot + 1) : undefined;
    for (const entry of this.entries) {
      if (!entry.exact.has(host) && !(parent !== undefined && entry.parents.has(parent))) continue;
      const valid = entry.cert !== undefined && now >= entry.cert.notBefore && now < entry.cert.notAfter;
      return { covered: true, context: valid ? entry.context : undefined };
    }
    return { covered: false };
  }

  /** The first pair: the default certificate (no SNI, names nobody serves) when none is configured. */
  get first(): StoredCert | undefined {
    return this.entries[0]?.cert;
  }

  /** Called when the first pair is replaced (listeners holding it as their default re-read it). */
  onFirstReplaced(listener: () => void): void {
    this.defaultListeners.push(listener);
  }

  list(): { hosts: string[]; file: string; cert: StoredCert }[] {
    return this.entries.filter((e) => e.cert !== undefined).map((e) => ({ hosts: e.config.hosts, file: e.config.cert, cert: e.cert! }));
  }

  close(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers.splice(0)) w.close();
  }
}
