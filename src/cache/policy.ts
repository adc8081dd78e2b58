// Shared-cache policy (RFC 9111) as pure functions: may this response be stored, for how long is it
// fresh, may it be served stale, and is a stored response usable for this request. The section of
// the RFC is written beside each rule.
//
// Why not `http-cache-semantics`: it is a fine library for private caches and clients, but it has
// no notion of targeted fields (CDN-Cache-Control, RFC 9213; Surrogate-Control), of per-path TTL
// clamps, or of qualified no-cache/private field stripping, and its CachePolicy object must be
// re-created from JSON on every lookup. Here the decision is made once, at store time, and reduced
// to a few numbers in the object's metadata, so a hit costs two comparisons.
import { deltaSeconds, parseDirectives, parseSurrogateControl, parseTargetedField, type Directives } from './cache-control.js';
import type { HeaderMap } from '../http/headers.js';
import { parseHttpDate } from '../http/http-date.js';

export { parseHttpDate };

/** Why a response was not stored: the same words appear in Cache-Status `detail`, logs and metrics. */
export type NoStoreReason =
  | 'method'
  | 'status'
  | 'no-store'
  | 'private'
  | 'authorization'
  | 'set-cookie'
  | 'vary-star'
  | 'no-freshness'
  | 'must-understand'
  | 'request-no-store'
  | 'bypass'
  | 'too-large'
  | 'incomplete'
  /** The origin's body ends with its connection: a reset looks the same (RFC 9112 §6.3 item 8). */
  | 'close-delimited'
  /** A request with credentials, and nothing from the origin saying the answer may be shared. */
  | 'personal'
  // Refused by the cache's own limits (EdgeCache.refusal): a URL with too many variants, a key too long.
  | 'too-many-variants'
  | 'key-too-long';

/** Statuses that are "heuristically cacheable" (RFC 9110 §15.1). */
const HEURISTIC_STATUSES = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);
/** Statuses whose caching rules this cache implements, for `must-understand` (RFC 9111 §5.2.2.3). */
const UNDERSTOOD_STATUSES = new Set([...HEURISTIC_STATUSES, 302, 303, 307]);

export interface TtlRules {
  /** Lower bound on an explicit lifetime (ms); never overrides no-store, private or no-cache. */
  min?: number;
  /** Lifetime when the response gives none (ms); replaces heuristic freshness. */
  default?: number;
  /** Upper bound on any lifetime (ms). */
  max?: number;
  /** Lifetime imposed whatever the origin says (ms), for URLs known to be immutable. */
  force?: number;
}

export interface PolicyOptions {
  /** Identifier whose own targeted field (`<cdnId>-Cache-Control`) outranks CDN-Cache-Control. */
  cdnId?: string;
  /** Cap on heuristic freshness (RFC 9111 §4.2.2 suggests 10% of the Last-Modified age). */
  heuristicMaxMs?: number;
  /** Extra time a stale object may be served when the origin fails (operator's grace). */
  graceMs?: number;
}

export interface StorageDecision {
  storable: boolean;
  reason?: NoStoreReason;
  /** Freshness lifetime in ms (RFC 9111 §4.2.1), after the behavior's clamps. */
  lifetimeMs: number;
  /** Corrected initial age in seconds (RFC 9111 §4.2.3). */
  initialAge: number;
  /** Windows after expiry in which stale may be served (RFC 5861). */
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  /** No stale serving at all (must-revalidate, proxy-revalidate; RFC 9111 §4.2.4). */
  mustRevalidate: boolean;
  /** Every use needs validation first (no-cache; RFC 9111 §5.2.2.4). */
  noCache: boolean;
  /** Header fields that must not be stored (qualified no-cache / private). */
  stripFields: string[];
}

/**
 * The directives that govern this cache: the first targeted field present and valid wins (RFC 9213
 * §2.2). `<cdnId>-Cache-Control` and CDN-Cache-Control are Structured Field dictionaries: one that
 * does not parse, or whose delta-seconds are not integers, is ignored as a whole (§2.1) and the
 * next field decides.
 */
