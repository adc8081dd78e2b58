// Host → Site, and path → Behavior. A site answers for exact names, one-label wildcards
// (`*.blot.im` matches `a.blot.im`, not `a.b.blot.im`, as in TLS certificates) or `*` for any host.
// Each site's behaviors are ordered path rules; the first that matches decides the origin group,
// the cache policy and the header rules, and a site always ends with a catch-all default. Sites
// and behaviors are compiled from the config in build-sites.ts.
import type { Origin } from '../origins/origin.js';
import type { TtlRules } from '../cache/policy.js';
import type { AddressList } from '../policy/address-list.js';
import type { DenyRules } from '../policy/deny-rules.js';
import type { HeaderRules } from '../policy/header-rules.js';
import type { RateLimiter } from '../policy/rate-limiter.js';
import type { StatusTable } from '../policy/status-spec.js';
import type { PathTest } from './path-pattern.js';

export type QueryKeyRule = { mode: 'all' } | { mode: 'none' } | { mode: 'allow'; names: ReadonlySet<string> };

export interface Behavior {
  /** The pattern as written in the config, for logs and the admin API. */
  pattern: string;
  matches: PathTest;
  origin: Origin;
  ttl: TtlRules;
  query: QueryKeyRule;
  bypass: boolean;
  /** ms an object may be served stale when the origin fails. */
  grace: number;
  /** Permanent URLs: a year, immutable, skipped by host and tag purges. */
  immutable: boolean;
  verifyCacheId: boolean;
  clientCacheControl: 'ignore' | 'honor';
  setCookie: SetCookieMode;
  /** Statuses stored and their lifetimes (ms); undefined: RFC 9111's defaults. */
  statuses: StatusTable<number> | undefined;
  /** Request fields Vary may split the cache on. */
  vary: VaryPolicy;
  /** Request fields the cache always keys on (and so forwards even if otherwise removed), sorted. */
  keyHeaders: readonly string[];
  /** Request fields removed before forwarding: the unkeyed ones an origin may reflect, less keyHeaders. */
  forwardDrop: ReadonlySet<string>;
  /** The site's request header rules, then the behavior's. */
  requestRules: HeaderRules | undefined;
  /** The site's response header rules, then the behavior's (and clientTtl's). */
  responseRules: HeaderRules | undefined;
}

export type SetCookieMode = 'pass' | 'strip' | 'store';
export type VaryPolicy = 'honor' | 'ignore' | ReadonlySet<string>;

export interface SiteRateLimit {
  perClient: RateLimiter | undefined;
  perHost: RateLimiter | undefined;
  /** Only requests the cache cannot answer count. */
  exemptHits: boolean;
  /** Addresses never limited. */
  allow: AddressList;
}

export interface ErrorPage {
  /** A file read at start… */
  body?: Buffer;
  contentType?: string;
  /** …or this host's page at this path, as the cache holds it. */
  path?: string;
}

export interface Site {
  name: string;
  hosts: string[];
  origin: Origin;
  behaviors: Behavior[];
  /** Also serves the hosts on the platform's domain list. */
  domainList: boolean;
  /** Plain-HTTP requests are redirected to HTTPS (when the edge has an HTTPS listener). */
  redirectToHttps: boolean;
  deny: DenyRules | undefined;
  rateLimit: SiteRateLimit | undefined;
  errorPages: StatusTable<ErrorPage> | undefined;
}

/** The platform's domain list, as the site table asks it: a cached answer at once, or a lookup. */
export interface DomainList {
  peek(host: string): boolean | undefined;
  lookup(host: string): Promise<boolean>;
}

export function behaviorFor(site: Site, path: string): Behavior {
  const list = site.behaviors;
  for (let i = 0; i < list.length; i++) if (list[i]!.matches(path)) return list[i]!;
  return list[list.length - 1]!;
}

/** `preview-*.blot.im` → a test; `*` stays within one label. */
function hostPatternTest(pattern: string): (host: string) => boolean {
  const source = pattern
    .split('.')
    .map((label) => label.split('*').map((part) => part.replace(/[.+^${}()|[\]\\?]/g, '\\$&')).join('[^.]*'))
    .join('\\.');
  const re = new RegExp(`^${source}$`);
  return (host) => re.test(host);
}

export class SiteTable {
  private readonly exact = new Map<string, Site>();
  /** Hosts with `*` inside a label, tried in config order after exact names. */
  private readonly patterns: { test: (host: string) => boolean; site: Site }[] = [];
  private readonly wildcard = new Map<string, Site>();
  private catchAll: Site | undefined;
  private readonly listed: Site | undefined;

  constructor(
    sites: Site[],
    private readonly domains?: DomainList,
  ) {
    this.listed = domains ? sites.find((s) => s.domainList) : undefined;
    for (const site of sites) {
      for (const host of site.hosts) {
        if (host === '*') this.catchAll = site;
        else if (host.startsWith('*.') && !host.slice(2).includes('*')) this.wildcard.set(host.slice(2), site);
        else if (host.includes('*')) this.patterns.push({ test: hostPatternTest(host.replace(/\.$/, '')), site });
        else this.exact.set(host.replace(/\.$/, ''), site);
      }
    }
  }

  /**
   * The site for a normalised host (see normaliseHost): exact names, then one-label wildcards, then
   * the platform's domain list (synchronous while its answer is cached), then a catch-all.
   */
  resolve(host: string): Site | undefined | Promise<Site | undefined> {
    const site = this.exact.get(host);
    if (site) return site;
    for (let i = 0; i < this.patterns.length; i++) if (this.patterns[i]!.test(host)) return this.patterns[i]!.site;
    const dot = host.indexOf('.');
    if (dot > 0) {
      const wild = this.wildcard.get(host.slice(dot + 1));
      if (wild) return wild;
    }
    if (this.listed && this.domains) {
      const known = this.domains.peek(host);
      if (known === true) return this.listed;
      if (known === undefined) return this.domains.lookup(host).then((yes) => (yes ? this.listed : this.catchAll));
    }
    return this.catchAll;
  }
}
