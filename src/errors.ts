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

  // The admin API and the platform's purge listener (answered as JSON `{code, message}`).
  admin_unauthorized: { status: 401, source: 'client', message: 'A bearer token is required (Authorization: Bearer …).' },
  admin_host: {
    status: 403,
    source: 'client',
    message: 'The admin API does not answer to this Host (an IP address, localhost or a name in admin.allowedHosts).',
  },
  admin_cross_origin: { status: 403, source: 'client', message: 'Requests from another web origin are refused by the admin API.' },
  admin_content_type: { status: 415, source: 'client', message: 'Send request bodies as application/json.' },
  admin_bad_request: { status: 400, source: 'client', message: 'The request is not one the admin API can carry out.' },
  admin_too_large: { status: 413, source: 'client', message: 'The request body is too large.' },
  admin_not_found: { status: 404, source: 'client', message: 'No such route.' },
  admin_no_jobs: { status: 404, source: 'client', message: 'No publishing queue: add a jobs section (jobs.dir or jobs.redis) to the config.' },
  admin_reload_refused: { status: 409, source: 'client', message: 'The running config was kept: the file could not be applied.' },
  purge_secret_unset: {
    status: 403,
    source: 'client',
    message: 'No purge secret is configured (admin.purgeToken or BLOTCDN_PURGE_TOKEN), so the platform routes are off.',
  },
  purge_secret_wrong: { status: 403, source: 'client', message: 'X-Blot-Purge-Token is missing or wrong.' },
  not_ready: { status: 503, source: 'internal', message: 'The cache index is being rebuilt; retry later.' },
  // Worker processes' events (`blotcdn start --workers N`; logged by the primary, never a client's answer).
  worker_exited: {
    status: 500,
    source: 'internal',
    message: 'A worker process exited unexpectedly; it is being restarted.',
  },
  worker_unresponsive: {
    status: 500,
    source: 'internal',
    message: 'A worker process did not answer the primary in time.',
  },
  worker_cache_reset: {
    status: 500,
    source: 'internal',
    message: "A restarted worker missed more purges than the primary keeps; its disk folder was emptied.",
  },
  // Cluster mode's events (logged and counted; never a client's answer).
  redis_unavailable: {
    status: 503,
    source: 'internal',
    message: 'Redis cannot be reached; this node serves from its cache and queues its purges until it returns.',
  },
  redis_back: {
    status: 200,
    source: 'internal',
    message: 'Redis is reachable again; queued purges are sent and missed ones read.',
  },
  purge_queued: {
    status: 503,
    source: 'internal',
    message: 'A purge was applied here and queued for the other nodes until Redis returns.',
  },
  purge_queue_full: {
    status: 503,
    source: 'internal',
    message: 'A purge was applied here only: too many purges already wait for Redis to return.',
  },
  purge_catch_up_gap: {
    status: 500,
    source: 'internal',
    message: 'This node missed purges it can no longer read; nothing it cached before is served again.',
  },
  purge_apply_failed: {
    status: 500,
    source: 'internal',
    message: "Another node's purge could not be applied here; it was not acknowledged.",
  },
  purge_queue_damaged: {
    status: 500,
    source: 'internal',
    message: 'Lines of the file of purges waiting for Redis could not be read (a write cut short); they were dropped.',
  },
  purge_queue_unsaved: {
    status: 500,
    source: 'internal',
    message: 'A purge waiting for Redis could not be written beside the disk cache; it is kept in memory only.',
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