export function edgeDirectives(headers: HeaderMap, cdnId?: string): { directives: Directives; targeted: boolean } {
  if (cdnId) {
    const own = headers[`${cdnId.toLowerCase()}-cache-control`];
    if (own !== undefined) {
      const d = parseTargetedField(own);
      if (d !== undefined && d.size > 0) return { directives: d, targeted: true };
    }
  }
  const cdn = headers['cdn-cache-control'];
  if (cdn !== undefined) {
    const d = parseTargetedField(cdn);
    if (d !== undefined && d.size > 0) return { directives: d, targeted: true };
  }
  const surrogate = headers['surrogate-control'];
  if (surrogate !== undefined) {
    const d = parseSurrogateControl(surrogate);
    if (d.size > 0) return { directives: d, targeted: true };
  }
  return { directives: parseDirectives(headers['cache-control']), targeted: false };
}

/**
 * Corrected initial age in seconds (RFC 9111 §4.2.3):
 *   apparent_age = max(0, response_time - date_value)
 *   corrected_age_value = age_value + response_delay
 *   corrected_initial_age = max(apparent_age, corrected_age_value)
 */
export function correctedInitialAge(headers: HeaderMap, requestTime: number, responseTime: number): number {
  const date = parseHttpDate(headers['date']);
  const apparent = Number.isNaN(date) ? 0 : Math.max(0, (responseTime - date) / 1000);
  const ageHeader = Array.isArray(headers['age']) ? headers['age'][0] : headers['age'];
  const ageValue = ageHeader !== undefined && /^\d+$/.test(ageHeader.trim()) ? Number(ageHeader) : 0;
  const responseDelay = Math.max(0, (responseTime - requestTime) / 1000);
  return Math.max(apparent, ageValue + responseDelay);
}

function secondsToMs(v: number | undefined | 'invalid'): number | undefined {
  if (v === undefined) return undefined;
  return v === 'invalid' ? 0 : v * 1000;
}

/** Field names listed in a qualified directive (`no-cache="set-cookie, x-foo"`). */
function listedFields(v: string | true | undefined): string[] {
  if (typeof v !== 'string') return [];
  return v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
}

export interface StorageInput {
  method: string;
  status: number;
  requestHeaders: HeaderMap;
  responseHeaders: HeaderMap;
  requestTime: number;
  responseTime: number;
  ttl?: TtlRules;
  options?: PolicyOptions;
  /** `ignore`: the request's Cache-Control (its no-store) does not stop storing. Default `honor`. */
  clientCacheControl?: 'honor' | 'ignore';
  /** What to do with a response that sets a cookie: refuse it (`pass`, the default), strip it, or store it. */
  setCookie?: 'pass' | 'strip' | 'store';
  /**
   * Statuses that may be stored and their lifetimes in ms (nginx's proxy_cache_valid); a status it
   * does not list is not stored, and 0 means never. Absent: RFC 9111's defaults.
   */
  statuses?: { get(status: number): number | undefined };
  /** `ignore`: the origin's Vary (its `*` too) does not stop storing; the caller keys without it. */
  vary?: 'honor' | 'ignore' | 'some';
}

