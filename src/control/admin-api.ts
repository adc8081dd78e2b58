// The admin API and dashboard, on their own listener (127.0.0.1 by default). Every route needs the
// bearer token (or the dashboard's cookie, set by signing in with the token); without a token the
// API refuses to listen anywhere but loopback. Before any route, admin-guard refuses what a web page
// could send (a foreign Host, another Origin, a non-JSON body). The platform's own calls (GET /purge,
// /inspect, /rehydrate: platform-routes.ts) authenticate with the purge secret instead, here and on
// the purge listeners (`admin.purgeListen`), which answer nothing else. Errors: `{code, message}`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EdgeConfig, ListenAddress } from '../config/schema.js';
import { PURGE_KINDS, type PurgeKind } from '../cache/purge-target.js';
import { EdgeError } from '../errors.js';
import { createMetrics, type Metrics } from '../observe/metrics.js';
import { guardRequest } from './admin-guard.js';
import { adminError, badRequest, readJson, sameSecret, sendError, sendJson } from './admin-http.js';
import type { ControlPlane } from './control-plane.js';
import { serveDashboard } from './dashboard.js';
import { PlatformRoutes } from './platform-routes.js';
import type { Receipt } from '../cluster/purge-bus.js';

export interface AdminOptions {
  listen: ListenAddress;
  /** Bearer token; undefined allows only a loopback listener, without authentication. */
  token?: string;
  /** Shared secret the platform sends in X-Blot-Purge-Token; without one its routes are refused. */
  purgeToken?: string;
  /** Listeners that answer only the platform's routes (where BLOT_REVERSE_PROXY_URLS point). */
  purgeListen?: ListenAddress[];
  /** Names the admin listener answers to besides IP addresses and localhost. */
  allowedHosts?: string[];
  /** Retry-After (seconds) of the platform's routes while the edge is not ready. */
  retryAfterSeconds?: number;
  /** Most URLs warmed at once. */
  warmConcurrency: number;
  /** GET /healthz and /readyz answer without the token (for a load balancer's health checks). */
  publicHealth?: boolean;
}

/** The admin API's options from the config's `admin` section (tokens from the environment when not written in it). */
export function adminOptions(admin: NonNullable<EdgeConfig['admin']>): AdminOptions {
  return {
    listen: admin.listen,
    token: admin.token ?? (process.env[admin.tokenEnv] || undefined),
    purgeToken: admin.purgeToken ?? (process.env[admin.purgeTokenEnv] || undefined),
    purgeListen: admin.purgeListen,
    allowedHosts: admin.allowedHosts,
    retryAfterSeconds: Math.ceil(admin.retryAfter / 1000),
    warmConcurrency: admin.warmConcurrency,
    publicHealth: admin.publicHealth,
  };
}

const COOKIE = 'blotcdn_admin';
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/**
 * One answer for a purge of several values: every node counted by all of them (the fewest acked,
 * the most nodes, the longest wait). Without a cluster this node is the only one.
 */
function receiptSummary(receipts: (Receipt | undefined)[]): { acked: number; nodes: number; ms: number; queued: boolean; missing: string[] } {
  const known = receipts.filter((r): r is Receipt => r !== undefined);
  if (known.length === 0) return { acked: 1, nodes: 1, ms: 0, queued: false, missing: [] };
  return {
    acked: Math.min(...known.map((r) => r.acked)),
    nodes: Math.max(...known.map((r) => r.nodes)),
    ms: Math.round(Math.max(...known.map((r) => r.ms)) * 100) / 100,
    queued: known.some((r) => r.queued),
    missing: [...new Set(known.flatMap((r) => r.missing))],
  };
}

export class AdminApi {
  readonly server: Server;
  /** Listeners answering only the platform's routes (`admin.purgeListen`). */
  readonly purgeServers: Server[];
  private readonly metrics: Metrics;
  private readonly platform: PlatformRoutes;
  private readonly allowedHosts: ReadonlySet<string>;
  private bound: AddressInfo | undefined;

