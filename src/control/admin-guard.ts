// What keeps a web page from using the admin API. Any site a browser visits can make it send
// requests to 127.0.0.1, and a page whose own name an attacker points at our address (DNS
// rebinding) can even read the answers. So, before any route runs: the Host must be an IP address,
// localhost or a configured name (a rebinding page's Host is its own name); an Origin must be the
// listener's own; a cross-site fetch is refused; and bodies must be JSON — a form or text/plain
// POST needs no CORS preflight, a JSON one does, and we answer no preflight.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { EdgeError } from '../errors.js';
import { normaliseHost } from '../sites/host.js';

export interface GuardOptions {
  /** Names the listener answers to besides IP addresses and localhost (lower case, no port). */
  allowedHosts: ReadonlySet<string>;
}

/** True for an IP literal, `localhost`, `*.localhost` or a configured name (Vite's rule). */
export function hostAllowed(hostHeader: string | undefined, allowed: ReadonlySet<string>): boolean {
  const host = normaliseHost(hostHeader);
  if (host === undefined) return false;
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  if (isIP(bare) !== 0) return true;
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return allowed.has(host);
}

/** True when `origin` (an Origin field) is the origin of a plain-HTTP listener reached as `hostHeader`. */
export function sameOrigin(origin: string, hostHeader: string | undefined): boolean {
  if (hostHeader === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // `null` (sandboxed frames, redirects) and anything malformed
  }
  if (url.protocol !== 'http:' || url.pathname !== '/' || url.username || url.password) return false;
  // URL drops the scheme's default port, as a browser's Origin does; the Host may still carry it.
  return url.host === hostHeader.toLowerCase().replace(/:80$/, '');
}

/** The media type of a Content-Type field, lower case, without parameters. */
export function mediaType(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type ? type : undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Throws the EdgeError that refuses `req`, or returns when it may go on to its route. `form` marks
 * the one route that takes a form body (the dashboard's sign-in, checked by its Origin).
 */
export function guardRequest(req: IncomingMessage, options: GuardOptions & { checkHost: boolean; form?: boolean }): void {
  const host = req.headers.host;
  if (options.checkHost && !hostAllowed(host, options.allowedHosts)) throw new EdgeError('admin_host', `(Host: ${JSON.stringify(host ?? '')})`);
  const origin = req.headers.origin;
  if (origin !== undefined && !sameOrigin(origin, host)) throw new EdgeError('admin_cross_origin', `(Origin: ${JSON.stringify(origin)})`);
  const method = req.method ?? 'GET';
  // Browsers say where a request comes from even when they send no Origin (a GET from an <img>).
  // A top-level navigation to a page is harmless (the SameSite=Strict cookie stays home); the rest is not.
  const site = req.headers['sec-fetch-site'];
  if ((site === 'cross-site' || site === 'same-site') && !(SAFE_METHODS.has(method) && req.headers['sec-fetch-mode'] === 'navigate')) {
    throw new EdgeError('admin_cross_origin', `(Sec-Fetch-Site: ${site})`);
  }
  if (SAFE_METHODS.has(method) || method === 'OPTIONS') return;
  const type = mediaType(req.headers['content-type']);
  if (options.form ? type === 'application/x-www-form-urlencoded' : type === 'application/json') return;
  throw new EdgeError('admin_content_type', `(Content-Type: ${JSON.stringify(req.headers['content-type'] ?? '')})`);
}