/** May this response be stored, and with what freshness (RFC 9111 §3, §4.2)? */
export function decideStorage(input: StorageInput): StorageDecision {
  const { status, requestHeaders: req, responseHeaders: res, ttl = {}, options = {} } = input;
  const initialAge = correctedInitialAge(res, input.requestTime, input.responseTime);
  const out: StorageDecision = {
    storable: false,
    lifetimeMs: 0,
    initialAge,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    mustRevalidate: false,
    noCache: false,
    stripFields: [],
  };
  const refuse = (reason: NoStoreReason): StorageDecision => ({ ...out, reason });

  // §3: the request method is understood and cacheable. HEAD misses are fetched as GET upstream.
  if (input.method !== 'GET') return refuse('method');
  // §3: a final status; partial content and 304s are never stored as objects here.
  if (status < 200 || status === 206 || status === 304) return refuse('status');
  // The behavior's own list of statuses, when it has one (0: never).
  const statusTtl = input.statuses?.get(status);
  if (input.statuses !== undefined && !statusTtl) return refuse('status');

  // §5.2.1.5: no-store in the request forbids storing the response to it (when the behavior
  // honours clients' directives at all).
  if (input.clientCacheControl !== 'ignore' && parseDirectives(req['cache-control']).has('no-store')) return refuse('request-no-store');

  if (ttl.force !== undefined) return forcedDecision(input, out, statusTtl ?? ttl.force, statusTtl !== undefined);

  const { directives: cc, targeted } = edgeDirectives(res, options.cdnId);

  // §5.2.2.3: must-understand lets a cache that knows the status ignore no-store; others must not store.
  if (cc.has('must-understand')) {
    if (!UNDERSTOOD_STATUSES.has(status)) return refuse('must-understand');
  } else if (cc.has('no-store')) {
    return refuse('no-store');
  }
  // §5.2.2.7: a shared cache must not store a private response; a qualified one only loses fields.
  const priv = cc.get('private');
  if (priv === true) return refuse('private');
  out.stripFields.push(...listedFields(priv));

  // §3.5: a request with Authorization is stored only when the response explicitly allows it.
  if (req['authorization'] !== undefined && !cc.has('must-revalidate') && !cc.has('public') && !cc.has('s-maxage')) {
    return refuse('authorization');
  }
  // §4.1: "Vary: *" never matches a later request, so storing it is pointless (unless the behavior
  // does not key on what Vary names).
  if ((input.vary ?? 'honor') === 'honor' && varyStar(res['vary'])) return refuse('vary-star');

  // §5.2.2.4: no-cache means store but validate on every use; qualified, only the listed fields.
  const noCache = cc.get('no-cache');
  if (noCache === true) out.noCache = true;
  else out.stripFields.push(...listedFields(noCache));

  // A response that sets a cookie belongs to one client: sharing it would leak a session (Varnish's
  // builtin rule). `no-cache="set-cookie"` (stripped above) makes it storable without the cookie, and
  // so does a behavior's `setCookie: strip`; `store` keeps it, as RFC 9111 lets a shared cache do.
  if (res['set-cookie'] !== undefined && !out.stripFields.includes('set-cookie')) {
    if (input.setCookie === 'strip') out.stripFields.push('set-cookie');
    else if (input.setCookie !== 'store') return refuse('set-cookie');
  }

  // §4.2.1: freshness lifetime — s-maxage, then max-age, then Expires − Date.
  let explicit = secondsToMs(deltaSeconds(cc, 's-maxage')) ?? secondsToMs(deltaSeconds(cc, 'max-age'));
  if (explicit === undefined && !targeted && res['expires'] !== undefined) {
    const expires = parseHttpDate(res['expires']);
    const date = parseHttpDate(res['date']);
    // An invalid Expires (e.g. "0") means "already expired" (§5.3).
    explicit = Number.isNaN(expires) ? 0 : Math.max(0, expires - (Number.isNaN(date) ? input.responseTime : date));
  }

  let lifetime: number | undefined;
  if (explicit !== undefined) {
    lifetime = ttl.min !== undefined && !out.noCache ? Math.max(explicit, ttl.min) : explicit;
  } else if (personal(req, cc)) {
    // Web cache deception: `/account/x.css` asked with a session cookie must not be stored as the
    // account page for everyone because a default TTL applies to `.css`. Only the origin's own
    // explicit freshness (or public / s-maxage, or ttl.force) stores a response to such a request.
    return refuse('personal');
  } else if (statusTtl !== undefined) {
    // A status the behavior lists: its lifetime stands in for heuristic freshness.
    lifetime = statusTtl;
  } else if (HEURISTIC_STATUSES.has(status) || cc.has('public')) {
    // §4.2.2: heuristic freshness only without explicit expiry, for heuristically cacheable
    // statuses (or `public`). The behavior's default TTL takes its place when set.
    if (ttl.default !== undefined) lifetime = ttl.default;
    else {
      const lastModified = parseHttpDate(res['last-modified']);
      const date = parseHttpDate(res['date']);
      const base = Number.isNaN(date) ? input.responseTime : date;
      if (!Number.isNaN(lastModified) && lastModified < base) {
        lifetime = Math.min((base - lastModified) / 10, options.heuristicMaxMs ?? 86_400_000);
      }
    }
  }
  if (lifetime !== undefined && ttl.max !== undefined) lifetime = Math.min(lifetime, ttl.max);

  const hasValidator = res['etag'] !== undefined || res['last-modified'] !== undefined;
  if (lifetime === undefined || (lifetime <= initialAge * 1000 && !hasValidator)) {
    // Nothing says how long it stays fresh and nothing lets us revalidate it: storing is useless.
    if (!(out.noCache && hasValidator)) return refuse('no-freshness');
    lifetime = 0;
  }
  if (out.noCache && !hasValidator) return refuse('no-freshness');

  out.storable = true;
  out.lifetimeMs = lifetime;

  // §4.2.4 and §5.2.2.2/§5.2.2.8: must-revalidate and proxy-revalidate forbid serving stale. s-maxage
  // implies proxy-revalidate (§5.2.2.10), but an explicit stale-while-revalidate or stale-if-error
  // beside it is the origin's own permission and is honoured (as every major CDN does).
  const swr = deltaSeconds(cc, 'stale-while-revalidate');
  const sie = deltaSeconds(cc, 'stale-if-error');
  out.mustRevalidate = cc.has('must-revalidate') || cc.has('proxy-revalidate') || (cc.has('s-maxage') && swr === undefined && sie === undefined);
  if (!out.mustRevalidate) {
    out.staleWhileRevalidateMs = typeof swr === 'number' ? swr * 1000 : 0;
    out.staleIfErrorMs = Math.max(typeof sie === 'number' ? sie * 1000 : 0, options.graceMs ?? 0);
  }
  return out;
}

