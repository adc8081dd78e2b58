// Sites and their behaviors from a config, compiled once for the request path: origin group names
// resolved to the groups, path patterns to tests, status maps to tables, a site's header rules
// merged into each of its behaviors', rate limiters and error pages made ready.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import mime from 'mime-types';
import type { BehaviorConfig, EdgeConfig, HeaderRulesConfig, SiteConfig } from '../config/schema.js';
import type { Origin } from '../origins/origin.js';
import { AddressList } from '../policy/address-list.js';
import { DenyRules } from '../policy/deny-rules.js';
import { HeaderRules } from '../policy/header-rules.js';
import { RateLimiter } from '../policy/rate-limiter.js';
import { parseStatusSpec, StatusTable } from '../policy/status-spec.js';
import { compilePathPattern } from './path-pattern.js';
import { UNKEYED_REFLECTED } from '../http/headers.js';
import type { Behavior, ErrorPage, QueryKeyRule, Site, SiteRateLimit, VaryPolicy } from './site-table.js';

/** A status map from the config (keys already checked by the schema) → a table. */
function statusTable<T, U>(map: Record<string, T> | undefined, convert: (v: T) => U): StatusTable<U> | undefined {
  if (map === undefined || Object.keys(map).length === 0) return undefined;
  return new StatusTable(Object.entries(map).map(([spec, v]) => [parseStatusSpec(spec) as number[], convert(v)]));
}

/** What clients are told under `clientTtl`: the operator's freshness, not the origin's (nor the edge's Age). */
function clientTtlRules(ms: number | undefined): HeaderRulesConfig | undefined {
  if (ms === undefined) return undefined;
  const seconds = Math.floor(ms / 1000);
  return { set: { 'cache-control': seconds > 0 ? `public, max-age=${seconds}` : 'no-cache' }, remove: ['expires', 'age'] };
}

function varyPolicy(b: BehaviorConfig): VaryPolicy {
  if (b.vary === undefined) return b.ttl.force !== undefined ? 'ignore' : 'honor';
  return Array.isArray(b.vary) ? new Set(b.vary) : b.vary;
}

function compileBehavior(b: BehaviorConfig, site: SiteConfig, origin: Origin, grace: number): Behavior {
  const query: QueryKeyRule = typeof b.query === 'string' ? { mode: b.query } : { mode: 'allow', names: new Set(b.query.allow) };
  return {
    pattern: b.path,
    matches: compilePathPattern(b.path),
    origin,
    ttl: b.ttl,
    query,
    bypass: b.bypass,
    grace: b.grace ?? grace,
    immutable: b.immutable,
    verifyCacheId: b.verifyCacheId,
    clientCacheControl: b.clientCacheControl,
    setCookie: b.setCookie,
    statuses: statusTable(b.cacheStatuses, (ms) => ms),
    vary: varyPolicy(b),
    keyHeaders: [...new Set(b.keyHeaders)].sort(),
    forwardDrop: b.keyHeaders.length === 0 ? UNKEYED_REFLECTED : new Set([...UNKEYED_REFLECTED].filter((h) => !b.keyHeaders.includes(h))),
    requestRules: HeaderRules.compile([site.requestHeaders, b.requestHeaders]),
    responseRules: HeaderRules.compile([site.responseHeaders, b.responseHeaders, clientTtlRules(b.clientTtl)]),
  };
}

function rateLimit(s: SiteConfig): SiteRateLimit | undefined {
  const r = s.rateLimit;
  if (r === undefined || (r.perClient === undefined && r.perHost === undefined)) return undefined;
  const limiter = (b: { rate: number; burst: number } | undefined) => (b ? new RateLimiter({ ratePerMs: b.rate, burst: b.burst, maxKeys: r.maxKeys }) : undefined);
  return { perClient: limiter(r.perClient), perHost: limiter(r.perHost), exemptHits: r.exemptHits, allow: new AddressList(r.allow) };
}

function errorPage(page: { file: string } | { path: string }): ErrorPage {
  if ('path' in page) return { path: page.path };
  return { body: readFileSync(page.file), contentType: mime.contentType(extname(page.file)) || 'text/html; charset=utf-8' };
}

/** A behavior config with every default, for the catch-all a site always ends with. */
const CATCH_ALL: BehaviorConfig = {
  path: '*',
  ttl: {},
  query: 'all',
  bypass: false,
  immutable: false,
  verifyCacheId: false,
  clientCacheControl: 'ignore',
  setCookie: 'pass',
  keyHeaders: [],
};

export function buildSites(config: EdgeConfig, groups: ReadonlyMap<string, Origin>): Site[] {
  const group = (name: string) => groups.get(name)!;
  const grace = config.cache.grace;
  return config.sites.map((s, i) => {
    const origin = group(s.originGroup);
    const behaviors = s.behaviors.map((b) => compileBehavior(b, s, group(b.originGroup ?? s.originGroup), grace));
    if (!s.behaviors.some((b) => b.path === '*')) behaviors.push(compileBehavior(CATCH_ALL, s, origin, grace));
    return {
      name: s.name ?? `site${i}`,
      hosts: s.hosts,
      origin,
      behaviors,
      domainList: s.domainList,
      redirectToHttps: s.redirectToHttps,
      deny: s.deny.length > 0 ? new DenyRules(s.deny) : undefined,
      rateLimit: rateLimit(s),
      errorPages: statusTable(s.errorPages, errorPage),
    };
  });
}
