// Which hosts the edge may hold certificates for: static names and one-label wildcards from the
// config (`*.blot.im` allows `a.blot.im`, not `a.b.blot.im` — SiteTable's rule), then the platform's
// domain lists (DomainSource) in order. This is the gate in front of every ACME order: a name that
// is malformed, an IP literal, localhost-like or simply not on a list gets no certificate.
import { isIP } from 'node:net';
import { normaliseHost } from '../sites/host.js';
import type { DomainSource } from '../sites/domain-source.js';

export interface HostPolicyOptions {
  /** Exact names and `*.example.com` wildcards. `*` alone is refused: on-demand TLS needs a list. */
  names?: string[];
  /** Asked in order after the static names; the first "yes" wins. */
  sources?: DomainSource[];
  /** Called when a source throws (the host is then not allowed by that source). */
  onError?: (err: unknown, host: string, source: string) => void;
}

export type HostVerdict = 'allowed' | 'invalid' | 'not-listed';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// Names no public CA certifies and no reader should reach through a CDN.
const LOCAL_SUFFIXES = ['localhost', 'localdomain', 'local', 'invalid', 'arpa'];

/**
 * The normalised host if it is a name a public CA could certify (LDH labels, at least two of them,
 * a non-numeric last label, not localhost-like, not an IP literal); undefined otherwise.
 */
export function certifiableHost(raw: string | undefined): string | undefined {
  const host = normaliseHost(raw);
  if (host === undefined || host.length > 253 || host.startsWith('[') || isIP(host) !== 0) return undefined;
  const labels = host.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return undefined;
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return undefined;
  if (LOCAL_SUFFIXES.some((s) => host === s || host.endsWith(`.${s}`))) return undefined;
  return host;
}

export class HostPolicy {
  private exact = new Set<string>();
  private wildcardParents = new Set<string>();
  readonly sources: readonly DomainSource[];

  constructor(private readonly options: HostPolicyOptions = {}) {
    this.setNames(options.names ?? []);
    this.sources = options.sources ?? [];
  }

  /** Replaces the static names (a config reload); the domain sources stay. */
  setNames(names: readonly string[]): void {
    const exact = new Set<string>();
    const parents = new Set<string>();
    for (const raw of names) {
      const name = raw.trim().toLowerCase();
      if (name === '*') throw new Error('"*" cannot be a certificate host: on-demand TLS needs a list of names (or a domain source)');
      if (name.startsWith('*.')) {
        const parent = certifiableHost(name.slice(2));
        if (!parent) throw new Error(`not a wildcard a certificate can cover: ${JSON.stringify(raw)}`);
        parents.add(parent);
      } else {
        const host = certifiableHost(name);
        if (!host) throw new Error(`not a host name a certificate can cover: ${JSON.stringify(raw)}`);
        exact.add(host);
      }
    }
    this.exact = exact;
    this.wildcardParents = parents;
  }

  /** True when a certificate may be held (and obtained) for `host`. */
  async allows(host: string): Promise<boolean> {
    return (await this.verdict(host)) === 'allowed';
  }

  async verdict(raw: string): Promise<HostVerdict> {
    const host = certifiableHost(raw);
    if (!host) return 'invalid';
    if (this.allowsStatically(host)) return 'allowed';
    for (const source of this.sources) {
      try {
        if (await source.lookup(host)) return 'allowed';
      } catch (err) {
        this.options.onError?.(err, host, source.name);
      }
    }
    return 'not-listed';
  }

  /** The config's names only (no domain list asked); `host` must be certifiable. */
  allowsStatically(host: string): boolean {
    if (this.exact.has(host)) return true;
    const dot = host.indexOf('.');
    return dot > 0 && this.wildcardParents.has(host.slice(dot + 1));
  }

  describe(): string {
    const names = [...this.exact, ...[...this.wildcardParents].map((p) => `*.${p}`)];
    return [...names, ...this.sources.map((s) => `(${s.name})`)].join(', ') || '(nothing)';
  }

  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.close?.()));
  }
}
