// An HTTP(S) server as an origin, on an undici Pool: kept-alive connections, and separate connect,
// header and body timeouts so a slow origin is told apart from a dead one. The Host the client sent
// is kept by default (Blot picks the blog from it); a member can set its own instead.
import { Pool, errors as undiciErrors } from 'undici';
import type { Readable } from 'node:stream';
import { EdgeError, type ErrorCode } from '../errors.js';
import type { OriginMemberConfig } from '../config/schema.js';
import type { Origin, OriginRequest, OriginResponse } from './origin.js';

/** Which catalogue entry an undici or socket error belongs to. */
export function classifyOriginError(err: unknown): ErrorCode {
  if (err instanceof EdgeError) return err.code;
  const code = (err as { code?: string } | null)?.code ?? '';
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

export class HttpOrigin implements Origin {
  readonly name: string;
  private readonly pool: Pool;
  private readonly hostOverride: string | undefined;
  private readonly pathPrefix: string;

  constructor(config: OriginMemberConfig) {
    this.name = config.name ?? config.url.host;
    this.hostOverride = config.host === 'keep' ? undefined : config.host;
    const basePath = config.url.pathname === '/' ? '' : config.url.pathname.replace(/\/$/, '');
    this.pathPrefix = basePath + config.pathPrefix;
    this.pool = new Pool(config.url.origin, {
      connections: config.connections,
      connect: { timeout: config.connectTimeout, rejectUnauthorized: !config.insecure },
      headersTimeout: config.headersTimeout,
      bodyTimeout: config.bodyTimeout,
      keepAliveTimeout: 30_000,
    });
  }

  async fetch(req: OriginRequest, signal?: AbortSignal): Promise<OriginResponse> {
    const started = performance.now();
    const headers = this.hostOverride ? { ...req.headers, host: this.hostOverride } : req.headers;
    try {
      const res = await this.pool.request({
        method: req.method as 'GET',
        path: this.pathPrefix + req.path,
        headers: headers as Record<string, string | string[]>,
        body: req.body ?? null,
        signal,
      });
      return {
        status: res.statusCode,
        headers: res.headers,
        body: res.body as unknown as Readable,
        member: this.name,
        attempts: [{ member: this.name, outcome: 'ok', ms: performance.now() - started }],
      };
    } catch (err) {
      if (err instanceof undiciErrors.RequestAbortedError) throw err;
      throw new EdgeError(classifyOriginError(err), `(${this.name}: ${(err as Error).message})`, { cause: err });
    }
  }

  private closing: Promise<void> | undefined;

  close(): Promise<void> {
    this.closing ??= this.pool.close();
    return this.closing;
  }
}
