// S3Origin against a real S3-compatible server on loopback (s3rver behind a front that checks every
// SigV4 signature, see helpers/s3-server.ts): objects with odd keys, conditionals and ranges, what
// is and is not sent to the bucket, a wrong secret refused, a missing key passed on as 404 or 403,
// transport failures as EdgeErrors. Failover to the app server is in s3-failover.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { S3Origin, type S3OriginOptions } from '../src/origins/s3-origin.js';
import { EdgeError } from '../src/errors.js';
import type { HeaderMap } from '../src/http/headers.js';
import { encodeS3Key } from '../src/origins/s3-request.js';
import { startS3Server, S3_KEY, type S3Server } from './helpers/s3-server.js';
import { closedPort } from './helpers/origin.js';

const BUCKET = 'blot-test';
const REGION = 'eu-west-3';
const ODD_KEYS = ['with space.txt', 'plus+sign.txt', 'ünïcödé/файл.css', "bang!quote'(paren)*star.txt", 'amp&eq=semi;comma,colon:at@.txt', 'emoji-😀.png', 'tilde~under_dash-.txt', '100%.txt', 'deep/er/still/x.js'];
const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

let s3: S3Server;
let privateS3: S3Server;
const origins: S3Origin[] = [];

before(async () => {
  s3 = await startS3Server({ bucket: BUCKET, region: REGION });
  privateS3 = await startS3Server({ bucket: BUCKET, region: REGION, missingAs403: true });
  for (const server of [s3, privateS3]) {
    await server.put('hello.txt', 'hello from the bucket', { 'content-type': 'text/plain; charset=utf-8', 'x-amz-meta-owner': 'someone' });
    await server.put('range.bin', BINARY, { 'content-type': 'application/octet-stream' });
    await server.put('sites/a.css', 'a{}', { 'content-type': 'text/css' });
    for (const key of ODD_KEYS) await server.put(key, `object ${key}`);
  }
});

after(async () => {
  await Promise.allSettled(origins.map((o) => o.close()));
  await Promise.all([s3.close(), privateS3.close()]);
});

function bucket(server: S3Server, options: Partial<S3OriginOptions> = {}, env: NodeJS.ProcessEnv = {}): S3Origin {
  const origin = new S3Origin({ bucket: BUCKET, region: REGION, endpoint: server.endpoint, credentials: S3_KEY, ...options }, env);
  origins.push(origin);
  return origin;
}

async function text(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('latin1');
}

async function call(origin: S3Origin, path: string, headers: HeaderMap = {}, method = 'GET') {
  const res = await origin.fetch({ method, path, headers: { host: 'cdn.blot.test', ...headers } });
  return { ...res, text: await text(res.body) };
}

const lastSeen = (server: S3Server) => server.requests[server.requests.length - 1]!;

test('GET: the object, its type and validators, signed and accepted; the bucket’s x-amz-* fields stay behind', async () => {
  const res = await call(bucket(s3), '/hello.txt');
  assert.equal(res.status, 200);
  assert.equal(res.text, 'hello from the bucket');
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  assert.match(String(res.headers['etag']), /^"[0-9a-f]{32}"$/);
  assert.ok(res.headers['last-modified']);
  assert.equal(res.member, BUCKET);
  assert.deepEqual(Object.keys(res.headers).filter((h) => h.startsWith('x-amz-')), []);
  const seen = lastSeen(s3);
  assert.equal(seen.verdict, 'ok');
  assert.equal(seen.url, `/${BUCKET}/hello.txt`);
  assert.match(String(seen.headers['authorization']), /^AWS4-HMAC-SHA256 Credential=S3RVER\/\d{8}\/eu-west-3\/s3\/aws4_request/);
});

test('HEAD: headers only', async () => {
  const res = await call(bucket(s3), '/hello.txt', {}, 'HEAD');
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-length'], '21');
  assert.equal(res.text, '');
  assert.equal(lastSeen(s3).method, 'HEAD');
});

