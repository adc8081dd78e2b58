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

/** The `"tls":…,"sni":…` fields: the connection's TLS version and SNI (null on plain HTTP). */
function tlsFields(ctx: RequestContext): string {
  if (ctx.scheme !== 'https') return '"tls":null,"sni":null';
  try {
    const socket = ctx.req.socket as TLSSocket;
    const sni = socket.servername;
    return `"tls":${str(socket.getProtocol?.() ?? undefined)},"sni":${str(typeof sni === 'string' ? sni : undefined)}`;
  } catch {
    return '"tls":null,"sni":null';
  }
}

/** The Cache-Status words without the cache's name ("hit; ttl=30"); our own words, no escaping needed. */
function cacheWords(ctx: RequestContext): string {
  const s = ctx.cacheStatus;
  if (s.hit === true && s.fwd === undefined && s.detail === undefined && s.ttl !== undefined && !s.stored && !s.collapsed) return `hit; ttl=${Math.trunc(s.ttl)}`;
  return formatCacheStatus('', s).slice(2);
}

/** One access-log line (with its newline). */
export function formatAccessLine(ctx: RequestContext): string {
  const h = ctx.req.headers;
  // The method is an HTTP token (the parser refused anything else) and error codes are ours: no escaping.
  return (
    `{"time":"${isoNow()}","id":"${ctx.requestId}","client":${str(ctx.clientIp)},"method":"${ctx.method}","scheme":"${ctx.scheme}"` +
    `,"host":${str(ctx.host || undefined)},"uri":${str(ctx.path + ctx.query)},"proto":"HTTP/${ctx.req.httpVersion}","status":${ctx.status},"bytes":${ctx.bytes}` +
    `,"ms":${ms(performance.now() - ctx.started)},"origin_ms":${ctx.originMs === undefined ? 'null' : ms(ctx.originMs)},"cache":"${cacheWords(ctx)}","outcome":"${ctx.outcome}"` +
    `,"member":${str(ctx.member)},"ua":${str(h['user-agent'])},"referer":${str(h['referer'])},${tlsFields(ctx)}` +
    `,"error":${ctx.error === undefined ? 'null' : `"${ctx.error.code}"`}}\n`
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
