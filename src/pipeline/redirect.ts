// challenge and redirect: the two answers the edge gives on plain HTTP by itself. ACME HTTP-01
// validations get the key authorization for their token (from the certificate store, so any node
// can answer for an order another placed); everything else on a site that wants HTTPS is sent there
// — 301 for GET and HEAD, 308 otherwise so the method and body are kept (RFC 9110 §15.4).
import { EdgeError } from '../errors.js';
import { formatCacheStatus } from '../http/cache-status.js';
import type { RequestContext } from './context.js';

export async function challenge(ctx: RequestContext): Promise<'done'> {
  const answer = await ctx.edge.acme!.answerHttp01(ctx.host, ctx.path);
  if (answer === undefined) throw new EdgeError('not_found', '(no such ACME challenge)');
  ctx.outcome = 'synth';
  ctx.status = 200;
  ctx.bytes = Buffer.byteLength(answer);
  ctx.res?.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(ctx.bytes), 'cache-control': 'no-store' });
  ctx.res?.end(answer);
  return 'done';
}

export function redirect(ctx: RequestContext): 'done' {
  const port = ctx.edge.httpsPort;
  const host = ctx.host.includes(':') && !ctx.host.startsWith('[') ? `[${ctx.host}]` : ctx.host;
  const location = `https://${host}${port === 443 || port === undefined ? '' : `:${port}`}${ctx.path}${ctx.query}`;
  const status = ctx.method === 'GET' || ctx.method === 'HEAD' ? 301 : 308;
  ctx.outcome = 'synth';
  ctx.status = status;
  ctx.res?.writeHead(status, {
    location,
    'content-length': '0',
    'cache-status': formatCacheStatus(ctx.edge.cdnId, { fwd: 'bypass', detail: 'https-redirect' }),
  });
  ctx.res?.end();
  return 'done';
}
