// The config file's shape, validated with zod: unknown keys are refused (a typo must not silently
// fall back to a default), durations and sizes are parsed here, and cross-references (a site naming
// an origin group that does not exist) are checked with the path of the offending field.
import { statSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration, parseSize } from './units.js';
import { parseStatusSpec } from '../policy/status-spec.js';
import { parseRate } from '../policy/rate.js';
import { compileTemplate } from '../policy/header-rules.js';
import { parseRange } from '../policy/address-list.js';

const duration = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const out = parseDuration(value);
  if (out === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(value)} (try "30s", "10m", "1y" or seconds)` });
    return z.NEVER;
  }
  return out;
}).meta({ kind: 'duration' });

const size = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const out = parseSize(value);
  if (out === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a size: ${JSON.stringify(value)} (try "256MiB" or bytes)` });
    return z.NEVER;
  }
  return out;
}).meta({ kind: 'size' });

/**
 * "host:port" or "[::1]:port"; "port" or ":port" alone means every interface, as Caddy and nginx read
 * it (host left undefined: Node then listens on "::" and also takes IPv4, or on 0.0.0.0 where the
 * machine has no IPv6). Port 0 picks a free port.
 */
export const listenAddress = z.union([z.string(), z.number()]).transform((raw, ctx): { host?: string; port: number } => {
  const value = String(raw).trim();
  const m = /^(?:(?:\[([^\]]+)\]|([^:]*)):)?(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `not a listen address: ${JSON.stringify(raw)} (expected host:port, or :port for every interface)` });
    return z.NEVER;
  }
  const host = m[1] ?? m[2];
  return host ? { host, port } : { port };
}).meta({ kind: 'address' });
export type ListenAddress = z.output<typeof listenAddress>;

/** One listen address or a list of them; each is checked on its own, so an error names its index. */
const listenAddresses = z
  .union([z.string(), z.number(), z.array(z.union([z.string(), z.number()]))])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .pipe(z.array(listenAddress))
  .meta({ kind: 'address | address[]' });

const statusCode = z.number().int().min(100).max(599);

