// recv: make sense of the request before anything else happens. Normalise the target and Host,
// refuse what this edge does not serve (unknown host: 421, never forwarded) and requests that went
// round in a loop, pick the site's behavior for the path, and decide: look it up, or pass it on.
import { EdgeError } from '../errors.js';
import { countLoopEntries } from '../http/headers.js';
import { filterQuery } from '../cache/cache-key.js';
import { clientDirectives } from '../cache/policy.js';
import { normaliseHost } from '../sites/host.js';
import { behaviorFor, type Site } from '../sites/site-table.js';
import type { TLSSocket } from 'node:tls';
import type { RequestContext } from './context.js';
import { checkDeny, checkRateLimit } from './admission.js';

const CACHEABLE_METHODS = new Set(['GET', 'HEAD']);

/** Splits the request-target into authority, path and query (RFC 9112 §3.2). */
function parseTarget(ctx: RequestContext): void {
  const url = ctx.req.url ?? '';
  const headers = ctx.req.headers;
  let authority = (headers[':authority'] as string | undefined) ?? headers.host;
  let target = url;
  if (url.charCodeAt(0) !== 47 /* / */) {
    // absolute-form: its authority replaces Host (RFC 9112 §3.2.2)
    const m = /^https?:\/\/([^/?#]+)([^#]*)/i.exec(url);
    if (!m) throw new EdgeError('bad_request', 'The request-target must be a path.');
    authority = m[1];
    target = m[2] || '/';
  }
  if (authority === undefined || authority === '') throw new EdgeError('missing_host');
  const host = normaliseHost(authority);
  if (host === undefined) throw new EdgeError('bad_request', 'The Host is not a valid host name.');
  ctx.authority = authority;
  ctx.host = host;
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  ctx.path = q < 0 ? target : target.slice(0, q);
  ctx.query = q < 0 ? '' : target.slice(q);
  if (ctx.path.length === 0 || ctx.path.charCodeAt(0) !== 47) throw new EdgeError('bad_request', 'The path must start with "/".');
}

export type RecvNext = 'hash' | 'pass' | 'challenge' | 'redirect';

export function recv(ctx: RequestContext): RecvNext | Promise<RecvNext> {
  parseTarget(ctx);
  const { edge } = ctx;
  // ACME HTTP-01 answers come before anything else: they are the edge's own, never forwarded.
  if (edge.acme !== undefined && ctx.scheme === 'http' && ctx.path.startsWith(ACME_PREFIX)) return 'challenge';
  if (ctx.scheme === 'https') {
    // A connection made for one name must not be used for another (RFC 9110 §15.5.20): the
    // client opens a new connection, and so gets the right certificate.
    const servername = (ctx.req.socket as TLSSocket | undefined)?.servername;
    if (typeof servername === 'string' && servername !== '' && servername.toLowerCase() !== ctx.host) throw new EdgeError('misdirected', `(${servername} ≠ ${ctx.host})`);
  }
  const site = edge.sites.resolve(ctx.host);
  if (site instanceof Promise) return site.then((s) => chooseBehavior(ctx, s));
  return chooseBehavior(ctx, site);
}

const ACME_PREFIX = '/.well-known/acme-challenge/';

function chooseBehavior(ctx: RequestContext, site: Site | undefined): RecvNext {
  const { edge } = ctx;
  if (site === undefined) throw new EdgeError('unknown_host', `(${ctx.host})`);
  ctx.site = site;

  // RFC 8586: a request that already went through this node, or through too many of our nodes.
  const loop = ctx.req.headers['cdn-loop'];
  if (loop !== undefined) {
    const { hops, sameNode } = countLoopEntries(loop, edge.cdnId, edge.nodeId);
    if (sameNode || hops >= edge.maxHops) throw new EdgeError('loop_detected');
  }
  checkDeny(ctx);
  checkRateLimit(ctx, false);
  if (ctx.scheme === 'http' && edge.httpsPort !== undefined && site.redirectToHttps) return 'redirect';

  const behavior = behaviorFor(site, ctx.path);
  ctx.behavior = behavior;
  ctx.query = filterQuery(ctx.query, behavior.query);

  if (!CACHEABLE_METHODS.has(ctx.method)) {
    ctx.cacheStatus.fwd = 'method';
    return 'pass';
  }
  if (behavior.bypass) {
    ctx.cacheStatus.fwd = 'bypass';
    return 'pass';
  }
  ctx.reqDirectives = clientDirectives(ctx.req.headers, behavior.clientCacheControl);
  return 'hash';
}
