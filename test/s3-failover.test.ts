// The platform's set-up for its CDN host: a private bucket first in an origin group and the app
// server second, failing over on [403, 404, 500, 502, 503, 504]. A key the bucket holds comes from
// the bucket; a missing one (the bucket's 403) from the app — directly and behind a real edge that
// caches both, with the bucket kept in rotation however many keys it misses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { S3Origin } from '../src/origins/s3-origin.js';
import { HttpOrigin } from '../src/origins/http-origin.js';
import { OriginGroup } from '../src/origins/origin-group.js';
import { startS3Server, S3_KEY, type S3Server } from './helpers/s3-server.js';
import { startOrigin, respond } from './helpers/origin.js';
import { startEdge, simpleConfig } from './helpers/edge.js';
import { get } from './helpers/client.js';
import { serveOrigin } from './helpers/serve-origin.js';

const BUCKET = 'blot-test';
const REGION = 'eu-west-3';
let privateS3: S3Server;

before(async () => {
  privateS3 = await startS3Server({ bucket: BUCKET, region: REGION, missingAs403: true });
  await privateS3.put('hello.txt', 'hello from the bucket', { 'content-type': 'text/plain; charset=utf-8' });
  await privateS3.put('with space.txt', 'object with space.txt');
});

after(() => privateS3.close());

async function text(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString();
}

async function call(origin: OriginGroup, path: string) {
  const res = await origin.fetch({ method: 'GET', path, headers: { host: 'cdn.blot.test' } });
  return { ...res, text: await text(res.body) };
}

/** [bucket, app] as examples/blot.yaml will have them. */
function bucketThenApp(appUrl: string): OriginGroup {
  const bucket = new S3Origin({ name: 'bucket', bucket: BUCKET, region: REGION, endpoint: privateS3.endpoint, credentials: S3_KEY });
  const app = new HttpOrigin({ name: 'app', url: new URL(appUrl), host: 'keep', pathPrefix: '', connectTimeout: 1000, headersTimeout: 2000, bodyTimeout: 2000, connections: 4, insecure: false });
  return new OriginGroup('cdn', [bucket, app], { failoverOn: [403, 404, 500, 502, 503, 504], breaker: { failures: 3, cooldown: 1000, probePath: '/' } });
}

test('a private bucket first in a group: a missing key (403) fails over to the app, a present one is served', async (t) => {
  const app = await startOrigin(respond('from the app', { 'cache-control': 'max-age=60' }));
  const group = bucketThenApp(app.url);
  t.after(async () => {
    await group.close();
    await app.close();
  });
  const present = await call(group, '/hello.txt');
  assert.equal(present.member, 'bucket');
  assert.equal(present.text, 'hello from the bucket');
  const missing = await call(group, '/blog_0123456789abcdef0123456789abcdef/_thumbnails/new.jpg');
  assert.equal(missing.member, 'app');
  assert.equal(missing.text, 'from the app');
  assert.deepEqual(missing.attempts.map((a) => [a.member, a.outcome]), [['bucket', '403'], ['app', 'ok']]);
  // Misses in a bucket are not failures: the bucket stays in rotation.
  for (let i = 0; i < 5; i++) await call(group, `/missing-${i}`);
  assert.equal(group.status()[0]!.state, 'closed');
  assert.equal((await call(group, '/hello.txt')).member, 'bucket');
});

test('behind a real edge: the bucket’s objects and the app’s fallbacks are both cached', async (t) => {
  const app = await startOrigin(respond('from the app', { 'cache-control': 'max-age=60' }));
  const group = bucketThenApp(app.url);
  const served = await serveOrigin(group);
  const edge = await startEdge(simpleConfig(served.url));
  t.after(async () => {
    await edge.stop();
    await served.close();
    await group.close();
    await app.close();
  });
  const first = await get(`${edge.url}/with%20space.txt`);
  assert.equal(first.status, 200);
  assert.equal(first.text, 'object with space.txt');
  assert.equal(first.headers['x-inner-member'], 'bucket');
  const missPath = '/blog_0123456789abcdef0123456789abcdef/_avatars/me.png';
  const fallback = await get(edge.url + missPath);
  assert.equal(fallback.text, 'from the app');
  assert.equal(fallback.headers['x-inner-member'], 'app');
  const hit = await get(edge.url + missPath);
  assert.match(String(hit.headers['cache-status']), /hit/);
  assert.equal(app.count(missPath), 1);
});
