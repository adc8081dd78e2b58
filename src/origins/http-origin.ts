// An HTTP(S) server as an origin, on an undici Pool: kept-alive connections, and separate connect,
// header and body timeouts so a slow origin is told apart from a dead one. The Host the client sent
// is kept by default (Blot picks the blog from it); a member can set its own instead.
import { PURGED_AT } from '../cluster/shield.js';
import { Client, Pool, errors as undiciErrors } from 'undici';
import type { Readable } from 'node:stream';
import { EdgeError, type ErrorCode } from '../errors.js';
import type { OriginMemberConfig } from '../config/schema.js';
import type { Origin, OriginRequest, OriginResponse } from './origin.js';

/** Which catalogue entry an undici or socket error belongs to. */
export function classifyOriginError(err: unknown): ErrorCode {
  if (err instanceof EdgeError) return err.code;
  // Bytes that are not an HTTP/1.1 response (bare LF, a broken status line…), and the interim
  // answers undici refuses (an unasked 100: "bad response", an unasked 101: "bad upgrade"): the
  // origin was reached and answered wrongly.
  if (err instanceof undiciErrors.HTTPParserError) return 'origin_protocol';
  const code = (err as { code?: string } | null)?.code ?? '';
  if (code === 'UND_ERR_SOCKET' && ['bad response', 'bad upgrade'].includes((err as Error).message)) return 'origin_protocol';
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return 'origin_timeout';
    case 'UND_ERR_HEADERS_OVERFLOW':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
    case 'UND_ERR_INFO':
      return 'origin_protocol';
    default:
      if (code.startsWith('HPE_')) return 'origin_protocol';
      return 'origin_connect';
  }
}

/**
 * A kept-alive connection the origin closed (at its own idle timeout) fails the next request sent on
 * it before any response byte: `other side closed` on a socket that had already read a response,
 * or a reset. The request never reached the application, so an idempotent one is sent again, once,
 * on a fresh connection (RFC 9110 §9.2.2), and the member is not blamed for it.
 */
function isStaleConnection(err: unknown): boolean {
  const e = err as { code?: string; socket?: { bytesRead?: number } } | null;
  if (e?.code === 'UND_ERR_SOCKET') return (e.socket?.bytesRead ?? 0) > 0;
  return e?.code === 'ECONNRESET' || e?.code === 'EPIPE';
}

/**
 * How an HTTP/1.1 response body ends (RFC 9112 §6.3): by its length or last chunk, or only when the
 * origin closes the connection — which undici cannot tell from a reset, so such a body may be cut
 * off without anyone knowing. A transfer coding other than chunked last is not one we can read.
 */
export function bodyFraming(method: string, status: number, headers: Record<string, string | string[] | undefined>): 'framed' | 'close' | 'unknown-coding' {
  const te = headers['transfer-encoding'];
  if (te !== undefined) {
    const codings = (Array.isArray(te) ? te.join(',') : te).split(',').map((c) => c.trim().toLowerCase());
    return codings.at(-1) === 'chunked' ? 'framed' : 'unknown-coding';
  }
  if (headers['content-length'] !== undefined || method === 'HEAD' || status < 200 || status === 204 || status === 304) return 'framed';
  return 'close';
}

export class HttpOrigin implements Origin {
  readonly name: string;
  private readonly pool: Pool;
  private readonly hostOverride: string | undefined;
  /** The member is another edge (the shield tier). */
  private readonly shield: boolean;
  private readonly pathPrefix: string;
  private readonly poolOptions: Pool.Options;
  private readonly origin: string;
  private readonly headersTimeout: number;
  /** Requests sent again on a fresh connection after a kept-alive one turned out closed. */
  retries = 0;

