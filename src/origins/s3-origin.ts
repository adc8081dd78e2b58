// An S3 bucket (or an S3-compatible server) as an origin: GET and HEAD of the object named by the
// request path, signed with AWS Signature V4 (aws4) and sent on an undici Pool like HttpOrigin's.
// A private bucket answers 403 for a key it does not hold; that status is passed on as is, so an
// origin group listing 403 in `failoverOn` moves on to its next member (the platform's app server).
import { Readable } from 'node:stream';
import aws4 from 'aws4';
import { Client, Pool, errors as undiciErrors } from 'undici';
import { EdgeError } from '../errors.js';
import { classifyOriginError } from './http-origin.js';
import { emptyBody, localResponse, READ_METHODS } from './local-response.js';
import type { Origin, OriginRequest, OriginResponse } from './origin.js';
import { decodeRequestPath, KEY_PATH_RULES } from './request-path.js';
import { encodeS3Key, resolveS3Credentials, s3Address, s3RequestHeaders, s3ResponseHeaders, type S3Address, type S3Credentials } from './s3-request.js';

export interface S3OriginOptions {
  /** Names the member in logs and `X-Served-By-Origin`; the bucket name by default. */
  name?: string;
  bucket: string;
  /** Signing region; AWS_REGION, then AWS_DEFAULT_REGION, then `us-east-1`. */
  region?: string;
  /** An S3-compatible server, `scheme://host[:port]`; AWS's `https://s3.{region}.amazonaws.com` by default. */
  endpoint?: string;
  /** `endpoint/bucket/key` rather than `bucket.endpoint/key`; on by default only with an `endpoint`. */
  pathStyle?: boolean;
  /** Put before every key (`sites/` turns `/a.css` into `sites/a.css`); no `/` is added. */
  keyPrefix?: string;
  /** Keys to sign with; the AWS_* environment variables when absent; `anonymous` sends no signature. */
  credentials?: S3Credentials | 'anonymous';
  /** Milliseconds, as for HTTP members. */
  connectTimeout?: number;
  headersTimeout?: number;
  bodyTimeout?: number;
  connections?: number;
  /** Trust the endpoint's certificate even when it does not verify (test servers only). */
  insecure?: boolean;
}

const MAX_KEY_BYTES = 1024;
const MAX_ERROR_BODY = 16 * 1024;

export class S3Origin implements Origin {
  readonly name: string;
  readonly address: S3Address;
  private readonly region: string;
  private readonly keyPrefix: string;
  private readonly credentials: S3Credentials | undefined;
  private readonly pool: Pool;
  private readonly clientOptions: Client.Options;

  constructor(options: S3OriginOptions, env: NodeJS.ProcessEnv = process.env) {
    this.name = options.name ?? options.bucket;
    this.region = options.region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? 'us-east-1';
    this.address = s3Address({ bucket: options.bucket, region: this.region, endpoint: options.endpoint, pathStyle: options.pathStyle ?? options.endpoint !== undefined });
    this.keyPrefix = (options.keyPrefix ?? '').replace(/^\/+/, '');
    this.credentials = resolveS3Credentials(options.credentials, env);
    this.clientOptions = {
      connect: { timeout: options.connectTimeout ?? 5_000, rejectUnauthorized: !options.insecure },
      headersTimeout: options.headersTimeout ?? 30_000,
      bodyTimeout: options.bodyTimeout ?? 30_000,
      keepAliveTimeout: 30_000,
    };
    this.pool = new Pool(this.address.origin, { connections: options.connections ?? 128, ...this.clientOptions });
  }

