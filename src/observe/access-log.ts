// The access log: one JSON line per request (pino), written asynchronously through a buffered
// destination so the request path only formats a small object. Fields use the same words as
// Cache-Status and the metrics.
import pino, { type Logger } from 'pino';
import { formatCacheStatus } from '../http/cache-status.js';
import type { RequestContext } from '../pipeline/context.js';

export type AccessLogTarget = 'stdout' | 'off' | string;

export interface AccessLog {
  write(ctx: RequestContext): void;
  flush(): Promise<void>;
}

export function createAccessLog(target: AccessLogTarget): AccessLog | undefined {
  if (target === 'off') return undefined;
  const destination = pino.destination({ dest: target === 'stdout' ? 1 : target, sync: false, minLength: 4096, mkdir: true });
  const logger: Logger = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' }, destination);
  return {
    write(ctx) {
      logger.info({
        host: ctx.host,
        method: ctx.method,
        path: ctx.path + ctx.query,
        status: ctx.status,
        bytes: ctx.bytes,
        cache: formatCacheStatus('', ctx.cacheStatus).replace(/^; /, ''),
        outcome: ctx.outcome,
        member: ctx.member,
        attempts: ctx.attempts && ctx.attempts.length > 1 ? ctx.attempts.map((a) => `${a.member}:${a.outcome}`) : undefined,
        ms: Math.round((performance.now() - ctx.started) * 100) / 100,
        originMs: ctx.originMs === undefined ? undefined : Math.round(ctx.originMs * 100) / 100,
        error: ctx.error?.code,
        client: ctx.clientIp,
      });
    },
    flush: () =>
      new Promise((resolve) => {
        destination.flush((err) => {
          void err;
          resolve();
        });
      }),
  };
}
