// One catalogue of everything the edge can refuse or fail with: a code, who caused it, the status a
// client sees and a plain sentence. The `synth` step turns an EdgeError into a response; logs and
// metrics use the same code, so an operator can grep one word across all three.

export type ErrorSource = 'client' | 'origin' | 'internal';

interface ErrorSpec {
  status: number;
  source: ErrorSource;
  message: string;
}

export const ERRORS = {
  bad_request: { status: 400, source: 'client', message: 'The request is malformed.' },
  unknown_host: {
    status: 421,
    source: 'client',
    message: 'This edge does not serve the requested host.',
  },
  missing_host: { status: 400, source: 'client', message: 'The request has no Host.' },
  uri_too_long: { status: 414, source: 'client', message: 'The request-target is too long.' },
  headers_too_large: { status: 431, source: 'client', message: 'The request headers are too large.' },
  request_timeout: { status: 408, source: 'client', message: 'The request took too long to arrive.' },
  http_version: { status: 505, source: 'client', message: 'Only HTTP/1.0, HTTP/1.1 and HTTP/2 are spoken here.' },
  misdirected: {
    status: 421,
    source: 'client',
    message: 'This connection was set up for another host; open a new one for this host.',
  },
  not_found: { status: 404, source: 'client', message: 'Nothing is here.' },
  loop_detected: {
    status: 508,
    source: 'client',
    message: 'The request has already passed through this edge (CDN-Loop).',
  },
  denied: {
    status: 403,
    source: 'client',
    message: 'This request is refused here.',
  },
  rate_limited: {
    status: 429,
    source: 'client',
    message: 'Too many requests; slow down.',
  },
  not_cached: {
    status: 504,
    source: 'client',
    message: 'The response is not in the cache (only-if-cached).',
  },
  origin_connect: {
    status: 502,
    source: 'origin',
    message: 'The origin could not be reached.',
  },
  origin_timeout: {
    status: 504,
    source: 'origin',
    message: 'The origin did not answer in time.',
  },
  origin_protocol: {
    status: 502,
    source: 'origin',
    message: 'The origin sent an invalid response.',
  },
  origin_unavailable: {
    status: 503,
    source: 'origin',
    message: 'Every origin of this site is marked down; try again shortly.',
  },
  origin_body: {
    status: 502,
    source: 'origin',
    message: 'The origin closed the connection before the response was complete.',
  },
  client_gone: {
    status: 499,
    source: 'client',
    message: 'The client went away before it was answered.',
  },
  store_failed: {
    status: 500,
    source: 'internal',
    message: 'The cache could not keep an object (disk full, I/O error); it was served, not stored.',
  },
  internal: { status: 500, source: 'internal', message: 'The edge failed to handle the request.' },
  // The disk cache's own events (logged and counted; never a client's answer).
  disk_cache_locked: {
    status: 500,
    source: 'internal',
    message: 'The cache folder is in use by another edge process.',
  },
  disk_cache_lost: {
    status: 500,
    source: 'internal',
    message: 'The cache folder was deleted while the edge ran; it was recreated, empty.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export class EdgeError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly source: ErrorSource;
  /** Headers the synthetic response must carry (for example `Retry-After`). */
  readonly headers: Record<string, string>;
  /** Close the connection without an answer (a deny rule's 444, as nginx's). */
  readonly close: boolean;

  constructor(
    code: ErrorCode,
    detail?: string,
    options?: { cause?: unknown; headers?: Record<string, string>; status?: number; close?: boolean },
  ) {
    const spec = ERRORS[code];
    super(detail ? `${spec.message} ${detail}` : spec.message, { cause: options?.cause });
    this.name = 'EdgeError';
    this.code = code;
    // A configured status (a deny rule's 404, say) keeps the code that explains it.
    this.status = options?.status ?? spec.status;
    this.source = spec.source;
    this.headers = options?.headers ?? {};
    this.close = options?.close ?? false;
  }
}

/** Any thrown value as an EdgeError; unknown failures become `internal`. */
export function toEdgeError(err: unknown): EdgeError {
  if (err instanceof EdgeError) return err;
  return new EdgeError('internal', undefined, { cause: err });
}
