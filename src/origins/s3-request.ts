// How S3Origin addresses a bucket and shapes what it sends, as pure functions: where to connect and
// what Host to sign (path-style or virtual-hosted), the object key's path encoded exactly as SigV4
// signs it, which client headers may go to the bucket (conditionals and ranges, nothing else), and
// which credentials to sign with (the config's, or the standard AWS environment variables).
import type { HeaderMap } from '../http/headers.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3Address {
  /** What the connection pool connects to (scheme, host, port). */
  origin: string;
  /** The Host header, which is signed. */
  host: string;
  /** Path before the key: `/bucket` path-style, empty virtual-hosted. */
  basePath: string;
}

export interface S3AddressOptions {
  bucket: string;
  region: string;
  /** An S3-compatible server (`http://127.0.0.1:9000`); AWS's regional endpoint when absent. */
  endpoint?: string;
  /** `/bucket/key` on the endpoint rather than `bucket.endpoint/key`. */
  pathStyle: boolean;
}

export function s3Address(o: S3AddressOptions): S3Address {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(o.bucket)) throw new Error(`s3 origin: ${JSON.stringify(o.bucket)} is not a bucket name`);
  const url = new URL(o.endpoint ?? `https://s3.${o.region}.amazonaws.com`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`s3 origin: endpoint must be http: or https:, not ${url.protocol}`);
  if (url.pathname !== '/' || url.search !== '' || url.username !== '') {
    throw new Error(`s3 origin: endpoint must be scheme://host[:port] only, not ${JSON.stringify(o.endpoint)}`);
  }
  if (o.pathStyle) return { origin: url.origin, host: url.host, basePath: '/' + encodeS3Key(o.bucket) };
  // A dotted bucket name is not covered by the endpoint's wildcard certificate.
  if (url.protocol === 'https:' && o.bucket.includes('.')) {
    throw new Error(`s3 origin: bucket ${o.bucket} has dots, which virtual-hosted addressing over https cannot reach; set pathStyle: true`);
  }
  const host = `${o.bucket.toLowerCase()}.${url.host}`;
  return { origin: `${url.protocol}//${host}`, host, basePath: '' };
}

/** True for the bytes S3's URI encoding leaves as they are (RFC 3986 unreserved). */
function unreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    byte === 0x2d || byte === 0x2e || byte === 0x5f || byte === 0x7e // - . _ ~
  );
}

const HEX = '0123456789ABCDEF';

/**
 * SigV4's UriEncode for an object key: every UTF-8 byte but the unreserved ones and `/` becomes
 * `%XX` (upper-case hex). S3 signs the path this way and, unlike other services, does not encode
 * it twice, so the path sent and the path signed are the same string (`a b+ü` → `a%20b%2B%C3%BC`).
 */
export function encodeS3Key(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    if (unreserved(byte) || byte === 0x2f) out += String.fromCharCode(byte);
    else out += '%' + HEX[byte >> 4] + HEX[byte & 15];
  }
  return out;
}

/**
 * Client headers S3 understands and that are safe to pass: the conditionals and ranges (RFC 9110
 * §13, §14). Everything else stays behind — Cookie and Authorization would leak, a client's own
 * `x-amz-*` would be signed into the request, and Host and the proxy fields mean nothing to a bucket.
 */
const FORWARDED = ['range', 'if-range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'];

export function s3RequestHeaders(client: HeaderMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FORWARDED) {
    const value = client[name];
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * The bucket's response headers for the client: `x-amz-*` fields (request ids, user metadata,
 * encryption and replication details) describe the bucket, not the content, and are dropped.
 */
export function s3ResponseHeaders(headers: HeaderMap): HeaderMap {
  const out: HeaderMap = {};
  for (const name in headers) if (!name.startsWith('x-amz-')) out[name] = headers[name];
  return out;
}

/** `credentials` as given, or from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. */
export function resolveS3Credentials(
  given: S3Credentials | 'anonymous' | undefined,
  env: NodeJS.ProcessEnv = process.env,
): S3Credentials | undefined {
  if (given === 'anonymous') return undefined;
  if (given !== undefined) {
    if (!given.accessKeyId || !given.secretAccessKey) throw new Error('s3 origin: credentials need accessKeyId and secretAccessKey');
    return given;
  }
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (accessKeyId && secretAccessKey) return { accessKeyId, secretAccessKey, sessionToken: env['AWS_SESSION_TOKEN'] || undefined };
  throw new Error(
    's3 origin: no credentials; set them in the config, set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ' +
      'or use credentials: "anonymous" for a public bucket',
  );
}
