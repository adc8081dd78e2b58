// Many nodes on one Redis: a certificate ordered by one node is validated through another (HTTP-01
// tokens live in Redis) and served by both; simultaneous first handshakes on two nodes make one
// order between them (the issuance lock); the platform's own certificates (`ssl:{host}:latest`)
// are served without an order; the platform's domain list (`domain:{host}`) decides who may have one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { startPebble, type TestPebble } from './helpers/pebble.js';
import { handshake, startTlsNode, type TlsNode } from './helpers/tls.js';
import { RedisCertStore } from '../src/tls/redis-cert-store.js';
import { RedisDomainSource } from '../src/sites/redis-domains.js';
import { CachedDomainSource } from '../src/sites/cached-domains.js';
import { selfSignedCertificate } from '../src/tls/self-signed.js';

describe('on-demand TLS on two nodes sharing Redis', () => {
  let redisServer: TestRedis;
  let pebble: TestPebble;
  let root: string;
  const clients: Redis[] = [];
  let a: TlsNode;
  let b: TlsNode;

  const redisClient = () => {
    const c = new Redis(redisServer.url);
    clients.push(c);
    return c;
  };
  // Each node has its own connection, as separate processes would.
  const node = (http01: boolean) => {
    const redis = redisClient();
    return startTlsNode({
      pebble,
      store: new RedisCertStore(redis),
      names: ['*.sites.test'],
      sources: [new CachedDomainSource(new RedisDomainSource(redis), { negativeTtlMs: 100 })],
      http01,
    });
  };

  before(async () => {
    [redisServer, pebble] = await Promise.all([startRedis(), startPebble()]);
    root = await pebble.root();
    a = await node(false); // places orders, cannot answer HTTP-01 itself
    b = await node(true); // answers HTTP-01 on pebble's port from Redis
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    for (const c of clients) c.disconnect();
    await pebble?.stop();
    await redisServer?.stop();
  });

  const orders = () => a.issuer.stats().orders + b.issuer.stats().orders;

  test('HTTP-01 is answered by the node that did not place the order', async () => {
    const onA = await handshake(a.port, 'shared.sites.test', [root]);
    assert.equal(onA.authorized, true, onA.error);
    assert.equal(a.issuer.stats().orders, 1);
    assert.equal(b.issuer.stats().orders, 0);
    const onB = await handshake(b.port, 'shared.sites.test', [root]);
    assert.equal(onB.authorized, true);
    assert.equal(onB.serial, onA.serial, 'node B serves the certificate node A stored');
    assert.equal(b.issuer.stats().orders, 0);
    const tokens = await clients[0]!.keys('blotcdn:tls:challenge:*');
    assert.deepEqual(tokens, [], 'challenge tokens are removed after validation');
  });

  test('simultaneous first handshakes on both nodes make one order between them', async () => {
    const before = orders();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => handshake(i % 2 ? a.port : b.port, 'both.sites.test', [root])),
    );
    for (const r of results) assert.equal(r.authorized, true, r.error);
    assert.equal(new Set(results.map((r) => r.serial)).size, 1);
    assert.equal(orders() - before, 1);
    assert.equal(await clients[0]!.exists('blotcdn:tls:lock:issue:both.sites.test'), 0, 'the lock is released');
  });

  test("a certificate the platform holds in ssl:{host}:latest is served without an order", async () => {
    const legacy = await selfSignedCertificate({ commonName: 'legacy.example.org', names: ['legacy.example.org'] });
    const redis = clients[0]!;
    await redis.set('domain:legacy.example.org', 'blog_0123456789abcdef0123456789abcdef');
    await redis.set('ssl:legacy.example.org:latest', JSON.stringify({ fullchain_pem: legacy.certPem, privkey_pem: legacy.keyPem }));
    const before = orders();
    for (const n of [a, b]) {
      const r = await handshake(n.port, 'legacy.example.org', [legacy.certPem]);
      assert.equal(r.authorized, true, r.error);
      assert.deepEqual(r.names, ['legacy.example.org']);
    }
    assert.equal(orders(), before);
    const listed = await a.manager.list();
    assert.equal(listed.find((l) => l.host === 'legacy.example.org')?.source, 'platform');
  });

  test("the platform's domain list decides which hosts get a certificate", async () => {
    const redis = clients[0]!;
    await redis.set('domain:listed.example.org', 'blog_0123456789abcdef0123456789abcdef');
    const before = orders();
    const listed = await handshake(a.port, 'listed.example.org', [root]);
    assert.equal(listed.authorized, true, listed.error);
    assert.equal(orders(), before + 1);
    const unlisted = await handshake(a.port, 'unlisted.example.org', [root]);
    assert.equal(unlisted.authorized, false);
    assert.deepEqual(unlisted.names, ['blotcdn default certificate']);
    assert.equal(orders(), before + 1);
  });
});