const originMember = z.strictObject({
  name: z.string().min(1).optional(),
  url: z.string().transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `not a URL: ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    if (!ORIGIN_SCHEMES.has(url.protocol)) {
      ctx.addIssue({ code: 'custom', message: `unsupported origin scheme ${url.protocol} (http:, https:, file: for a folder, s3: for a bucket)` });
      return z.NEVER;
    }
    if (url.protocol === 's3:' && !url.host) {
      ctx.addIssue({ code: 'custom', message: 'an s3: origin names its bucket: s3://bucket[/key-prefix]' });
      return z.NEVER;
    }
    return url;
  }),
  /** `keep` forwards the client's Host; any other value is sent as the Host. */
  host: z.string().min(1).default('keep'),
  /** Prefix prepended to every path sent to this member (CloudFront's "origin path"). */
  pathPrefix: z.string().regex(/^(\/[^?#]*)?$/, 'must start with / and hold no query').default(''),
  connectTimeout: duration.default(5_000),
  headersTimeout: duration.default(30_000),
  bodyTimeout: duration.default(30_000),
  connections: z.number().int().min(1).max(4096).default(128),
  /** Trust the origin's certificate even when it does not verify (test and internal origins only). */
  insecure: z.boolean().default(false),
  /**
   * The member is another blotcdn edge (the shield tier): each fill tells it when this node last
   * purged the URL, and it serves no copy stored before that (list this node in its node.peers).
   */
  shield: z.boolean().optional(),

  // file: members (a folder served as nginx would)
  /** File served for a path ending in `/` (e.g. index.html); directories are 404 without it. */
  index: z.union([z.string().min(1), z.literal(false)]).optional(),
  /** `.git`, `.env`…: 404 unless `allow`. */
  dotfiles: z.enum(['deny', 'allow']).optional(),
  /** Cache-Control by path, or `blot` for the platform's immutable generated-asset folders. */
  cacheControl: z.union([z.literal('blot'), z.array(z.strictObject({ path: z.string().min(1), value: z.string().min(1) }))]).optional(),
  readSize: size.optional(),

  // s3: members (a bucket, signed with SigV4)
  /** Signing region (AWS_REGION / AWS_DEFAULT_REGION / us-east-1 when absent). */
  region: z.string().min(1).optional(),
  /** An S3-compatible server, scheme://host[:port]; AWS's regional endpoint by default. */
  endpoint: z.url().optional(),
  pathStyle: z.boolean().optional(),
  /** Keys (prefer the AWS_* environment variables to secrets in a file), or `anonymous`. */
  credentials: z
    .union([z.literal('anonymous'), z.strictObject({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1), sessionToken: z.string().optional() })])
    .optional(),
});
export type OriginMemberConfig = z.output<typeof originMember>;

const ORIGIN_SCHEMES = new Set(['http:', 'https:', 'file:', 's3:']);
/** Fields that only mean something for one kind of member. */
const KIND_FIELDS: Record<string, readonly (keyof OriginMemberConfig)[]> = {
  'file:': ['index', 'dotfiles', 'cacheControl', 'readSize'],
  's3:': ['region', 'endpoint', 'pathStyle', 'credentials'],
};

/** The name a member goes by (its `name`, or what its URL names). */
export function memberName(m: Pick<OriginMemberConfig, 'name' | 'url'>): string {
  if (m.name) return m.name;
  if (m.url.protocol === 'file:') return 'folder';
  return m.url.host;
}

const breaker = z.strictObject({
  /**
   * Consecutive failures to reach a member (refused or reset connections, TLS failures, connect and
   * header timeouts) that open its breaker.
   */
  failures: z.number().int().min(1).default(3),
  /** How long an open member is skipped before a background probe asks it again (doubling while it stays down). */
  cooldown: duration.default(5_000),
  /** Path probed (GET) in the background while open; any answer not listed in tripOn closes the breaker. */
  probePath: z.string().startsWith('/').default('/'),
  /**
   * Statuses that count as failures too (e.g. [502, 503, 504] for a member behind a load balancer).
   * Empty by default: what the origin chose to answer — one site's 500s — says nothing about reaching it.
   */
  tripOn: z.array(statusCode).default([]),
  /** With every member open, one real request per this interval still goes through as a trial (default: 1s, or the cooldown if shorter). */
  trialInterval: duration.optional(),
});

const originGroup = z.strictObject({
  members: z.array(originMember).min(1, 'an origin group needs at least one member'),
  /** Statuses that make the group try its next member (an S3 bucket answers 403 for a missing key). */
  failoverOn: z.array(statusCode).default([500, 502, 503, 504]),
  breaker: breaker.prefault({}),
});
export type OriginGroupConfig = z.output<typeof originGroup>;

const ttl = z
  .strictObject({
    /** Lower bound on an explicit freshness lifetime (never overrides no-store or private). */
    min: duration.optional(),
    /** Lifetime used when the origin gives none (instead of heuristic freshness). */
    default: duration.optional(),
    /** Upper bound on any freshness lifetime. */
    max: duration.optional(),
    /**
     * Store for this long whatever Cache-Control, Expires, Surrogate-Control and Vary say (Vary is
     * then ignored unless the behavior's `vary` says otherwise). Only statuses cacheable by default
     * (200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501) unless `cacheStatuses` lists others.
     * Purges still work. Clients get the origin's headers unless `clientTtl` or a header rule says.
     */
    force: duration.optional(),
  })
  .refine((t) => t.min === undefined || t.max === undefined || t.min <= t.max, {
    message: 'min must not be greater than max',
  });
export type TtlBounds = z.output<typeof ttl>;

const queryRule = z.union([
  z.enum(['all', 'none']),
  z.strictObject({ allow: z.array(z.string().min(1)).min(1) }),
]);
export type QueryRule = z.output<typeof queryRule>;

/** `{ "200 301 404": 1y, "500-599": 0 }`: statuses (lists, ranges, `5xx`) → a duration. */
const statusMap = <T extends z.ZodType>(value: T) =>
  z.record(z.string(), value).superRefine((map, ctx) => {
    for (const key of Object.keys(map)) {
      const parsed = parseStatusSpec(key);
      if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', path: [key], message: parsed });
    }
  });

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Fields the edge itself must write (framing, hop-by-hop, the Host that names the cache key). */
const RESERVED_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'host', 'cache-status']);
const headerName = z
  .string()
  .regex(HEADER_NAME, 'not a header field name')
  .refine((n) => !RESERVED_HEADERS.has(n.toLowerCase()), { message: 'this field is written by the edge itself and cannot be changed by a rule' });
const headerValue = z
  .string()
  .refine((v) => !/[\r\n\0]/.test(v), { message: 'a header value cannot contain CR, LF or NUL' })
  .superRefine((v, ctx) => {
    try {
      compileTemplate(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });
const headerRules = z.strictObject({
  set: z.record(headerName, headerValue).optional(),
  add: z.record(headerName, z.union([headerValue, z.array(headerValue)])).optional(),
  remove: z.array(headerName).optional(),
});
export type HeaderRulesConfig = z.output<typeof headerRules>;

const behavior = z.strictObject({
  /** Path pattern: `*` matches any run of characters (slashes included), `?` one character. */
  path: z.string().min(1).refine((p) => p.startsWith('/') || p.startsWith('*'), 'must start with / or *'),
  originGroup: z.string().min(1).optional(),
  ttl: ttl.prefault({}),
  query: queryRule.default('all'),
  /** Never cache: every request goes to the origin (`Cache-Status: fwd=bypass`). */
  bypass: z.boolean().default(false),
  /**
   * How long past its freshness an object may still be served when the origin group fails
   * (RFC 9111 §4.2.4 allows it while disconnected); defaults to `cache.grace`. Never overrides
   * must-revalidate or no-cache.
   */
  grace: duration.optional(),
  /**
   * Permanent URLs (`/{blogID}/{cacheID}/…` from blotcdn/origin): 200s are stored for a year as
   * immutable whatever the origin says, and host and tag purges skip them.
   */
  immutable: z.boolean().default(false),
  /** With immutable: check each body against the cacheID in its path; a mismatch is not stored. */
  verifyCacheId: z.boolean().default(false),
  /**
   * The request's own Cache-Control and Pragma (a browser reload's `max-age=0`, `no-cache`; any
   * script's): `ignore` (default, as Varnish, CloudFront and Fastly do) serves what the cache holds;
   * `honor` follows RFC 9111 §5.2.1, so any client can send every request to the origin.
   * `only-if-cached` is honoured either way.
   */
  clientCacheControl: z.enum(['ignore', 'honor']).default('ignore'),
  /**
   * A response with Set-Cookie: `pass` (default) is not stored; `strip` is stored without the
   * cookie (the client that fetched it still gets it); `store` is stored and replayed with it, as
   * RFC 9111 allows a shared cache to.
   */
  setCookie: z.enum(['pass', 'strip', 'store']).default('pass'),
  /**
   * Statuses stored and for how long, like nginx's proxy_cache_valid: `{ "200 301 404": 1y,
   * "302 400": 1h, "500-599": 0 }`. When given, statuses it does not list are not stored; a listed
   * status is stored (even one RFC 9111 does not cache by default) for the origin's own lifetime if
   * it gives one, else for the listed duration — or for exactly that long under ttl.force. 0: never.
   */
  cacheStatuses: statusMap(duration).optional(),
  /**
   * Which request fields the origin's Vary may split the cache on: `honor` (all it names), `ignore`
   * (none: one copy per URL, whatever Vary says), or a list (only those). Default: `honor`, or
   * `ignore` under ttl.force.
   */
  vary: z.union([z.enum(['honor', 'ignore']), z.array(z.string().regex(HEADER_NAME).transform((s) => s.toLowerCase()))]).optional(),
  /**
   * Freshness clients are told, whatever the origin said: `Cache-Control: public, max-age=N`
   * (`no-cache` for 0), without Expires and Age. The stored object is not changed.
   */
  clientTtl: duration.optional(),
  /**
   * Request fields the cache keys on, whatever the origin's Vary says: each value gets its own copy.
   * The only way to let through a field the edge otherwise removes because an origin might reflect
   * it unkeyed (X-Forwarded-Port, X-Original-URL, X-HTTP-Method-Override…; see docs/SECURITY.md).
   */
  keyHeaders: z.array(z.string().regex(HEADER_NAME, 'not a header field name').transform((s) => s.toLowerCase())).default([]),
  /** Headers added to, set on or removed from requests sent to the origin (after the site's rules). */
  requestHeaders: headerRules.optional(),
  /** Headers added to, set on or removed from responses to clients, hits and misses alike (after the site's rules). */
  responseHeaders: headerRules.optional(),
});
export type BehaviorConfig = z.output<typeof behavior>;

const addressOrNetwork = z.string().superRefine((v, ctx) => {
  const r = parseRange(v);
  if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: `${r} (e.g. "10.0.0.0/8", "::1")` });
});

const rateBucket = z.strictObject({
  /** "20/s", "1200/m", "10000/h". */
  rate: z.string().transform((v, ctx) => {
    const out = parseRate(v);
    if (out === undefined) {
      ctx.addIssue({ code: 'custom', message: `not a rate: ${JSON.stringify(v)} (try "20/s" or "600/m")` });
      return z.NEVER;
    }
    return out;
  }),
  /** Requests allowed at once above the rate. */
  burst: z.number().int().min(1),
});

/** A label may hold `*` standing for any run of characters within it (`preview-*.blot.im`). */
const LABEL = '[a-z0-9_*]([a-z0-9_*-]*[a-z0-9_*])?';
const hostPattern = z
  .string()
  .transform((h) => h.trim().toLowerCase())
  .refine((h) => h === '*' || new RegExp(`^${LABEL}(\\.${LABEL})*\\.?$`).test(h) || /^\d+\.\d+\.\d+\.\d+$/.test(h), {
    message: 'not a host name or pattern (examples: "blot.im", "*.blot.im", "preview-*.blot.im", "*")',
  });

const site = z.strictObject({
  name: z.string().min(1).optional(),
  /** Exact names, `*.example.com` wildcards, or `*` for any host (each host keyed apart). */
  hosts: z.array(hostPattern).min(1),
  originGroup: z.string().min(1),
  behaviors: z.array(behavior).default([]),
  /** Also serve (and hold certificates for) every host on the platform's domain list (`domains`). */
  domainList: z.boolean().default(false),
  /** With an HTTPS listener: send plain-HTTP requests to HTTPS (default true; false keeps a host on HTTP). */
  redirectToHttps: z.boolean().default(true),
  /**
   * Requests answered at the edge and never forwarded: `{ path: "/wp-admin/*", status: 403 }`,
   * `{ path: "*.php", status: 444 }` (444 closes the connection without an answer, as nginx's),
   * `{ methods: [TRACE, PUT], status: 405 }`. First match wins; paths compare without case.
   */
  deny: z
    .array(
      z
        .strictObject({
          path: z.string().min(1).refine((p) => p.startsWith('/') || p.startsWith('*'), 'must start with / or *').optional(),
          methods: z.array(z.string().regex(/^[A-Za-z]+$/, 'not a method name')).min(1).optional(),
          status: z.union([z.number().int().min(400).max(499), z.literal(444)]).default(403),
        })
        .refine((r) => r.path !== undefined || r.methods !== undefined, { message: 'give a path, methods, or both' }),
    )
    .default([]),
  /**
   * Token buckets per client address and per host; over the limit: 429 with Retry-After.
   * `exemptHits`: only requests the cache cannot answer count. `allow`: addresses never limited.
   */
  rateLimit: z
    .strictObject({
      perClient: rateBucket.optional(),
      perHost: rateBucket.optional(),
      exemptHits: z.boolean().default(false),
      allow: z.array(addressOrNetwork).default([]),
      /** Buckets kept in memory (least recently used forgotten first), per kind. */
      maxKeys: z.number().int().min(1).default(100_000),
    })
    .optional(),
  /**
   * The site's own page for the edge's errors, by status: `{ "502-504": { file: /srv/offline.html } }`
   * (read at start) or `{ path: /offline.html }` (this host's page as the cache holds it). Sent with
   * the error's status and `Cache-Control: no-store`; Cache-Status still names the edge's code.
   */
  errorPages: statusMap(
    z.union([
      z.strictObject({
        file: z.string().min(1).superRefine((file, ctx) => {
          let size: number;
          try {
            size = statSync(file).size;
          } catch (err) {
            ctx.addIssue({ code: 'custom', message: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` });
            return;
          }
          if (size > 1024 * 1024) ctx.addIssue({ code: 'custom', message: `${file} is larger than 1 MiB; an error page should be small` });
        }),
      }),
      z.strictObject({ path: z.string().startsWith('/') }),
    ]),
  ).default({}),
  /** Header rules for every request of the site to the origin (a behavior's own come after). */
  requestHeaders: headerRules.optional(),
  /** Header rules for every response of the site to clients (a behavior's own come after). */
  responseHeaders: headerRules.optional(),
});
export type SiteConfig = z.output<typeof site>;