/** Whether the Vary field contains `*`. */
function varyStar(vary: string | string[] | undefined): boolean {
  return vary !== undefined && (Array.isArray(vary) ? vary.join(',') : vary).split(',').some((v) => v.trim() === '*');
}

/**
 * A request that carried credentials (a cookie, Authorization) whose response did not say it may be
 * shared: `public` or `s-maxage` are the origin saying so.
 */
function personal(req: HeaderMap, cc: Directives): boolean {
  return (req['cookie'] !== undefined || req['authorization'] !== undefined) && !cc.has('public') && !cc.has('s-maxage');
}

/**
 * ttl.force: stored for `lifetimeMs` whatever Cache-Control, Expires, Surrogate-Control and Vary
 * say — the operator's policy, not the origin's. Statuses the behavior does not list (`listed`) are
 * stored only if cacheable by default, so a forced year never catches a 500. A cookie is still the
 * behavior's `setCookie` decision; `grace` still lets a forced object be served while the origin is
 * down.
 */
function forcedDecision(input: StorageInput, out: StorageDecision, lifetimeMs: number, listed: boolean): StorageDecision {
  if (!listed && !HEURISTIC_STATUSES.has(input.status)) return { ...out, reason: 'status' };
  if (input.responseHeaders['set-cookie'] !== undefined) {
    if (input.setCookie === 'strip') out.stripFields.push('set-cookie');
    else if (input.setCookie !== 'store') return { ...out, reason: 'set-cookie' };
  }
  return { ...out, storable: true, lifetimeMs, staleIfErrorMs: input.options?.graceMs ?? 0 };
}

/**
 * A permanent URL's 200 (see permanent-url.ts): stored for `lifetimeMs` whatever its directives
 * say — the URL names the bytes, so they cannot go stale — minus any cookie; `graceMs` still lets
 * it be served if it ever has to be fetched again while the origin is down.
 */
export function permanentDecision(headers: HeaderMap, requestTime: number, responseTime: number, lifetimeMs: number, graceMs = 0): StorageDecision {
  return {
    storable: true,
    lifetimeMs,
    initialAge: correctedInitialAge(headers, requestTime, responseTime),
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: graceMs,
    mustRevalidate: false,
    noCache: false,
    stripFields: ['set-cookie'],
  };
}

/** Request directives (RFC 9111 §5.2.1); `undefined` when the request has none (the fast path). */
export interface RequestDirectives {
  noCache: boolean;
  noStore: boolean;
  maxAge?: number;
  /** Seconds of staleness the client accepts; Infinity for a bare `max-stale`. */
  maxStale?: number;
  minFresh?: number;
  onlyIfCached: boolean;
}

/** Only `only-if-cached`, for behaviors that ignore every other request directive. */
const ONLY_IF_CACHED: RequestDirectives = Object.freeze({ noCache: false, noStore: false, onlyIfCached: true });

/**
 * The request directives a behavior acts on: all of them (`honor`, RFC 9111 §5.2.1), or only
 * `only-if-cached` (`ignore`: a reload's `max-age=0`, `no-cache` or `Pragma: no-cache` is served
 * from the cache, as Varnish, CloudFront and Fastly do by default).
 */
export function clientDirectives(headers: HeaderMap, mode: 'honor' | 'ignore'): RequestDirectives | undefined {
  if (mode === 'honor') return requestDirectives(headers);
  const cc = headers['cache-control'];
  if (cc === undefined) return undefined;
  return parseDirectives(cc).has('only-if-cached') ? ONLY_IF_CACHED : undefined;
}

