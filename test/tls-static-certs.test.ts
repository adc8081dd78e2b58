// Static certificates by host pattern (tls.certificates), in a whole edge against a real ACME server:
// the platform's wildcard answers every handle, preview host and made-up name under it — and
// handshakes without SNI — without one ACME order; only a custom domain on the list, which no
// pattern covers, is ordered. Files replaced in place are picked up at once; a broken replacement is
// refused and the certificate in service stays.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startPebble, type TestPebble } from './helpers/pebble.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, type TestEdge } from './helpers/edge.js';
import { handshake } from './helpers/tls.js';
import { startTestCa, type IssuedPair, type TestCa } from './helpers/test-ca.js';
import { scratch } from './helpers/scratch.js';
import { waitFor } from './helpers/wait.js';

let pebble: TestPebble;
let redis: TestRedis;
let origin: TestOrigin;
let edge: TestEdge;
let ca: TestCa;
let dir: string;
let port: number;
let trust: string[];
const s = scratch();

/** Writes a pair the way a renewal tool does: new files renamed over the old ones. */
async function install(pair: IssuedPair): Promise<void> {
  await writeFile(join(dir, 'next.pem'), pair.certPem);
  await writeFile(join(dir, 'next.key'), pair.keyPem);
  await rename(join(dir, 'next.key'), join(dir, 'wildcard.key'));
  await rename(join(dir, 'next.pem'), join(dir, 'wildcard.pem'));
}

before(async () => {
  [pebble, redis, ca] = await Promise.all([startPebble(), startRedis(), startTestCa()]);
  s.deferLast(() => Promise.all([pebble.stop(), redis.stop()]));
  const client = new Redis(redis.url);
  await client.set('domain:custom.test', 'blog_0123456789abcdef0123456789abcdef');
  client.disconnect();
  origin = await startOrigin((req, res) => res.end(`${req.headers.host}${req.url}`));
  s.defer(() => origin.close());
  dir = await s.temp('blotcdn-static-');
  await install(await ca.issue(['*.blot.test', 'blot.test']));
  await writeFile(join(dir, 'acme-ca.pem'), pebble.apiCa);
  edge = await startEdge({
    listen: { http: '127.0.0.1:0', https: '127.0.0.1:0' },
    redis: { url: redis.url },
    domains: { redis: {} },
    tls: {
      certificates: [{ hosts: ['*.blot.test', 'blot.test'], cert: join(dir, 'wildcard.pem'), key: join(dir, 'wildcard.key') }],
      store: { dir: join(dir, 'store') },
      acme: { directory: pebble.directoryUrl, ca: join(dir, 'acme-ca.pem'), pollMin: '100ms' },
    },
    originGroups: { app: { members: [{ url: origin.url }] } },
    sites: [
      { name: 'platform', hosts: ['blot.test'], originGroup: 'app' },
      { name: 'preview', hosts: ['preview-*.blot.test'], originGroup: 'app' },
      { name: 'blogs', hosts: ['*.blot.test'], originGroup: 'app', domainList: true },
    ],
  });
  s.defer(() => edge.stop());
  pebble.routeHttp01(edge.port); // pebble's HTTP-01 validations reach the edge's HTTP listener
  port = edge.edge.httpsAddresses[0]!.port;
  trust = [ca.certPem, await pebble.root()];
});

after(() => undefined);

const stats = () => edge.edge.tls!.manager.stats();

test('handles, preview hosts, made-up names and no SNI get the wildcard; none causes an order', async () => {
  for (const name of ['alice.blot.test', 'preview-diary-alice.blot.test', 'no-such-handle-7f3a.blot.test', 'blot.test', undefined]) {
    const r = await handshake(port, name, trust);
    // Without SNI the client checks the certificate against 127.0.0.1, which it cannot name.
    if (name !== undefined) assert.equal(r.authorized, true, `${name}: ${r.error}`);
    assert.deepEqual(r.names, ['*.blot.test', 'blot.test'], String(name));
  }
  // Two labels under the wildcard: covered by nothing, on no list — the default (the wildcard), no order.
  const deep = await handshake(port, 'a.b.blot.test', trust);
  assert.equal(deep.authorized, false);
  assert.deepEqual(deep.names, ['*.blot.test', 'blot.test']);
  assert.equal(stats().issued, 0);
  assert.equal(stats().failures, 0);
  assert.ok(stats().staticHits >= 4);
  // Not even on request (`blotcdn certs issue`, renewal).
  await assert.rejects(edge.edge.tls!.manager.obtain('alice.blot.test', 'forced'), /covered by a static certificate/);
});

test('a custom domain on the list, which no pattern covers, is ordered from the ACME server', async () => {
  const r = await handshake(port, 'custom.test', trust);
  assert.equal(r.authorized, true, r.error);
  assert.deepEqual(r.names, ['custom.test']);
  assert.equal(stats().issued, 1);
});

test('a renewed pair is served at once, also without SNI; a broken one is refused and the old stays', async () => {
  const before = await handshake(port, 'alice.blot.test', trust);
  await install(await ca.issue(['*.blot.test', 'blot.test'], 60));
  await waitFor(async () => (await handshake(port, 'alice.blot.test', trust)).serial !== before.serial, 'the renewed wildcard to be served');
  const renewed = await handshake(port, 'bob.blot.test', trust);
  assert.equal(renewed.authorized, true);
  await waitFor(async () => (await handshake(port, undefined, trust)).serial === renewed.serial, 'the renewed wildcard as the default (no SNI)');

  // A pair that does not cover the patterns: refused, the renewed one stays in service.
  await install(await ca.issue(['other.test']));
  await waitFor(() => stats().statics!.refused === 1, 'the wrong pair to be refused');
  const after = await handshake(port, 'carol.blot.test', trust);
  assert.equal(after.serial, renewed.serial);
  assert.equal(after.authorized, true);
  // A key that is not the certificate's: refused too.
  const good = await ca.issue(['*.blot.test', 'blot.test']);
  const other = await ca.issue(['*.blot.test', 'blot.test']);
  await install({ certPem: good.certPem, keyPem: other.keyPem });
  await waitFor(() => stats().statics!.refused === 2, 'the mismatched pair to be refused');
  assert.equal((await handshake(port, 'dave.blot.test', trust)).serial, renewed.serial);
  assert.equal(stats().issued, 1, 'still only the custom domain was ever ordered');
});