  constructor(
    private readonly plane: ControlPlane,
    private readonly options: AdminOptions,
  ) {
    if (!options.token && !LOOPBACK.test(options.listen.host ?? '')) {
      throw new Error(`the admin API on ${options.listen.host ?? 'every interface'} needs a token (admin.token or BLOTCDN_ADMIN_TOKEN); without one it only listens on loopback`);
    }
    const purgeListen = options.purgeListen ?? [];
    if (purgeListen.length > 0 && !options.purgeToken) {
      throw new Error('admin.purgeListen needs a purge secret (admin.purgeToken or BLOTCDN_PURGE_TOKEN): the platform routes are never open');
    }
    if (options.token && options.purgeToken && sameSecret(options.token, options.purgeToken)) {
      throw new Error('the purge secret must differ from the admin token: the app that holds it must not hold the whole admin API');
    }
    this.metrics = createMetrics(plane);
    this.allowedHosts = new Set((options.allowedHosts ?? []).map((h) => h.toLowerCase()));
    this.platform = new PlatformRoutes(plane, { purgeToken: options.purgeToken, retryAfterSeconds: options.retryAfterSeconds ?? 30 });
    this.server = createServer((req, res) => void this.handle(req, res).catch((err: unknown) => sendError(res, err)));
    this.purgeServers = purgeListen.map(() => createServer((req, res) => void this.handlePlatform(req, res).catch((err: unknown) => sendError(res, err))));
  }

  async listen(): Promise<AddressInfo> {
    this.bound = await listenOn(this.server, this.options.listen);
    const purgeListen = this.options.purgeListen ?? [];
    for (let i = 0; i < this.purgeServers.length; i++) await listenOn(this.purgeServers[i]!, purgeListen[i]!);
    return this.bound;
  }

  get address(): AddressInfo | undefined {
    return this.bound;
  }

  /** Bound addresses of the purge listeners. */
  get purgeAddresses(): AddressInfo[] {
    return this.purgeServers.map((s) => s.address()).filter((a): a is AddressInfo => a !== null && typeof a === 'object');
  }

  async close(): Promise<void> {
    await Promise.all([this.server, ...this.purgeServers].map(closeServer));
  }

  private authorized(req: IncomingMessage): boolean {
    const token = this.options.token;
    if (!token) return true;
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ') && sameSecret(header.slice(7).trim(), token)) return true;
    const fromCookie = cookie(req, COOKIE);
    return fromCookie !== undefined && sameSecret(fromCookie, token);
  }

  /** A purge listener: the platform's routes, nothing else. */
  private async handlePlatform(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://purge');
    // The routes need a header no page can send cross-site, so any Host may be used (a container's name).
    guardRequest(req, { allowedHosts: this.allowedHosts, checkHost: false });
    if (!PlatformRoutes.handles(req.method, url.pathname)) throw new EdgeError('admin_not_found', `(${req.method} ${url.pathname}: this listener answers GET /purge, /inspect and /rehydrate)`);
    return this.platform.handle(req, res, url);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const route = `${req.method} ${url.pathname}`;
    guardRequest(req, { allowedHosts: this.allowedHosts, checkHost: true, form: route === 'POST /login' });

    // The dashboard's own pages handle the sign-in themselves.
    if (url.pathname === '/' || url.pathname === '/dashboard' || url.pathname.startsWith('/dashboard/') || route === 'POST /login') {
      return serveDashboard(req, res, url, { authorized: this.authorized(req), token: this.options.token, cookie: COOKIE });
    }
    if (PlatformRoutes.handles(req.method, url.pathname)) return this.platform.handle(req, res, url);
    await this.plane.refresh?.();
    const health = route === 'GET /healthz' || route === 'GET /readyz';
    if (!(health && this.options.publicHealth) && !this.authorized(req)) throw new EdgeError('admin_unauthorized', undefined, { headers: { 'www-authenticate': 'Bearer' } });

    switch (route) {
      case 'GET /healthz':
        // Alive: the process answers. Whether it should take traffic is /readyz.
        return sendJson(res, 200, { ok: true, node: this.plane.nodeId });
      case 'GET /readyz': {
        const readiness = this.plane.readiness();
        return sendJson(res, readiness.ready ? 200 : 503, { ...readiness, node: this.plane.nodeId });
      }
      case 'POST /reload': {
        try {
          return sendJson(res, 200, { reloaded: true, ...(await this.plane.reloadFromSource()) });
        } catch (err) {
          throw adminError('admin_reload_refused', `kept the running config: ${(err as Error).message}`);
        }
      }
      case 'GET /stats':
        return sendJson(res, 200, this.stats());
      case 'GET /origins':
        return sendJson(res, 200, this.plane.originStatus());
      case 'GET /certs':
        return sendJson(res, 200, await this.plane.certs());
      case 'GET /purges':
        return sendJson(res, 200, [...this.plane.purgeLog()].reverse());
      case 'POST /purge':
        return this.purge(req, res);
      case 'POST /warm':
        return this.warm(req, res);
      case 'GET /nodes':
        return sendJson(res, 200, await this.plane.nodes());
      case 'GET /tasks':
        return sendJson(res, 200, this.plane.taskCounts());
      case 'GET /jobs': {
        const report = await this.plane.jobs();
        if (!report) throw new EdgeError('admin_no_jobs');
        return sendJson(res, 200, report);
      }
      case 'GET /metrics': {
        const text = await this.metrics.text();
        res.writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' });
        return void res.end(text);
      }
      default:
        throw new EdgeError('admin_not_found', `(${route})`);
    }
  }

