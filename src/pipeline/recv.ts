// recv: make sense of the request before anything else happens. Normalise the target and Host,
// refuse what this edge does not serve (unknown host: 421, never forwarded) and requests that went
// round in a loop, pick the site's behavior for the path, and decide: look it up, or pass it on.
import { EdgeError } from '../errors.js';
import { countLoopEntries } from '../http/headers.js';
import { filterQuery } from '../cache/cache-key.js';
import { clientDirectives } from '../cache/policy.js';
import { normaliseHost } from '../sites/host.js';
import { normaliseRequestPath } from '../http/request-target.js';
import { behaviorFor, type Site } from '../sites/site-table.js';
import type { TLSSocket } from 'node:tls';
import type { RequestContext } from './context.js';
import { checkDeny, checkRateLimit } from './admission.js';
import { peerPurgedAt } from '../cluster/shield.js';
import type { Socket } from 'node:net';

const CACHEABLE_METHODS = new Set(['GET', 'HEAD']);

const DEFAULT_PORT = { http: 80, https: 443 } as const;

/**
 * Splits the request-target into host, path and query (RFC 9112 §3.2), each in its one canonical
 * spelling: the host lower case without port or trailing dot, the path normalised (see
 * request-target.ts). What the origin is sent is built from these — never from the spelling the
 * client chose — so a cached response always answers the request its key names.
 */
function parseTarget(ctx: RequestContext): void {
  const url = ctx.req.url ?? '';
  if (url.length > ctx.edge.maxTargetLength) throw new EdgeError('uri_too_long', `(${url.length} bytes; at most ${ctx.edge.maxTargetLength})`);
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
  ctx.host = host;
  // The origin hears the host the key names, with the port this listener really has when it is
  // not the scheme's default (a client's `:1337` or `BLOG.TEST.` never reaches it).
  const port = (ctx.req.socket as { localPort?: number } | undefined)?.localPort ?? ctx.edge.listenerPort(ctx.scheme);
  ctx.authority = port === undefined || port === DEFAULT_PORT[ctx.scheme] ? host : `${host}:${port}`;
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  const path = normaliseRequestPath(q < 0 ? target : target.slice(0, q));
  if (!path.ok) throw new EdgeError('bad_request', path.reason);
  ctx.path = path.path;
  ctx.query = q < 0 ? '' : target.slice(q);
}

/** HTTP/1.0 and 1.1 on the HTTP/1 listener; anything else claiming to be HTTP is not forwarded (RFC 9110 §15.6.6). */
function checkVersion(ctx: RequestContext): void {
  if ((ctx.req as { stream?: unknown }).stream !== undefined) return; // a real HTTP/2 stream (HTTPS listener)
  if (ctx.req.httpVersionMajor !== 1 || ctx.req.httpVersionMinor > 1) throw new EdgeError('http_version', `(HTTP/${ctx.req.httpVersion})`);
}

export type RecvNext = 'hash' | 'pass' | 'challenge' | 'redirect';

export function recv(ctx: RequestContext): RecvNext | Promise<RecvNext> {
  checkVersion(ctx);
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
  ctx.purgedAt = peerPurgedAt(ctx.req.headers, ctx.req.socket as Socket | undefined, edge.shieldPeers);
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
