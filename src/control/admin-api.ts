// The admin API and dashboard, on their own listener (127.0.0.1 by default). Every route needs the
// bearer token (or the dashboard's cookie, set by logging in with the token); without a token the
// API refuses to listen anywhere but loopback. The platform's own purge call (GET /purge?host=…)
// may instead carry its shared secret in X-Blot-Purge-Token, so the origin app needs no change.
// GET /jobs shows the origin app's publishing queue (config `jobs`).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { ListenAddress } from '../config/schema.js';
import type { PurgeKind } from '../cache/purger.js';
import { createMetrics, type Metrics } from '../observe/metrics.js';
import type { ControlPlane } from './control-plane.js';
import { serveDashboard } from './dashboard.js';
import { twinHost } from './twin-host.js';

export interface AdminOptions {
  listen: ListenAddress;
  /** Bearer token; undefined allows only a loopback listener, without authentication. */
  token?: string;
  /** Shared secret the platform sends in X-Blot-Purge-Token for GET /purge. */
  purgeToken?: string;
  /** Most URLs warmed at once. */
  warmConcurrency: number;
  /** GET /healthz and /readyz answer without the token (for a load balancer's health checks). */
  publicHealth?: boolean;
}

const COOKIE = 'blotcdn_admin';
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
const PURGE_KINDS: PurgeKind[] = ['url', 'prefix', 'host', 'tag'];

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function same(a: string, b: string): boolean {
  // Hash first so the comparison takes the same time whatever the lengths.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

async function readJson(req: IncomingMessage, limit = 1024 * 1024): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'request body too large');
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

export class AdminApi {
  readonly server: Server;
  private readonly metrics: Metrics;
  private bound: AddressInfo | undefined;

