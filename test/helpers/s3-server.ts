// A real S3-compatible server on 127.0.0.1 for S3Origin's tests: s3rver (the object store: keys,
// ranges, conditionals, S3's XML errors) behind a front that does what s3rver v3 does not. s3rver
// checks only that a V4 access key exists, never the signature; the front recomputes every
// signature from the request as it arrived on the wire (written from the AWS spec, not with aws4,
// so a signing bug cannot agree with itself), refuses unsigned requests (a private bucket), and
// can answer 403 for a missing key as a private bucket without ListBucket permission does.
import { createHash, createHmac } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import aws4 from 'aws4';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;

/** s3rver's one built-in account. */
export const S3_KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface SeenS3Request {
  method: string;
  /** Raw request-target as received. */
  url: string;
  headers: IncomingHttpHeaders;
  /** `ok`, or why the front refused it (`SignatureDoesNotMatch`, `AccessDenied`, …). */
  verdict: string;
}

export interface S3ServerOptions {
  bucket: string;
  /** The region signatures must be scoped to. */
  region?: string;
  /** Answer 403 AccessDenied instead of 404 NoSuchKey, as a private bucket does. */
  missingAs403?: boolean;
  /** Require this x-amz-security-token (temporary credentials). */
  sessionToken?: string;
}

export interface S3Server {
  endpoint: string;
  requests: SeenS3Request[];
  /** Stores an object through the front (so the PUT is signature-checked too). */
  put(key: string, body: string | Buffer, headers?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
/** RFC 3986 encoding as SigV4 wants it: encodeURIComponent plus the five characters it leaves. */
const uriEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

function refuse(code: string, status = 403): { status: number; code: string } {
  return { status, code };
}

/** Checks a SigV4 Authorization header against the request as received; undefined when valid. */
function verify(method: string, url: string, headers: IncomingHttpHeaders, region: string, token?: string): { status: number; code: string } | undefined {
  const auth = headers['authorization'];
  if (auth === undefined) return refuse('AccessDenied');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return refuse('AuthorizationHeaderMalformed', 400);
  const [, keyId, day, scopeRegion, signedList, signature] = m as unknown as string[];
  if (keyId !== S3_KEY.accessKeyId) return refuse('InvalidAccessKeyId');
  if (scopeRegion !== region) return refuse('AuthorizationHeaderMalformed', 400);
  const amzDate = String(headers['x-amz-date'] ?? '');
  const when = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!amzDate.startsWith(day!) || Number.isNaN(when) || Math.abs(Date.now() - when) > 15 * 60_000) return refuse('RequestTimeTooSkewed');
  const signed = signedList!.split(';');
  if (!signed.includes('host') || !signed.includes('x-amz-date')) return refuse('AccessDenied');
  if (token !== undefined && (headers['x-amz-security-token'] !== token || !signed.includes('x-amz-security-token'))) return refuse('InvalidToken', 400);
  const payloadHash = headers['x-amz-content-sha256'];
  if (typeof payloadHash !== 'string') return refuse('InvalidRequest', 400);

  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  let canonicalUri: string;
  try {
    canonicalUri = rawPath.split('/').map((seg) => uriEncode(decodeURIComponent(seg))).join('/');
  } catch {
    return refuse('InvalidURI', 400);
  }
  const canonicalQuery = q < 0 ? '' : url.slice(q + 1).split('&').filter(Boolean)
    .map((pair) => {
      const [k, v = ''] = pair.split('=');
      return [uriEncode(decodeURIComponent(k!)), uriEncode(decodeURIComponent(v))];
    })
    .sort(([a, x], [b, y]) => (a! < b! ? -1 : a! > b! ? 1 : x! < y! ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = signed.map((name) => {
    const v = headers[name];
    const value = (Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/\s+/g, ' ');
    return `${name}:${value}\n`;
  }).join('');
  const canonical = [method, canonicalUri, canonicalQuery, canonicalHeaders, signedList, payloadHash].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${S3_KEY.secretAccessKey}`, day!), region), 's3'), 'aws4_request');
  if (createHmac('sha256', key).update(stringToSign).digest('hex') !== signature) return refuse('SignatureDoesNotMatch');
  return undefined;
}

function s3Error(res: import('node:http').ServerResponse, status: number, code: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>refused by the test front</Message><RequestId>TESTREQ</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': 'TESTREQ' });
  res.end(body);
}

export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  const region = options.region ?? 'us-east-1';
  const directory = await mkdtemp(join(tmpdir(), 'blotcdn-s3rver-'));
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: options.bucket, configs: [] }] });
  const { port: backPort } = await s3rver.run();
  const requests: SeenS3Request[] = [];

  const front: Server = createServer((req, res) => {
    const seen: SeenS3Request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, verdict: 'ok' };
    requests.push(seen);
    const refused = verify(seen.method, seen.url, req.headers, region, options.sessionToken);
    if (refused) {
      seen.verdict = refused.code;
      req.resume();
      return s3Error(res, refused.status, refused.code);
    }
    const back = httpRequest({ host: '127.0.0.1', port: backPort, method: req.method, path: req.url, headers: req.headers }, (backRes) => {
      if (backRes.statusCode === 404 && options.missingAs403 && (req.method === 'GET' || req.method === 'HEAD')) {
        backRes.resume();
        return s3Error(res, 403, 'AccessDenied');
      }
      res.writeHead(backRes.statusCode ?? 502, backRes.headers);
      backRes.pipe(res);
    });
    back.on('error', () => res.destroy());
    req.pipe(back);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;

  return {
    endpoint,
    requests,
    async put(key, body, headers = {}) {
      const path = `/${options.bucket}/${key.split('/').map(uriEncode).join('/')}`;
      const opts = aws4.sign({ host: new URL(endpoint).host, path, method: 'PUT', service: 's3', region, body, headers: { ...headers } }, { ...S3_KEY, sessionToken: options.sessionToken });
      const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const r = httpRequest(endpoint + path, { method: 'PUT', headers: opts.headers }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        r.on('error', reject);
        r.end(body);
      });
      if (status !== 200) throw new Error(`PUT ${key}: ${status} ${text}`);
    },
    async close() {
      await new Promise<void>((resolve) => {
        front.closeAllConnections();
        front.close(() => resolve());
      });
      await s3rver.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
