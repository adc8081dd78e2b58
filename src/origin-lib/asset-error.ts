// The one error type of `blotcdn/origin`. Its `code` is data (a string union) so callers can branch
// on it — a template engine may show `unknown_asset` to the template's author and treat
// `invalid_blog_id` as a bug — and the message says what was wrong and what is accepted.

export type AssetErrorCode =
  /** Not `blog_` + 32 lowercase hex, nor a GUID. */
  | 'invalid_blog_id'
  /** Empty, `..`, a control character, a backslash, a trailing slash, or too long. */
  | 'invalid_path'
  /** The path is not in the manifest (only with `missing: 'throw'`). */
  | 'unknown_asset'
  /** Not a host name (with an optional port), or a scheme other than https. */
  | 'invalid_cdn_host'
  /** Not 20 lowercase hex characters. */
  | 'invalid_cache_id'
  /** The manifest's storage failed or is closed. */
  | 'manifest_unavailable'
  /** publish() was given something that is not a post (the message names the field). */
  | 'invalid_post'
  /** An image that cannot be decoded (not an image, truncated, or a format sharp cannot read). */
  | 'image_decode'
  /** An asset job's source file is gone. */
  | 'source_missing'
  /** An edge's admin API could not be reached or refused a purge or warm. */
  | 'edge_failed'
  /** No job with this id (or name) in the queue. */
  | 'unknown_job'
  /** Only failed jobs can be retried. */
  | 'job_not_failed'
  /** The worker stopped (or died) while running the job. */
  | 'interrupted'
  /** The job queue's storage failed or is closed. */
  | 'queue_unavailable';

export class AssetError extends Error {
  override readonly name = 'AssetError';

  /** Retrying cannot help (a job failing with it is failed at once, not retried). */
  readonly permanent: boolean;

  constructor(
    readonly code: AssetErrorCode,
    message: string,
    options?: { cause?: unknown; permanent?: boolean },
  ) {
    super(message, options);
    this.permanent = options?.permanent ?? false;
  }
}

/** A value quoted for an error message: short, and visibly a string (or not). */
export function quote(value: unknown): string {
  if (typeof value !== 'string') return `${typeof value} ${String(value).slice(0, 40)}`;
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}…"` : json;
}
