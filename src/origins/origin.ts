// What every origin is to the edge: something that answers a request with a status, headers and a
// streamed body. HTTP servers, S3 buckets, folders on disk and whole origin groups all fit behind
// this one interface, so the fetch step never needs to know which it is talking to.
import type { Readable } from 'node:stream';
import type { HeaderMap } from '../http/headers.js';

export interface OriginRequest {
  method: string;
  /** Path and query, as they go to the origin (before a member's own path prefix). */
  path: string;
  /** End-to-end request headers, `host` included (members may replace it). */
  headers: HeaderMap;
  /** Request body, streamed through for methods that carry one. */
  body?: Readable | null;
  /** Receives 103 Early Hints the origin sends before its final answer (forwarded to the client). */
  onInfo?: (status: number, headers: HeaderMap) => void;
}

export interface OriginAttempt {
  member: string;
  /** `ok`, a status that triggered failover, or the error code that made the member fail. */
  outcome: string;
  ms: number;
}

export interface OriginResponse {
  status: number;
  /** Lower-case names, as received (hop-by-hop fields are removed later, by the edge). */
  headers: HeaderMap;
  body: Readable;
  /** The member that produced this response. */
  member: string;
  /** Every member tried for this request, in order (just one without a group). */
  attempts: OriginAttempt[];
  /**
   * The body ends only when the origin closes the connection (no length, not chunked): its end
   * cannot be told from a reset, so it is served but never stored (RFC 9112 §6.3, item 8).
   */
  closeDelimited?: boolean;
}

export interface Origin {
  readonly name: string;
  fetch(req: OriginRequest, signal?: AbortSignal): Promise<OriginResponse>;
  close(): Promise<void>;
}

/**
 * Lets go of a body nobody will read: a small one is drained so the connection can be reused, a
 * large one cut off. Errors from it are expected at this point and ignored.
 */
export function discardBody(body: Readable): void {
  body.on('error', () => {});
  const dump = (body as Readable & { dump?: (o: { limit: number }) => Promise<void> }).dump;
  if (typeof dump === 'function') dump.call(body, { limit: 128 * 1024 }).catch(() => {});
  else body.resume();
}