  async fetch(req: OriginRequest, signal?: AbortSignal): Promise<OriginResponse> {
    const started = performance.now();
    const answer = (status: number, headers = {}) => localResponse(this.name, started, req.method, status, headers);
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, { allow: READ_METHODS });
    // The query is never sent: `?acl`, `?versionId=` or `?response-content-type=text/html` would ask
    // the bucket for something other than the object.
    const decoded = decodeRequestPath(req.path, KEY_PATH_RULES);
    if (!decoded.ok) return answer(decoded.status);
    const key = this.keyPrefix + decoded.segments.join('/');
    if (Buffer.byteLength(key) > MAX_KEY_BYTES) return answer(404);
    // An empty key would be a GET of the bucket itself, a listing: never sent. It is answered 404
    // after a HEAD of the bucket instead, so the breaker's probe (`/`) learns whether the bucket
    // is reachable rather than getting a made-up answer.
    const bucketRoot = key === '';
    const method = bucketRoot ? 'HEAD' : req.method;
    const path = bucketRoot ? this.address.basePath || '/' : `${this.address.basePath}/${encodeS3Key(key)}`;
    let headers: Record<string, string> = { ...(bucketRoot ? {} : s3RequestHeaders(req.headers)), host: this.address.host };
    if (this.credentials) {
      // aws4 returns a new header object with X-Amz-Date, X-Amz-Content-Sha256 and Authorization.
      const signed = aws4.sign({ host: this.address.host, path, method, service: 's3', region: this.region, headers }, this.credentials);
      headers = signed.headers as Record<string, string>;
    }

    let res;
    // A group retired by a reload has closed this pool; requests that started with it still
    // finish with it, on a connection of their own.
    const retired = this.pool.closed || this.pool.destroyed;
    const dispatcher = retired ? new Client(this.address.origin, this.clientOptions) : this.pool;
    try {
      res = await dispatcher.request({ method: method as 'GET', path, headers, signal });
      if (retired) res.body.once('close', () => void dispatcher.close().catch(() => {}));
    } catch (err) {
      if (retired) void dispatcher.destroy().catch(() => {});
      if (err instanceof undiciErrors.RequestAbortedError) throw err;
      throw new EdgeError(classifyOriginError(err), `(${this.name}: ${(err as Error).message})`, { cause: err });
    }
    const body = res.body as unknown as Readable;
    if (bucketRoot) {
      body.resume();
      return answer(res.statusCode >= 500 ? res.statusCode : 404);
    }

    if (res.statusCode === 301 || res.statusCode === 307) {
      // S3's answer to a request signed for the wrong region: a misconfiguration, not content.
      body.resume();
      const region = res.headers['x-amz-bucket-region'];
      throw new EdgeError('origin_protocol', `(${this.name}: the bucket is in region ${region ?? 'another region'}; set region)`);
    }
    if (res.statusCode >= 400) {
      // The status goes on (a group fails over on it); S3's XML error document, which names the
      // bucket, the key and request ids, is replaced by one line naming the S3 error code.
      const code = req.method === 'HEAD' ? void body.resume() : await errorCode(body);
      const text = Buffer.from(`${res.statusCode} ${code ?? 'error'} from the bucket\n`);
      const out = s3ResponseHeaders(res.headers);
      delete out['transfer-encoding'];
      out['content-type'] = 'text/plain; charset=utf-8';
      out['content-length'] = String(text.length);
      const errorBody = req.method === 'HEAD' ? emptyBody() : Readable.from([text], { objectMode: false });
      return localResponse(this.name, started, req.method, res.statusCode, out, errorBody);
    }
    return { status: res.statusCode, headers: s3ResponseHeaders(res.headers), body, member: this.name, attempts: [{ member: this.name, outcome: 'ok', ms: performance.now() - started }] };
  }

  async close(): Promise<void> {
    // A group closes its members, and whoever built the member may close it too: once is enough.
    if (this.pool.closed || this.pool.destroyed) return;
    await this.pool.close();
  }
}

/** The `<Code>` of an S3 error document, read from at most 16 KiB of it. */
async function errorCode(body: Readable): Promise<string | undefined> {
  let text = '';
  try {
    for await (const chunk of body) {
      text += String(chunk);
      if (text.length > MAX_ERROR_BODY) break;
    }
  } catch {
    // A cut-off error document says nothing more.
  } finally {
    body.destroy();
  }
  return /<Code>([A-Za-z0-9.]{1,64})<\/Code>/.exec(text)?.[1];
}