test('odd keys — spaces, plus, unicode, reserved characters, percent — however the client encoded them', async () => {
  const origin = bucket(s3);
  for (const key of ODD_KEYS) {
    const fully = '/' + key.split('/').map(encodeURIComponent).join('/');
    // Browsers leave these as they are; a raw `+` in a path is a plus, never a space.
    const loosely = fully.replace(/%2B/g, '+').replace(/%40/g, '@').replace(/%3A/g, ':').replace(/%26/g, '&').replace(/%3D/g, '=').replace(/%2C/g, ',').replace(/%3B/g, ';');
    for (const path of new Set([fully, loosely])) {
      const res = await call(origin, path);
      assert.equal(res.status, 200, `${key} as ${path}: ${res.text}`);
      assert.equal(Buffer.from(res.text, 'latin1').toString('utf8'), `object ${key}`);
      const seen = lastSeen(s3);
      assert.equal(seen.verdict, 'ok', key);
      assert.equal(seen.url, `/${BUCKET}/${encodeS3Key(key)}`, key);
    }
  }
});

test('ranges and conditionals are forwarded; S3 answers 206 and 304', async () => {
  const origin = bucket(s3);
  const part = await call(origin, '/range.bin', { range: 'bytes=10-19' });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], 'bytes 10-19/256');
  assert.deepEqual(Buffer.from(part.text, 'latin1'), BINARY.subarray(10, 20));
  const etag = (await call(origin, '/range.bin')).headers['etag'] as string;
  const notModified = await call(origin, '/range.bin', { 'if-none-match': etag });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.text, '');
  assert.equal(lastSeen(s3).headers['if-none-match'], etag);
});

test('nothing else of the client’s request reaches the bucket: no cookies, credentials, x-amz-* or query', async () => {
  const res = await call(bucket(s3), '/hello.txt?response-content-type=text/html&acl', {
    cookie: 'session=secret',
    authorization: 'Bearer client-token',
    'x-amz-server-side-encryption-customer-key': 'client-key',
    'x-forwarded-for': '203.0.113.9',
    'user-agent': 'reader',
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  const seen = lastSeen(s3);
  assert.equal(seen.url, `/${BUCKET}/hello.txt`);
  assert.equal(seen.headers['cookie'], undefined);
  assert.equal(seen.headers['x-forwarded-for'], undefined);
  assert.equal(seen.headers['x-amz-server-side-encryption-customer-key'], undefined);
  assert.doesNotMatch(String(seen.headers['authorization']), /client-token/);
});

test('a missing key is 404 in a bucket we may list, 403 in a private one — one line, no XML', async () => {
  const open = await call(bucket(s3), '/no/such/key.txt');
  assert.equal(open.status, 404);
  assert.equal(open.text, '404 NoSuchKey from the bucket\n');
  const closed = await call(bucket(privateS3), '/no/such/key.txt');
  assert.equal(closed.status, 403);
  assert.equal(closed.text, '403 AccessDenied from the bucket\n');
  assert.equal(closed.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(closed.headers['x-amz-request-id'], undefined);
  const head = await call(bucket(privateS3), '/no/such/key.txt', {}, 'HEAD');
  assert.equal(head.status, 403);
  assert.equal(head.text, '');
});

test('signature checking is on: a wrong secret, an unknown key, no signature and the wrong region are refused', async () => {
  const wrong = await call(bucket(s3, { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'not-the-secret' } }), '/hello.txt');
  assert.equal(wrong.status, 403);
  assert.equal(lastSeen(s3).verdict, 'SignatureDoesNotMatch');
  assert.doesNotMatch(wrong.text, /hello from the bucket/);
  const unknown = await call(bucket(s3, { credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'S3RVER' } }), '/hello.txt');
  assert.equal(unknown.status, 403);
  assert.equal(lastSeen(s3).verdict, 'InvalidAccessKeyId');
  const anonymous = await call(bucket(s3, { credentials: 'anonymous' }), '/hello.txt');
  assert.equal(anonymous.status, 403);
  assert.equal(lastSeen(s3).verdict, 'AccessDenied');
  const region = await call(bucket(s3, { region: 'us-west-2' }), '/hello.txt');
  assert.equal(region.status, 400);
});

test('credentials from AWS_* environment variables, with a session token that is sent and signed', async (t) => {
  const server = await startS3Server({ bucket: BUCKET, region: REGION, sessionToken: 'session-token-1' });
  t.after(() => server.close());
  await server.put('t.txt', 'temporary');
  const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_SESSION_TOKEN: 'session-token-1', AWS_REGION: REGION };
  const res = await call(bucket(server, { credentials: undefined, region: undefined }, env), '/t.txt');
  assert.equal(res.status, 200);
  assert.equal(res.text, 'temporary');
  assert.equal(lastSeen(server).headers['x-amz-security-token'], 'session-token-1');
  const noToken = await call(bucket(server, { credentials: undefined }, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }), '/t.txt');
  assert.equal(noToken.status, 400);
  assert.throws(() => new S3Origin({ bucket: BUCKET, endpoint: server.endpoint }, {}), /no credentials/);
});

