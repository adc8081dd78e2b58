// The access log: one JSON line per request with the fields operators grep for (Caddy's and
// nginx's JSON logs are the model): time, request id, client (trusted-proxy aware), method,
// scheme, host, path and query, protocol, status, bytes, duration, the origin's time to first byte,
// cache status, origin member, user agent, referer, TLS version and SNI. The line is built as one
// string — strings a client controls go through JSON.stringify, the rest is known safe — and handed
// to a LogFile that writes in batches, so a hit pays for a template string and an array push.
import type { TLSSocket } from 'node:tls';
import { formatCacheStatus } from '../http/cache-status.js';
import type { RequestContext } from '../pipeline/context.js';
import { LogFile } from './log-file.js';

export type AccessLogTarget = 'stdout' | 'off' | string;

export interface AccessLog {
  write(ctx: RequestContext): void;
  flush(): Promise<void>;
  /** Reopens the file (SIGUSR1, after rotation). */
  reopen(): Promise<void>;
  close(): Promise<void>;
  /** Lines lost because the destination did not keep up. */
  readonly dropped: number;
}

/** A client-controlled value as a JSON string (quotes included), or null. */
const str = (v: string | string[] | undefined): string => (v === undefined ? 'null' : JSON.stringify(Array.isArray(v) ? v.join(', ') : v));
const ms = (v: number) => Math.round(v * 100) / 100;

/** The ISO time, made once per millisecond (a busy edge logs many lines in one). */
let lastMs = 0;
let lastIso = '';
function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

/** The TLS facts of a request's connection: version and SNI (undefined on plain HTTP). */
function tlsOf(ctx: RequestContext): { version: string | undefined; sni: string | undefined } {
  if (ctx.scheme !== 'https') return { version: undefined, sni: undefined };
  try {
    const socket = ctx.req.socket as TLSSocket;
    const sni = socket.servername;
    return { version: socket.getProtocol?.() ?? undefined, sni: typeof sni === 'string' ? sni : undefined };
  } catch {
    return { version: undefined, sni: undefined };
  }
}

/** One access-log line (with its newline). */
export function formatAccessLine(ctx: RequestContext): string {
  const h = ctx.req.headers;
  const tls = tlsOf(ctx);
  const cache = formatCacheStatus('', ctx.cacheStatus).replace(/^; /, '');
  return (
    `{"time":"${isoNow()}","id":"${ctx.requestId}","client":${str(ctx.clientIp)},"method":${str(ctx.method)},"scheme":"${ctx.scheme}"` +
    `,"host":${str(ctx.host || undefined)},"uri":${str(ctx.path + ctx.query)},"proto":"HTTP/${ctx.req.httpVersion}","status":${ctx.status},"bytes":${ctx.bytes}` +
    `,"ms":${ms(performance.now() - ctx.started)},"origin_ms":${ctx.originMs === undefined ? 'null' : ms(ctx.originMs)},"cache":${str(cache)},"outcome":"${ctx.outcome}"` +
    `,"member":${str(ctx.member)},"ua":${str(h['user-agent'])},"referer":${str(h['referer'])},"tls":${str(tls.version)},"sni":${str(tls.sni)}` +
    `,"error":${str(ctx.error?.code)}}\n`
  );
}

export function createAccessLog(target: AccessLogTarget): AccessLog | undefined {
  if (target === 'off') return undefined;
  const file = new LogFile(target);
  return {
    write: (ctx) => file.append(formatAccessLine(ctx)),
    flush: () => file.flush(),
    reopen: () => file.reopen(),
    close: () => file.close(),
    get dropped() {
      return file.dropped;
    },
  };
}
