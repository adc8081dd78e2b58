// Per-request state passed from step to step, and the shared services the steps use. Outcomes are
// data (cache status parts, reasons, attempts, timings) so the deliver step, the access log and
// the metrics all report the same words.
import type { AddressList } from '../policy/address-list.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { EdgeCache } from '../cache/edge-cache.js';
import type { Purger } from '../cache/purger.js';
import type { Flight } from '../cache/flight.js';
import type { PolicyOptions, RequestDirectives } from '../cache/policy.js';
import type { StoredObject } from '../cache/store.js';
import type { EdgeError } from '../errors.js';
import type { CacheStatus } from '../http/cache-status.js';
import type { OriginAttempt, OriginResponse } from '../origins/origin.js';
import type { Behavior, Site, SiteTable } from '../sites/site-table.js';
import type { EdgeStats } from '../observe/stats.js';
import type { Compressor } from '../cache/compression.js';
import type { EventLog } from '../observe/event-log.js';
import type { ClientIp } from '../policy/client-ip.js';
import type { TaskRunner } from '../tasks/task-runner.js';
import type { RuleVariables } from '../policy/header-rules.js';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { clock } from '../clock.js';

export type EdgeRequest = IncomingMessage | Http2ServerRequest;
export type EdgeResponse = ServerResponse | Http2ServerResponse;

/** The client went away (a closed connection, a reset HTTP/2 stream). */
export function clientGone(res: EdgeResponse): boolean {
  return res.destroyed || (res as { stream?: { destroyed: boolean } }).stream?.destroyed === true;
}

/** How the request was answered, in one word (logs, metrics, the dashboard). */
export type Outcome = 'hit' | 'stale' | 'revalidated' | 'miss' | 'pass' | 'synth' | 'error';

/** Services every step may use; built once by Edge. */
export interface EdgeRuntime {
  sites: SiteTable;
  cache: EdgeCache;
  /** Purges, and invalidations after unsafe requests (which hold against fetches under way too). */
  purger: Purger;
  /**
   * An unsafe request's invalidation of a cache key (RFC 9111 §4.4): applied here, and with worker
   * processes on every sibling before it resolves. Never sent to other nodes: they are other caches.
   */
  invalidate(primary: string): Promise<void>;
  stats: EdgeStats;
  nodeId: string;
  /** RFC 9211 cache identifier and RFC 8586 cdn-id. */
  cdnId: string;
  maxHops: number;
  /** `1.1 <nodeId>` for Via. */
  via: string;
  /** `<cdnId>; node=<nodeId>` for CDN-Loop. */
  cdnLoopEntry: string;
  servedByHeader: boolean;
  policy: PolicyOptions;
  /** Makes compressed copies; undefined when edge compression is off. */
  compressor: Compressor | undefined;
  /** Access log sink; called exactly once per request. */
  accessLog?: (ctx: RequestContext) => void;
  /** Warnings and errors that are not about one request's outcome. */
  events: EventLog;
  /** The port plain-HTTP requests are redirected to (undefined: no HTTPS listener, no redirects). */
  httpsPort: number | undefined;
  /** The port of the first listener for a scheme (for requests the edge makes itself: warming, refreshes). */
  listenerPort(scheme: 'http' | 'https'): number | undefined;
  /** Longest request-target accepted (414 beyond). */
  maxTargetLength: number;
  /** A fetch every client has left is still finished (and stored) up to this many bytes. */
  abandonedFillLimit: number;
  /** Background work: refreshes, compressed copies, warming, probes, periodic checks. */
  tasks: TaskRunner;
  /** Who the client is (the socket's peer, or what a trusted proxy says). */
  clientIp: ClientIp;
  /** Peer edges whose Blotcdn-Purged-At this node honours as a shield (config node.peers). */
  shieldPeers: AddressList | undefined;
  /** Some origin member is a shield (another edge): fills tell it when this node last purged. */
  toShield: boolean;
  /** Answers ACME HTTP-01 challenges (undefined without TLS). */
  acme: { answerHttp01(host: string, path: string): Promise<string | undefined> } | undefined;
}

export class RequestContext implements RuleVariables {
  readonly started = performance.now();
  readonly startedAt = clock.now();
  method: string;
  scheme: 'http' | 'https';
  /** The Host the origin is sent: the canonical host, plus the listener's port when not the default. */
  authority = '';
  /** Normalised host name (lower case, no port). */
  host = '';
  path = '/';
  /** Query string as kept by the behavior (`?a=1` or empty). */
  query = '';
  site: Site | undefined;
  behavior: Behavior | undefined;
  /** Primary cache key and the full (variant) key looked up. */
  primary = '';
  key = '';
  reqDirectives: RequestDirectives | undefined;
  /** Skip coalescing for this request (hit-for-miss). */
  noCoalesce = false;
  /** As a shield: a peer edge purged this at that time (epoch ms); nothing stored by then is served. */
  purgedAt: number | undefined;
  /** Lookups restarted (a variant mismatch after joining a flight); bounded to avoid loops. */
  restarts = 0;

  outcome: Outcome = 'miss';
  cacheStatus: CacheStatus = {};
  object: StoredObject | undefined;
  flight: Flight | undefined;
  /** This request's own response headers when they differ from what was stored (fields kept out of the store). */
  ownHeaders: string[] | undefined;
  originRes: OriginResponse | undefined;
  attempts: OriginAttempt[] | undefined;
  member: string | undefined;
  error: EdgeError | undefined;

  /** Status sent to the client and body bytes written. */
  status = 0;
  bytes = 0;
  /** Milliseconds from the start of the request to the origin's response head. */
  originMs: number | undefined;
  logged = false;
  /** The site's rate limits were applied to this request. */
  rateChecked = false;
  /** A deny rule or rate limit refused it: counted when the request is logged (once, whoever ran it). */
  refused: { kind: 'denied' | 'rateLimited'; key: string } | undefined;
  private client: string | undefined;
  private id: string | undefined;

  constructor(
    readonly req: EdgeRequest,
    readonly res: EdgeResponse | undefined,
    readonly edge: EdgeRuntime,
    scheme: 'http' | 'https',
    /** A client's request (false: warming, background refreshes). The fast lane's have no `res`. */
    readonly fromClient: boolean = res !== undefined,
  ) {
    this.method = req.method ?? 'GET';
    this.scheme = scheme;
  }

  /** The client's address (trusted-proxy aware), worked out once. */
  get clientIp(): string {
    this.client ??= this.edge.clientIp.of(this.req.socket as Socket | undefined, this.req.headers);
    return this.client;
  }

  /** A unique id for this request (logs, {request_id} in header rules), made when first asked for. */
  get requestId(): string {
    this.id ??= randomUUID();
    return this.id;
  }
}
