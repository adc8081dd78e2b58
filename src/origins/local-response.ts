// Answers an origin makes up itself instead of fetching: a refused path, a missing file, a method
// it does not serve, a 304 or a 416. They look exactly like fetched responses (a status, lower-case
// headers, a streamed body, one attempt), so an origin group fails over on them and the edge caches
// them by the same rules as anything an HTTP origin says.
import { Readable } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { HeaderMap } from '../http/headers.js';
import type { OriginResponse } from './origin.js';

/** Methods a read-only origin serves, for `Allow` on a 405. */
export const READ_METHODS = 'GET, HEAD';

/** An empty body that ends at once (HEAD, 304, and the like). */
export function emptyBody(): Readable {
  return Readable.from([], { objectMode: false });
}

/**
 * A complete response from this origin. Without `body`, statuses that carry one get a single line
 * (`404 Not Found`) as text/plain, so a client sees why; HEAD, 204 and 304 get none.
 */
export function localResponse(
  member: string,
  started: number,
  method: string,
  status: number,
  headers: HeaderMap = {},
  body?: Readable,
): OriginResponse {
  const out: HeaderMap = { date: new Date().toUTCString(), ...headers };
  if (body === undefined) {
    const bodiless = status === 204 || status === 304 || status < 200;
    if (bodiless) body = emptyBody();
    else {
      const text = Buffer.from(`${status} ${STATUS_CODES[status] ?? ''}\n`);
      out['content-type'] ??= 'text/plain; charset=utf-8';
      out['content-length'] ??= String(text.length);
      body = method === 'HEAD' ? emptyBody() : Readable.from([text], { objectMode: false });
    }
  }
  return { status, headers: out, body, member, attempts: [{ member, outcome: 'ok', ms: performance.now() - started }] };
}