export const configSchema = z
  .strictObject({
    /**
     * Proxies in front of the edge whose word about the client is believed: their X-Forwarded-For,
     * and a PROXY protocol header (v1, v2) on their connections. Addresses or networks.
     */
    trustedProxies: z.array(addressOrNetwork).default([]),
    /** SIGTERM/SIGINT: how long requests in flight may take to finish before their connections are cut. */
    shutdownTimeout: duration.default(10_000),
    /**
     * Worker processes sharing the listeners (`blotcdn start --workers N` overrides): "auto" is one
     * per core, 1 is a single process with no primary.
     */
    workers: z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default('auto'),
    node: z
      .strictObject({
        /** Names this node in CDN-Loop and Via; must differ between tiers. */
        id: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only').optional(),
        /**
         * Edges allowed to use this node as their shield with purge times (Blotcdn-Purged-At): their
         * addresses or networks. Others' purge times are ignored.
         */
        peers: z.array(addressOrNetwork).default(['127.0.0.0/8', '::1']),
      })
      .prefault({}),
    listen: z.strictObject({
      http: listenAddresses.default([]),
      https: listenAddresses.default([]),
    }),
    /** The platform's list of hosts it serves (custom domains): in Redis, or asked of the origin. */
    domains: z
      .strictObject({
        /** Key `{prefix}{host}` exists = allowed, as the Blot app writes them. Uses `redis.url` unless `url` is given. */
        redis: z
          .strictObject({
            url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// URL').optional(),
            prefix: z.string().default('domain:'),
            /** Follow additions and removals at once (keyspace notifications on `{prefix}*`, and `channel`). */
            watch: z.boolean().default(true),
            /** A host published here is looked up afresh (for Redis servers without keyspace notifications). */
            channel: z.string().min(1).default('blotcdn:domains'),
            /** Turn on Redis's keyspace notifications for strings and key removal (CONFIG SET) when they are off. */
            enableKeyspaceEvents: z.boolean().default(false),
          })
          .optional(),
        /** `GET {url}?domain={host}`: 2xx allowed, 4xx not. */
        ask: z.strictObject({ url: z.url(), timeout: duration.default(3000) }).optional(),
        /** How long answers are remembered. */
        cache: z
          .strictObject({
            allowed: duration.default(60_000),
            denied: duration.default(10_000),
            staleIfError: duration.default(3_600_000),
            maxEntries: z.number().int().min(1).default(10_000),
          })
          .prefault({}),
      })
      .refine((d) => d.redis !== undefined || d.ask !== undefined, { message: 'give domains.redis or domains.ask' })
      .optional(),
    /** Certificates for the HTTPS listeners, obtained on demand for allowed hosts only. */
    tls: z
      .strictObject({
        /** Where certificates, ACME accounts and challenge tokens live: a folder, or Redis for many nodes. */
        store: z
          .strictObject({
            dir: z.string().min(1).optional(),
            /** true: the top-level `redis.url`; or a redis:// URL. */
            redis: z.union([z.literal(true), z.string().regex(/^rediss?:\/\//, 'expected a redis:// URL')]).optional(),
            prefix: z.string().default('blotcdn:tls:'),
            /** Read the platform's existing certificates (`ssl:{host}:latest`) from Redis. */
            platformCerts: z.boolean().default(true),
          })
          .refine((s) => (s.dir === undefined) !== (s.redis === undefined), { message: 'give exactly one of store.dir and store.redis' }),
        /**
         * Certificates from files for host patterns (`*.blot.im`, `blot.im`): served for the names they
         * cover, re-read when the files change; a covered name never causes an ACME order.
         */
        certificates: z
          .array(
            z.strictObject({
              hosts: z.array(hostPattern.refine((h) => h !== '*' && !(h.startsWith('*.') ? h.slice(2) : h).includes('*'), { message: 'a certificate covers names and *.wildcards only' })).min(1),
              cert: z.string().min(1),
              key: z.string().min(1),
            }),
          )
          .default([]),
        /** Hosts certificates may be obtained for, beside the sites' hosts and the domain list. */
        allowHosts: z.array(hostPattern).default([]),
        /** The ACME CA; without it only stored certificates are served. */
        acme: z
          .strictObject({
            directory: z.url(),
            email: z.string().email().optional(),
            /** A file with the CA certificate of the ACME server's own HTTPS endpoint (test CAs). */
            ca: z.string().optional(),
            /**
             * Most preferred first. TLS-ALPN-01 needs every HTTPS connection's ClientHello read before
             * TLS starts (to spot the CA's validation), which costs handshake speed: it is off unless asked.
             */
            challenges: z.array(z.enum(['http-01', 'tls-alpn-01'])).min(1).default(['http-01']),
            pollMin: duration.default(250),
            pollMax: duration.default(5000),
            requestTimeout: duration.default(30_000),
            orderTimeout: duration.default(180_000),
            /** Let's Encrypt allows 300 new orders per account per 3 hours (divide by the nodes). */
            ordersPerWindow: z.number().int().min(1).default(300),
            orderWindow: duration.default(3 * 3_600_000),
            /** Orders running at once. */
            maxPending: z.number().int().min(1).default(20),
            /** Let's Encrypt allows 5 failed validations per name per hour. */
            failuresPerName: z.number().int().min(1).default(5),
            failureWindow: duration.default(3_600_000),
          })
          .optional(),
        /** How long a first handshake waits for its certificate before getting the default one. */
        handshakeWait: duration.default(10_000),
        maxCached: z.number().int().min(1).default(10_000),
        /** How often certificates in memory are checked for renewal (a third of their life left). */
        renewCheckInterval: duration.default(600_000),
        /** Served without SNI and for names without a certificate (files); a self-signed one when absent. */
        defaultCert: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
        /** 48 bytes, hex: the same on every node so TLS sessions resume on any of them. */
        ticketKeys: z.string().regex(/^[0-9a-fA-F]{96}$/, '48 bytes as 96 hex digits').optional(),
        /**
         * Without ticketKeys, each node makes its own and replaces it this often, so a key taken from
         * memory cannot open sessions older than that (0: never). Configured ticketKeys are not rotated.
         */
        ticketKeyRotation: duration.default(12 * 3_600_000),
      })
      .optional(),
    cache: z
      .strictObject({
        memory: z
          .strictObject({
            maxSize: size.default(256 * 1024 * 1024),
            maxObjectSize: size.default(16 * 1024 * 1024),
          })
          .prefault({}),
        /** Default grace for every behavior (see behaviors[].grace). */
        grace: duration.default(0),
        /** Edge compression: br and gzip copies of compressible responses, made once. */
        compression: z
          .strictObject({
            enabled: z.boolean().default(true),
            minSize: size.default(1024),
            maxSize: size.default(10 * 1024 * 1024),
            concurrency: z.number().int().min(1).max(16).default(2),
          })
          .prefault({}),
        /** A disk tier under the memory tier (objects survive restarts). */
        disk: z
          .strictObject({
            dir: z.string().min(1),
            maxSize: size.default(10 * 1024 ** 3),
            maxObjectSize: size.default(1024 ** 3),
            /** fsync every object before it becomes visible (power-loss safety at a cost). */
            fsync: z.boolean().default(false),
            /** Most objects on disk: bounds the index in memory (about 100 bytes each, see docs/ARCHITECTURE.md). */
            maxObjects: z.number().int().min(1).default(1_000_000),
            /** Index changes journaled before the index is saved whole again (bounds the replay at start). */
            snapshotEvery: z.number().int().min(16).default(65_536),
          })
          .optional(),
        /** Bounds on what the cache keeps per key; past them an object is not stored (counted by reason). */
        limits: z
          .strictObject({
            /** Longest cache key stored (scheme, host, path, query and Vary values); above proxy.maxTargetLength, so any URL a client may send can be stored. */
            maxKeyLength: size.default(16_384),
            /** Most variants (Vary) stored per URL. */
            maxVariants: z.number().int().min(1).max(10_000).default(64),
            /** Fetches coalesced at once; past it, requests fetch on their own. */
            maxFlights: z.number().int().min(1).default(10_000),
            /** URLs remembered as not storable (hit-for-miss), about 100 bytes each. */
            hitForMissEntries: z.number().int().min(1).default(100_000),
            /** How long a URL found not storable goes straight to the origin. */
            hitForMiss: duration.default(30_000),
          })
          .prefault({}),
      })
      .prefault({}),
    proxy: z
      .strictObject({
        /** How many times a request may pass through blotcdn nodes before it is refused as a loop. */
        maxHops: z.number().int().min(1).max(16).default(4),
        /** Identifier used in CDN-Loop (RFC 8586) and Cache-Status (RFC 9211). */
        cdnId: z.string().regex(/^[A-Za-z0-9._-]+$/).default('blotcdn'),
        /** Add the member that answered as `X-Served-By-Origin`. */
        servedByHeader: z.boolean().default(true),
        /** Longest request-target (path and query) accepted; longer ones get 414. It bounds every cache key. */
        maxTargetLength: z.number().int().min(256).max(65_536).default(8192),
        /**
         * Plain-HTTP cache hits (a complete `GET`/`HEAD … HTTP/1.1` head in the strict grammar, the
         * object whole in memory) are answered below Node's HTTP layer; everything else goes to
         * Node's parser as before. Off: every request goes through Node's parser.
         */
        fastLane: z.boolean().default(true),
        /**
         * A fetch whose clients have all gone away is finished (and stored) only up to this size; a
         * larger one is cancelled. Before the origin answers, such a fetch is always cancelled.
         */
        abandonedFillLimit: size.default(16 * 1024 * 1024),
      })
      .prefault({}),
    /**
     * Redis, for running many edge nodes (cluster mode): purges go to every node on a Redis Stream,
     * with receipts and catch-up (see docs/cluster.md).
     */
    redis: z
      .strictObject({
        url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL'),
        /** No longer used: purges travel on the stream `{keyPrefix}:v1:purges`. Accepted so older configs still load. */
        purgeChannel: z.string().min(1).optional(),
        /** First part of every cluster key (`{keyPrefix}:v1:…`); nodes of one cluster share it. */
        keyPrefix: z.string().regex(/^[A-Za-z0-9._-]+$/).default('blotcdn'),
        /** Purges the stream keeps (approximately); a node away for longer than that many purges drops what it held. */
        streamMaxLen: z.number().int().min(100).max(10_000_000).default(100_000),
        /** How often a node tells the others it is alive; it leaves the node list after three missed. */
        heartbeat: duration.default(1000),
        /** Longest wait of POST /purge with "wait": true for the other nodes' acknowledgements. */
        ackTimeout: duration.default(2000),
        /** How long a starting node waits for Redis (to read the purges it missed) before serving without it. */
        startTimeout: duration.default(5000),
        /** Purges kept while Redis is unreachable, sent when it returns; past it a purge applies here only. */
        queueMax: z.number().int().min(1).max(1_000_000).default(10_000),
      })
      .optional(),
    /**
     * The publishing job queue of `blotcdn/origin` (asset and publish jobs), shown by the admin API's
     * GET /jobs and the dashboard, and what `blotcdn jobs --config` works on: the journal folder the
     * origin app uses (on this host), or Redis (`true`: the top-level `redis.url`).
     */
    jobs: z
      .strictObject({
        dir: z.string().min(1).optional(),
        redis: z.union([z.literal(true), z.string().regex(/^rediss?:\/\//, 'expected a redis:// URL')]).optional(),
        /** BullMQ's key prefix, as the origin app's queue has it. */
        prefix: z.string().min(1).default('blotcdn:jobs'),
      })
      .refine((j) => (j.dir === undefined) !== (j.redis === undefined), { message: 'give exactly one of jobs.dir and jobs.redis' })
      .optional(),
    /** The admin API and dashboard (absent: not started). */
    admin: z
      .strictObject({
        listen: listenAddress.prefault('127.0.0.1:8081'),
        /** Bearer token; or set the variable named by tokenEnv. Without one: loopback only. */
        token: z.string().min(8, 'use at least 8 characters').optional(),
        tokenEnv: z.string().default('BLOTCDN_ADMIN_TOKEN'),
        /** Shared secret for the platform's GET /purge (X-Blot-Purge-Token); or purgeTokenEnv. */
        purgeToken: z.string().min(8, 'use at least 8 characters').optional(),
        purgeTokenEnv: z.string().default('BLOTCDN_PURGE_TOKEN'),
        warmConcurrency: z.number().int().min(1).max(256).default(16),
        /**
         * Listeners answering only the platform's GET /purge, /inspect and /rehydrate (with the purge
         * secret): where the app's BLOT_REVERSE_PROXY_URLS point, e.g. this node's private address.
         */
        purgeListen: listenAddresses.default([]),
        /** Names the admin listener answers to besides IP addresses and localhost (DNS rebinding guard). */
        allowedHosts: z.array(z.string().regex(/^[a-z0-9.-]+$/i, 'a host name, without port').transform((h) => h.toLowerCase())).default([]),
        /** Retry-After of the platform's routes while the cache index is being read after a start. */
        retryAfter: duration.default(30_000),
        /** GET /healthz and /readyz answer without the token (for load balancers' health checks). */
        publicHealth: z.boolean().default(false),
      })
      .optional(),
    log: z
      .strictObject({
        /** Access log: `stdout`, `off`, or a file path (JSON lines). */
        access: z.string().min(1).default('stdout'),
        /** Operational events (certificates, purge bus, cacheID mismatches): `stderr` or `off`. */
        events: z.enum(['stderr', 'off']).default('stderr'),
      })
      .prefault({}),
    originGroups: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/, 'group names: letters, digits, ".", "_" and "-"'), originGroup),
    sites: z.array(site).min(1, 'at least one site is needed'),
  })
  .superRefine((cfg, ctx) => {
    const groups = new Set(Object.keys(cfg.originGroups));
    const seenHosts = new Map<string, number>();
    const listSites = cfg.sites.flatMap((s, i) => (s.domainList ? [i] : []));
    if (listSites.length > 1) ctx.addIssue({ code: 'custom', path: ['sites', listSites[1]!, 'domainList'], message: `only one site can serve the domain list (sites[${listSites[0]}] already does)` });
    if (listSites.length > 0 && !cfg.domains) ctx.addIssue({ code: 'custom', path: ['sites', listSites[0]!, 'domainList'], message: 'domainList needs a `domains` section' });
    if (cfg.domains?.redis && !cfg.domains.redis.url && !cfg.redis) ctx.addIssue({ code: 'custom', path: ['domains', 'redis', 'url'], message: 'give domains.redis.url or a top-level redis.url' });
    if (cfg.jobs?.redis === true && !cfg.redis) ctx.addIssue({ code: 'custom', path: ['jobs', 'redis'], message: 'jobs.redis: true needs a top-level redis.url' });
    if (cfg.tls?.store.redis === true && !cfg.redis) ctx.addIssue({ code: 'custom', path: ['tls', 'store', 'redis'], message: 'store.redis: true needs a top-level redis.url' });
    if (cfg.listen.https.length > 0 && !cfg.tls) ctx.addIssue({ code: 'custom', path: ['listen', 'https'], message: 'HTTPS listeners need a `tls` section' });
    cfg.sites.forEach((s, i) => {
      if (!groups.has(s.originGroup)) {
        ctx.addIssue({ code: 'custom', path: ['sites', i, 'originGroup'], message: `unknown origin group ${JSON.stringify(s.originGroup)}` });
      }
      s.behaviors.forEach((b, j) => {
        if (b.verifyCacheId && !b.immutable) {
          ctx.addIssue({ code: 'custom', path: ['sites', i, 'behaviors', j, 'verifyCacheId'], message: 'verifyCacheId needs immutable: true' });
        }
        if (b.immutable && b.bypass) {
          ctx.addIssue({ code: 'custom', path: ['sites', i, 'behaviors', j, 'immutable'], message: 'a behavior cannot be both immutable and bypass' });
        }
        if (b.originGroup !== undefined && !groups.has(b.originGroup)) {
          ctx.addIssue({ code: 'custom', path: ['sites', i, 'behaviors', j, 'originGroup'], message: `unknown origin group ${JSON.stringify(b.originGroup)}` });
        }
      });
      s.hosts.forEach((h, j) => {
        const other = seenHosts.get(h);
        if (other !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['sites', i, 'hosts', j], message: `host ${JSON.stringify(h)} is already served by sites[${other}]` });
        }
        seenHosts.set(h, i);
      });
    });
    for (const [name, g] of Object.entries(cfg.originGroups)) {
      const names = new Set<string>();
      g.members.forEach((m, j) => {
        const mName = memberName(m);
        if (names.has(mName)) {
          ctx.addIssue({ code: 'custom', path: ['originGroups', name, 'members', j, 'name'], message: `duplicate member name ${JSON.stringify(mName)}; give each member a name` });
        }
        names.add(mName);
        for (const [scheme, fields] of Object.entries(KIND_FIELDS)) {
          if (m.url.protocol === scheme) continue;
          for (const field of fields) {
            if (m[field] !== undefined) {
              ctx.addIssue({ code: 'custom', path: ['originGroups', name, 'members', j, field], message: `only ${scheme} members take ${field}` });
            }
          }
        }
        if ((m.url.protocol === 'file:' || m.url.protocol === 's3:') && m.host !== 'keep') {
          ctx.addIssue({ code: 'custom', path: ['originGroups', name, 'members', j, 'host'], message: `${m.url.protocol} members send no Host` });
        }
      });
    }
  });

export type ConfigInput = z.input<typeof configSchema>;
export type EdgeConfig = z.output<typeof configSchema>;