  constructor(config: OriginMemberConfig) {
    this.name = config.name ?? config.url.host;
    this.hostOverride = config.host === 'keep' ? undefined : config.host;
    this.shield = config.shield === true;
    const basePath = config.url.pathname === '/' ? '' : config.url.pathname.replace(/\/$/, '');
    this.pathPrefix = basePath + config.pathPrefix;
    this.poolOptions = {
      connections: config.connections,
      connect: { timeout: config.connectTimeout, rejectUnauthorized: !config.insecure },
      headersTimeout: config.headersTimeout,
      bodyTimeout: config.bodyTimeout,
      keepAliveTimeout: 30_000,
    };
    this.headersTimeout = config.headersTimeout;
    this.origin = config.url.origin;
    this.pool = new Pool(this.origin, this.poolOptions);
  }

  async fetch(req: OriginRequest, signal?: AbortSignal): Promise<OriginResponse> {
    const started = performance.now();
    let headers = this.hostOverride ? { ...req.headers, host: this.hostOverride } : req.headers;
    // When this node last purged the URL is for a shield (another edge) only.
    if (!this.shield && headers[PURGED_AT] !== undefined) {
      headers = { ...headers };
      delete headers[PURGED_AT];
    }
    // undici's headersTimeout starts again at every interim response: an origin sending 103s or
    // 102s forever would hold the request forever. This deadline runs once, until the final head.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new EdgeError('origin_timeout', `(${this.name}: no final response within ${this.headersTimeout} ms)`)), this.headersTimeout);
    const options = {
      method: req.method as 'GET',
      path: this.pathPrefix + req.path,
      headers: headers as Record<string, string | string[]>,
      body: req.body ?? null,
      signal: signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal,
      // 103 Early Hints go on to the client; other interim responses stay here (RFC 9110 §15.2).
      onInfo: req.onInfo ? (info: { statusCode: number; headers: Record<string, string | string[] | undefined> }) => info.statusCode === 103 && req.onInfo!(info.statusCode, info.headers) : undefined,
    };
    try {
      let res: Awaited<ReturnType<Pool['request']>>;
      try {
        // A group retired by a reload has closed its members' pools, but requests that started
        // with it still finish with it: on a connection of their own.
        res = this.closing ? await this.once(options) : await this.pool.request(options);
      } catch (err) {
        const idempotent = (req.method === 'GET' || req.method === 'HEAD') && options.body === null;
        if (!idempotent || !isStaleConnection(err) || options.signal.aborted) throw err;
        this.retries++;
        res = await this.once(options);
      }
      clearTimeout(timer);
      const framing = bodyFraming(req.method, res.statusCode, res.headers);
      if (framing === 'unknown-coding') {
        res.body.destroy();
        throw new EdgeError('origin_protocol', `(${this.name}: Transfer-Encoding ${String(res.headers['transfer-encoding'])} does not end in chunked)`);
      }
      return {
        status: res.statusCode,
        headers: res.headers,
        body: res.body as unknown as Readable,
        member: this.name,
        attempts: [{ member: this.name, outcome: 'ok', ms: performance.now() - started }],
        closeDelimited: framing === 'close' || undefined,
      };
    } catch (err) {
      clearTimeout(timer);
      if (err instanceof undiciErrors.RequestAbortedError) throw err;
      if (deadline.signal.aborted && !signal?.aborted) err = deadline.signal.reason;
      throw new EdgeError(classifyOriginError(err), `(${this.name}: ${(err as Error).message})`, { cause: err });
    }
  }

  /** One request on a connection of its own, closed once the response body is done with. */
  private async once(options: Parameters<Pool['request']>[0]): Promise<Awaited<ReturnType<Pool['request']>>> {
    const { connections: _, ...clientOptions } = this.poolOptions;
    const client = new Client(this.origin, { ...clientOptions, pipelining: 1 });
    try {
      const res = await client.request(options);
      res.body.once('close', () => void client.close().catch(() => {}));
      return res;
    } catch (err) {
      void client.destroy().catch(() => {});
      throw err;
    }
  }

  private closing: Promise<void> | undefined;

  close(): Promise<void> {
    this.closing ??= this.pool.close();
    return this.closing;
  }
}