  stats(): unknown {
    const s = this.plane.stats;
    const cacheable = s.hits + s.outcomes.miss;
    return {
      node: this.plane.nodeId,
      uptimeSeconds: Math.round((Date.now() - s.startedAt) / 1000),
      requests: s.requests,
      outcomes: s.outcomes,
      hitRatio: cacheable === 0 ? 0 : s.hits / cacheable,
      bytesServed: s.bytesServed,
      bytesFromOrigin: s.bytesFromOrigin,
      originFetches: s.originFetches,
      collapsed: s.collapsed,
      stored: s.stored,
      notStored: Object.fromEntries(s.notStored),
      errors: Object.fromEntries(s.errors),
      statuses: Object.fromEntries(s.statuses),
      cache: this.plane.cacheStats(),
      memory: this.plane.memory(),
      activePurges: this.plane.activePurges(),
      series: s.series(),
      topMissed: s.topMissed(20),
      ...(this.plane.workers ? { workers: this.plane.workers() } : {}),
    };
  }

  /** POST /purge {"url"|"prefix"|"host"|"tag": string | string[], "soft"?: boolean, "wait"?: boolean} */
  private async purge(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req)) as Record<string, unknown>;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('Expected a JSON object.');
    const soft = body.soft === true;
    if (body.wait !== undefined && typeof body.wait !== 'boolean') throw badRequest('"wait" must be true or false.');
    // Cluster mode: wait (at most redis.ackTimeout) for every node's acknowledgement.
    const waitMs = body.wait === true && this.plane.ackTimeoutMs > 0 ? this.plane.ackTimeoutMs : undefined;
    const jobs: { kind: PurgeKind; value: string }[] = [];
    for (const kind of PURGE_KINDS) {
      const v = body[kind];
      if (v === undefined) continue;
      const values = Array.isArray(v) ? v : [v];
      if (!values.every((x) => typeof x === 'string')) throw badRequest(`"${kind}" must be a string or a list of strings.`);
      for (const value of values as string[]) jobs.push({ kind, value });
    }
    if (jobs.length === 0) throw badRequest('Say what to purge: {"url"|"prefix"|"host"|"tag": "…", "soft": false}.');
    if (!this.plane.isReady()) throw new EdgeError('not_ready', '(the disk cache is still being read)', { headers: { 'retry-after': '1' } });
    const purges = [];
    for (const job of jobs) {
      try {
        purges.push(await this.plane.purge({ ...job, soft }, waitMs));
      } catch (err) {
        throw badRequest((err as Error).message);
      }
    }
    sendJson(res, 200, { purged: purges.reduce((n, p) => n + p.purged, 0), purges, ...(body.wait === true ? receiptSummary(purges.map((p) => p.sent?.receipt)) : {}) });
  }

  /** POST /warm {"urls": [...], "concurrency"?: n} → a result per URL, in order. */
  private async warm(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req, 16 * 1024 * 1024)) as { urls?: unknown; concurrency?: unknown };
    if (!Array.isArray(body.urls) || !body.urls.every((u) => typeof u === 'string')) throw badRequest('Expected {"urls": ["https://…", …]}.');
    const max = this.options.warmConcurrency;
    const concurrency = typeof body.concurrency === 'number' && body.concurrency >= 1 ? Math.min(Math.floor(body.concurrency), max) : Math.min(4, max);
    const results = await this.plane.warm(body.urls as string[], concurrency);
    sendJson(res, 200, { results, stored: results.filter((r) => r.result === 'stored').length, errors: results.filter((r) => r.result === 'error').length });
  }
}

function listenOn(server: Server, address: ListenAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
