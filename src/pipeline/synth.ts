// synth: the edge's own answers — refusals and failures from the error catalogue — never cached by
// anyone downstream. The body is a short plain-text line naming the code, or the site's own error
// page for that status (a file read at start, or a page of the site as the cache holds it); either
// way Cache-Status names the edge's code for operators. A deny rule's 444 closes the connection
// without an answer.
import { toEdgeError } from '../errors.js';
import { formatCacheStatus } from '../http/cache-status.js';
import { primaryKey } from '../cache/cache-key.js';
import type { RequestContext } from './context.js';

export function synth(ctx: RequestContext): 'done' | Promise<'done'> {
  const error = toEdgeError(ctx.error);
  ctx.error = error;
  ctx.outcome = error.source === 'client' ? 'synth' : 'error';
  ctx.status = error.status;
  const res = ctx.res;
  if (res === undefined) return 'done';
  if (res.headersSent || error.close) {
    // Too late for a status (or none is wanted): cut the response so no one takes it for complete.
    res.destroy();
    return 'done';
  }
  const page = ctx.site?.errorPages?.get(error.status);
  if (page?.path !== undefined) return pageFromCache(ctx, page.path).then((cached) => send(ctx, cached));
  return send(ctx, page?.body ? { body: page.body, contentType: page.contentType! } : undefined);
}

function send(ctx: RequestContext, page: { body: Buffer; contentType: string } | undefined): 'done' {
  const error = ctx.error!;
  const res = ctx.res!;
  if (res.headersSent || res.destroyed) return 'done';
  const body = page?.body ?? Buffer.from(`${error.status} ${error.code}: ${error.message}\n`);
  const headers: string[] = [
    'content-type', page?.contentType ?? 'text/plain; charset=utf-8',
    'content-length', String(body.length),
    'cache-control', 'no-store',
    'cache-status', formatCacheStatus(ctx.edge.cdnId, { ...ctx.cacheStatus, detail: error.code }),
  ];
  for (const [name, value] of Object.entries(error.headers)) headers.push(name, value);
  if (ctx.member && ctx.edge.servedByHeader) headers.push('x-served-by-origin', ctx.member);
  res.writeHead(error.status, headers as unknown as Record<string, string>);
  if (ctx.method === 'HEAD') res.end();
  else {
    ctx.bytes = body.length;
    res.end(body);
  }
  return 'done';
}

/** The site's error page at `path` on this host, in whatever state the cache holds it (stale is fine). */
async function pageFromCache(ctx: RequestContext, path: string): Promise<{ body: Buffer; contentType: string } | undefined> {
  const { cache } = ctx.edge;
  try {
    const object = await cache.get(primaryKey(ctx.scheme, ctx.host, path, ''));
    if (object === undefined || object.meta.status !== 200 || object.body === undefined) return undefined;
    let type = 'text/html; charset=utf-8';
    for (let i = 0; i < object.meta.headers.length; i += 2) if (object.meta.headers[i] === 'content-type') type = object.meta.headers[i + 1]!;
    return { body: object.body, contentType: type };
  } catch {
    return undefined;
  }
}