  constructor(
    private readonly plane: ControlPlane,
    private readonly options: AdminOptions,
  ) {
    if (!options.token && !LOOPBACK.test(options.listen.host ?? '')) {
      throw new Error(`the admin API on ${options.listen.host ?? 'every interface'} needs a token (admin.token or BLOTCDN_ADMIN_TOKEN); without one it only listens on loopback`);
    }
    this.metrics = createMetrics(plane);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const e = err instanceof HttpError ? err : new HttpError(500, (err as Error).message);
        if (res.headersSent) return void res.destroy();
        for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
        json(res, e.status, { error: e.message });
      });
    });
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.listen.port, this.options.listen.host, () => {
        this.bound = this.server.address() as AddressInfo;
        resolve(this.bound);
      });
    });
  }

  get address(): AddressInfo | undefined {
    return this.bound;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private authorized(req: IncomingMessage): boolean {
    const token = this.options.token;
    if (!token) return true;
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ') && same(header.slice(7).trim(), token)) return true;
    const fromCookie = cookie(req, COOKIE);
    return fromCookie !== undefined && same(fromCookie, token);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const route = `${req.method} ${url.pathname}`;

    // The dashboard's own pages handle the login themselves.
    if (url.pathname === '/' || url.pathname === '/dashboard' || url.pathname.startsWith('/dashboard/') || route === 'POST /login') {
      return serveDashboard(req, res, url, { authorized: this.authorized(req), token: this.options.token, cookie: COOKIE });
    }
    if (route === 'GET /purge') return this.platformPurge(req, res, url);
    const health = route === 'GET /healthz' || route === 'GET /readyz';
    if (!(health && this.options.publicHealth) && !this.authorized(req)) throw new HttpError(401, 'a bearer token is required (Authorization: Bearer …)', { 'www-authenticate': 'Bearer' });

    switch (route) {
      case 'GET /healthz':
        // Alive: the process answers. Whether it should take traffic is /readyz.
        return json(res, 200, { ok: true, node: this.plane.nodeId });
      case 'GET /readyz': {
        const readiness = this.plane.readiness();
        return json(res, readiness.ready ? 200 : 503, { ...readiness, node: this.plane.nodeId });
      }
      case 'POST /reload': {
        try {
          return json(res, 200, { reloaded: true, ...(await this.plane.reloadFromSource()) });
        } catch (err) {
          throw new HttpError(409, `kept the running config: ${(err as Error).message}`);
        }
      }
      case 'GET /stats':
        return json(res, 200, this.stats());
      case 'GET /origins':
        return json(res, 200, this.plane.originStatus());
      case 'GET /certs':
        return json(res, 200, await this.plane.certs());
      case 'GET /purges':
        return json(res, 200, [...this.plane.purgeLog()].reverse());
      case 'POST /purge':
        return this.purge(req, res);
      case 'POST /warm':
        return this.warm(req, res);
      case 'GET /tasks':
        return json(res, 200, this.plane.taskCounts());
      case 'GET /jobs': {
        const report = await this.plane.jobs();
        if (!report) throw new HttpError(404, 'no publishing queue: add a jobs section (jobs.dir or jobs.redis) to the config');
        return json(res, 200, report);
      }
      case 'GET /metrics': {
        const text = await this.metrics.text();
        res.writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' });
        return void res.end(text);
      }
      default:
        throw new HttpError(404, `no route ${route}`);
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
    };
  }

  /** POST /purge {"url"|"prefix"|"host"|"tag": string | string[], "soft"?: boolean} */
  private async purge(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req)) as Record<string, unknown>;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'expected a JSON object');
    const soft = body.soft === true;
    const jobs: { kind: PurgeKind; value: string }[] = [];
    for (const kind of PURGE_KINDS) {
      const v = body[kind];
      if (v === undefined) continue;
      const values = Array.isArray(v) ? v : [v];
      if (!values.every((x) => typeof x === 'string')) throw new HttpError(400, `"${kind}" must be a string or a list of strings`);
      for (const value of values as string[]) jobs.push({ kind, value });
    }
    if (jobs.length === 0) throw new HttpError(400, 'say what to purge: {"url"|"prefix"|"host"|"tag": "…", "soft": false}');
    if (!this.plane.isReady()) throw new HttpError(503, 'not ready: the disk cache is still being read', { 'retry-after': '1' });
    const purges = [];
    for (const job of jobs) {
      try {
        purges.push(await this.plane.purge({ ...job, soft }));
      } catch (err) {
        throw new HttpError(400, (err as Error).message);
      }
    }
    json(res, 200, { purged: purges.reduce((n, p) => n + p.purged, 0), purges });
  }

  /**
   * The platform's purge call: `GET /purge?host=a&host=b` → `a: N` per line (text/plain). A host
   * purge also covers its www./apex twin. 503 with Retry-After until the cache can count.
   */
  private async platformPurge(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const secret = req.headers['x-blot-purge-token'];
    const bySecret = this.options.purgeToken !== undefined && typeof secret === 'string' && same(secret, this.options.purgeToken);
    if (!bySecret && !this.authorized(req)) {
      throw new HttpError(401, this.options.purgeToken ? 'X-Blot-Purge-Token is missing or wrong' : 'a bearer token is required');
    }
    const hosts = url.searchParams.getAll('host').filter((h) => h.trim() !== '');
    if (hosts.length === 0) throw new HttpError(400, 'give one or more ?host=');
    if (!this.plane.isReady()) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' });
      return void res.end('not ready: the disk cache is still being read\n');
    }
    const lines: string[] = [];
    for (const host of hosts) {
      let n = 0;
      try {
        for (const h of new Set([host, twinHost(host)].filter((x): x is string => x !== undefined))) n += (await this.plane.purge({ kind: 'host', value: h })).purged;
      } catch (err) {
        throw new HttpError(400, (err as Error).message);
      }
      lines.push(`${host}: ${n}`);
    }
    const text = lines.join('\n') + '\n';
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  }

  /** POST /warm {"urls": [...], "concurrency"?: n} → a result per URL, in order. */
  private async warm(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req, 16 * 1024 * 1024)) as { urls?: unknown; concurrency?: unknown };
    if (!Array.isArray(body.urls) || !body.urls.every((u) => typeof u === 'string')) throw new HttpError(400, 'expected {"urls": ["https://…", …]}');
    const max = this.options.warmConcurrency;
    const concurrency = typeof body.concurrency === 'number' && body.concurrency >= 1 ? Math.min(Math.floor(body.concurrency), max) : Math.min(4, max);
    const results = await this.plane.warm(body.urls as string[], concurrency);
    json(res, 200, { results, stored: results.filter((r) => r.result === 'stored').length, errors: results.filter((r) => r.result === 'error').length });
  }
}