export function requestDirectives(headers: HeaderMap): RequestDirectives | undefined {
  const cc = headers['cache-control'];
  if (cc === undefined) {
    // RFC 7234 §5.4 (kept by RFC 9111 §5.4 for HTTP/1.0 clients): without Cache-Control,
    // `Pragma: no-cache` in a request means the same as `Cache-Control: no-cache`.
    const pragma = headers['pragma'];
    if (pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(Array.isArray(pragma) ? pragma.join(',') : pragma)) {
      return { noCache: true, noStore: false, onlyIfCached: false };
    }
    return undefined;
  }
  const d = parseDirectives(cc);
  if (d.size === 0) return undefined;
  const num = (name: string): number | undefined => {
    const v = deltaSeconds(d, name);
    return v === 'invalid' ? undefined : v;
  };
  const maxStaleRaw = d.get('max-stale');
  return {
    noCache: d.has('no-cache'),
    noStore: d.has('no-store'),
    maxAge: num('max-age'),
    maxStale: maxStaleRaw === true ? Infinity : num('max-stale'),
    minFresh: num('min-fresh'),
    onlyIfCached: d.has('only-if-cached'),
  };
}

/** What the cache stores about freshness, in absolute times (epoch ms) so a hit is cheap. */
export interface FreshnessMeta {
  responseTime: number;
  initialAge: number;
  lifetimeMs: number;
  freshUntil: number;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  mustRevalidate: boolean;
  noCache: boolean;
}

export function freshnessMeta(d: StorageDecision, responseTime: number): FreshnessMeta {
  return {
    responseTime,
    initialAge: d.initialAge,
    lifetimeMs: d.lifetimeMs,
    freshUntil: responseTime + d.lifetimeMs - d.initialAge * 1000,
    staleWhileRevalidateMs: d.staleWhileRevalidateMs,
    staleIfErrorMs: d.staleIfErrorMs,
    mustRevalidate: d.mustRevalidate,
    noCache: d.noCache,
  };
}

/** current_age = corrected_initial_age + resident_time (RFC 9111 §4.2.3), in seconds. */
export function currentAge(m: FreshnessMeta, now: number): number {
  return m.initialAge + Math.max(0, now - m.responseTime) / 1000;
}

/**
 * Can a stored response answer this request?
 * - `fresh`: serve it.
 * - `stale-while-revalidate`: serve it now, refresh in the background (RFC 5861 §3).
 * - `revalidate`: ask the origin first (conditionally when validators exist); if that fails, a
 *   response still inside its stale-if-error window may be served (RFC 5861 §4).
 */
export type Usability = 'fresh' | 'stale-while-revalidate' | 'revalidate';

export function usability(m: FreshnessMeta, now: number, req?: RequestDirectives): Usability {
  if (req === undefined) {
    if (m.noCache) return 'revalidate';
    if (now < m.freshUntil) return 'fresh';
    if (!m.mustRevalidate && now < m.freshUntil + m.staleWhileRevalidateMs) return 'stale-while-revalidate';
    return 'revalidate';
  }
  // §5.2.1.4 and §5.2.2.4: no-cache on either side requires validation.
  if (req.noCache || m.noCache) return 'revalidate';
  const age = currentAge(m, now);
  const lifetime = m.lifetimeMs / 1000;
  // §5.2.1.1: the client will not accept a response older than max-age.
  if (req.maxAge !== undefined && age > req.maxAge) return 'revalidate';
  // §5.2.1.3: the client wants it to stay fresh for at least min-fresh more seconds.
  if (req.minFresh !== undefined && lifetime - age < req.minFresh) return 'revalidate';
  if (age < lifetime) return 'fresh';
  if (m.mustRevalidate) return 'revalidate';
  // §5.2.1.2: the client accepts a response stale by up to max-stale seconds.
  if (req.maxStale !== undefined && age - lifetime <= req.maxStale) return 'fresh';
  if (now < m.freshUntil + m.staleWhileRevalidateMs) return 'stale-while-revalidate';
  return 'revalidate';
}

/** May a stale object be served because the origin failed (RFC 5861 §4 and the operator's grace)? */
export function canServeStaleOnError(m: FreshnessMeta, now: number): boolean {
  return !m.mustRevalidate && !m.noCache && now < m.freshUntil + m.staleIfErrorMs;
}
