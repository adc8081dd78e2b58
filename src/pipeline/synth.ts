// synth: the edge's own answers — refusals and failures from the error catalogue — with a short
// plain-text body that says what happened, never cached by anyone downstream.
import { toEdgeError } from '../errors.js';
import { formatCacheStatus } from '../http/cache-status.js';
import type { RequestContext } from './context.js';

export function synth(ctx: RequestContext): 'done' {
  const error = toEdgeError(ctx.error);
  ctx.error = error;
  ctx.outcome = error.source === 'client' ? 'synth' : 'error';
  const res = ctx.res;
  if (res === undefined) return 'done';
  if (res.headersSent) {
    // Too late for a status: cut the response so the client cannot take it for complete.
    res.destroy();
    return 'done';
  }
  const body = `${error.status} ${error.code}: ${error.message}\n`;
  const headers: string[] = [
    'content-type', 'text/plain; charset=utf-8',
    'content-length', String(Buffer.byteLength(body)),
    'cache-control', 'no-store',
    'cache-status', formatCacheStatus(ctx.edge.cdnId, { ...ctx.cacheStatus, detail: error.code }),
  ];
  for (const [name, value] of Object.entries(error.headers)) headers.push(name, value);
  if (ctx.member && ctx.edge.servedByHeader) headers.push('x-served-by-origin', ctx.member);
  ctx.status = error.status;
  res.writeHead(error.status, headers as unknown as Record<string, string>);
  if (ctx.method === 'HEAD') res.end();
  else {
    ctx.bytes = Buffer.byteLength(body);
    res.end(body);
  }
  return 'done';
}