test('a key prefix is put before every key', async () => {
  const res = await call(bucket(s3, { keyPrefix: 'sites/' }), '/a.css');
  assert.equal(res.text, 'a{}');
  assert.equal(lastSeen(s3).url, `/${BUCKET}/sites/a.css`);
});

test('refused before the bucket is asked: dot segments, NUL, over-long keys, other methods', async () => {
  const origin = bucket(s3);
  const before = s3.requests.length;
  for (const [path, status] of [['/a/../hello.txt', 400], ['/%2e%2e/x', 400], ['/a%2F..%2Fb', 400], ['/x%00', 400], ['/' + 'k'.repeat(1100), 404]] as const) {
    assert.equal((await call(origin, path)).status, status, path);
  }
  const post = await call(origin, '/hello.txt', {}, 'POST');
  assert.equal(post.status, 405);
  assert.equal(post.headers['allow'], 'GET, HEAD');
  assert.equal(s3.requests.length, before);
});

test('the bucket root is never listed: `/` is a 404 after a HEAD of the bucket, so a probe sees a dead bucket', async () => {
  const origin = bucket(s3);
  const res = await call(origin, '/');
  assert.equal(res.status, 404);
  assert.doesNotMatch(res.text, /hello|ListBucketResult/);
  const seen = lastSeen(s3);
  assert.deepEqual([seen.method, seen.url, seen.verdict], ['HEAD', `/${BUCKET}`, 'ok']);
  const dead = bucket(s3, { endpoint: `http://127.0.0.1:${await closedPort()}` });
  await assert.rejects(dead.fetch({ method: 'GET', path: '/', headers: {} }), (err: unknown) => err instanceof EdgeError && err.code === 'origin_connect');
});

test('transport failures are EdgeErrors: refused connection, a bucket that does not answer, the wrong region', async (t) => {
  const port = await closedPort();
  await assert.rejects(bucket(s3, { endpoint: `http://127.0.0.1:${port}` }).fetch({ method: 'GET', path: '/x', headers: {} }), (err: unknown) => err instanceof EdgeError && err.code === 'origin_connect');
  const stalled = createServer((req, res) => {
    if (req.url?.includes('moved')) {
      res.writeHead(301, { 'x-amz-bucket-region': 'ap-south-1', 'content-type': 'application/xml' });
      res.end('<Error><Code>PermanentRedirect</Code></Error>');
    }
  });
  await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    stalled.closeAllConnections();
    stalled.close();
  });
  const endpoint = `http://127.0.0.1:${(stalled.address() as AddressInfo).port}`;
  await assert.rejects(bucket(s3, { endpoint, headersTimeout: 200 }).fetch({ method: 'GET', path: '/slow', headers: {} }), (err: unknown) => err instanceof EdgeError && err.code === 'origin_timeout');
  await assert.rejects(bucket(s3, { endpoint }).fetch({ method: 'GET', path: '/moved', headers: {} }), (err: unknown) => err instanceof EdgeError && err.code === 'origin_protocol' && /ap-south-1/.test(err.message));
});
