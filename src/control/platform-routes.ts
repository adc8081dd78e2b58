// The platform's own calls, answered as its proxy answered them, so the Blot app needs no change:
// `GET /purge?host=a&host=b` → `a: N` per line (the www./apex twin included; `no hosts were purged`
// when none is given), `GET /inspect?host=h` → what is cached for h, one key a line, and
// `GET /rehydrate` → `OK` once the per-host index is whole (it is kept whole: nothing is rebuilt). They are served on the
// admin listener and on the purge listeners (`admin.purgeListen`, where the app's
// BLOT_REVERSE_PROXY_URLS point) and authenticate with the purge secret only, in X-Blot-Purge-Token:
// with none configured they are refused, never open. Until the edge can count what it holds they
// answer 503 with Retry-After (`admin.retryAfter`, 30 s as before); the app records the purge and retries.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EdgeError } from '../errors.js';
import { badRequest, sameSecret, sendText } from './admin-http.js';
import type { ControlPlane } from './control-plane.js';
import { twinHost } from './twin-host.js';

export interface PlatformOptions {
  /** The shared secret (admin.purgeToken / BLOTCDN_PURGE_TOKEN); undefined refuses every platform route. */
  purgeToken: string | undefined;
  /** Seconds in Retry-After while the edge is not ready. */
  retryAfterSeconds: number;
}

/** Most hosts in one call (the app sends at most 10). */
const MAX_HOSTS = 100;
export const PLATFORM_PATHS = new Set(['/purge', '/inspect', '/rehydrate']);

export class PlatformRoutes {
  private rehydrating: Promise<void> | undefined;

  constructor(
    private readonly plane: ControlPlane,
    private readonly options: PlatformOptions,
  ) {}

  /** True when `method path` is one of the platform's routes. */
  static handles(method: string | undefined, path: string): boolean {
    return method === 'GET' && PLATFORM_PATHS.has(path);
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    this.authenticate(req);
    if (url.pathname === '/purge') return this.purge(res, url);
    if (url.pathname === '/inspect') return this.inspect(res, url);
    return this.rehydrate(res);
  }

  private authenticate(req: IncomingMessage): void {
    const secret = this.options.purgeToken;
    if (secret === undefined) throw new EdgeError('purge_secret_unset');
    const sent = req.headers['x-blot-purge-token'];
    if (typeof sent !== 'string' || !sameSecret(sent, secret)) throw new EdgeError('purge_secret_wrong');
  }

  private notReady(detail?: string): EdgeError {
    return new EdgeError('not_ready', detail, { headers: { 'retry-after': String(this.options.retryAfterSeconds) } });
  }

  private hosts(url: URL): string[] {
    const hosts = url.searchParams.getAll('host').map((h) => h.trim()).filter((h) => h !== '');
    if (hosts.length > MAX_HOSTS) throw badRequest(`At most ${MAX_HOSTS} hosts a call (got ${hosts.length}).`);
    return hosts;
  }

  private async purge(res: ServerResponse, url: URL): Promise<void> {
    const hosts = this.hosts(url);
    if (!this.plane.isReady()) throw this.notReady();
    const lines: string[] = [];
    for (const host of hosts) {
      let n = 0;
      for (const h of new Set([host, twinHost(host)].filter((x): x is string => x !== undefined))) {
        try {
          n += (await this.plane.purge({ kind: 'host', value: h })).purged;
        } catch (err) {
          throw badRequest((err as Error).message);
        }
      }
      lines.push(`${host}: ${n}`);
    }
    sendText(res, 200, lines.length === 0 ? 'no hosts were purged\n' : `${lines.join('\n')}\n`);
  }

  private async inspect(res: ServerResponse, url: URL): Promise<void> {
    const [host, ...more] = this.hosts(url);
    if (host === undefined || more.length > 0) throw badRequest('Give one ?host= to inspect.');
    if (!this.plane.isReady()) throw this.notReady();
    let keys: string[];
    try {
      keys = await this.plane.inspect(host);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    sendText(res, 200, keys.length === 0 ? '' : `${keys.join('\n')}\n`);
  }

  private async rehydrate(res: ServerResponse): Promise<void> {
    if (!this.plane.isReady()) throw this.notReady();
    if (this.rehydrating) throw this.notReady('(a rehydrate is already running)');
    this.rehydrating = this.plane.rehydrate().finally(() => (this.rehydrating = undefined));
    await this.rehydrating;
    sendText(res, 200, 'OK\n');
  }
}
