// On-demand TLS against a real ACME server (pebble): the first handshake for an allowed name
// issues and serves a chain the client verifies; later handshakes come from memory; a restart
// serves from the store; denied and random names make no order; concurrent first handshakes
// share one order; HTTP/2 and HTTP/1.1 requests through the HttpsListener; session resumption.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPebble, type TestPebble } from './helpers/pebble.js';
import { handshake, startTlsNode, tlsSession, type TlsNode } from './helpers/tls.js';
import { FsCertStore } from '../src/tls/fs-cert-store.js';

describe('on-demand TLS with pebble (file store)', () => {
  let pebble: TestPebble;
  let root: string;
  let dir: string;
  let node: TlsNode;
  const ca = () => [root];

  before(async () => {
    pebble = await startPebble();
    root = await pebble.root();
    dir = await mkdtemp(join(tmpdir(), 'blotcdn-certs-'));
    node = await startTlsNode({ pebble, store: new FsCertStore(dir), names: ['*.sites.test', 'www.example.com'] });
  });

  after(async () => {
    await node?.stop();
    await pebble?.stop();
  });

  test('the first handshake for an allowed name issues a certificate the client verifies', async () => {
    const first = await handshake(node.port, 'first.sites.test', ca());
    assert.equal(first.error, undefined);
    assert.equal(first.authorized, true);
    assert.deepEqual(first.names, ['first.sites.test']);
    assert.equal(node.issuer.stats().orders, 1);
    assert.equal(node.manager.stats().issued, 1);
    console.log(`# first handshake with issuance: ${first.ms.toFixed(0)} ms`);

    const second = await handshake(node.port, 'first.sites.test', ca());
    assert.equal(second.authorized, true);
    assert.equal(second.serial, first.serial);
    assert.equal(node.issuer.stats().orders, 1, 'no new order for the second handshake');
    assert.ok(node.manager.stats().cacheHits >= 1);
    console.log(`# second handshake (memory): ${second.ms.toFixed(1)} ms`);

    const file = await stat(join(dir, 'certs', 'first.sites.test.pem'));
    assert.equal(file.mode & 0o777, 0o600, 'the key file is private');
  });

  test('a restarted node serves the stored certificate without a new order', async () => {
    const first = await handshake(node.port, 'restart.sites.test', ca());
    assert.equal(first.authorized, true);
    const restarted = await startTlsNode({ pebble, store: new FsCertStore(dir), names: ['*.sites.test'], http01: false });
    try {
      const again = await handshake(restarted.port, 'restart.sites.test', ca());
      assert.equal(again.authorized, true);
      assert.equal(again.serial, first.serial);
      assert.equal(restarted.issuer.stats().orders, 0);
      assert.equal(restarted.manager.stats().storeHits, 1);
    } finally {
      await restarted.stop();
    }
  });

  test('a denied name gets the default certificate and no order', async () => {
    const before = node.issuer.stats().orders;
    for (const name of ['evil.example.net', 'a.b.sites.test', 'localhost', 'x.localhost', 'sites.test']) {
      const r = await handshake(node.port, name, ca());
      assert.equal(r.authorized, false, name);
      assert.deepEqual(r.names, ['blotcdn default certificate'], name);
    }
    const noSni = await handshake(node.port, undefined, ca());
    assert.deepEqual(noSni.names, ['blotcdn default certificate']);
    assert.equal(node.issuer.stats().orders, before);
    assert.ok(node.manager.stats().denied >= 5);
  });

  test('HTTP-01 answers: known tokens, allowed hosts, challenge paths only', async () => {
    await node.manager.store.putChallenge('http-01', 'tok_EN-1', 'tok_EN-1.thumbprint', 60_000);
    const answer = (host: string, path: string) => node.manager.answerHttp01(host, path);
    assert.equal(await answer('any.sites.test', '/.well-known/acme-challenge/tok_EN-1'), 'tok_EN-1.thumbprint');
    assert.equal(await answer('any.sites.test:80', '/.well-known/acme-challenge/tok_EN-1'), 'tok_EN-1.thumbprint');
    assert.equal(await answer('evil.example.net', '/.well-known/acme-challenge/tok_EN-1'), undefined);
    assert.equal(await answer('any.sites.test', '/.well-known/acme-challenge/unknown'), undefined);
    assert.equal(await answer('any.sites.test', '/.well-known/acme-challenge/../../etc'), undefined);
    assert.equal(await answer('any.sites.test', '/tok_EN-1'), undefined);
  });

  test('10 concurrent first handshakes for one name share one order', async () => {
    const before = node.issuer.stats().orders;
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 10 }, () => handshake(node.port, 'crowd.sites.test', ca())));
    const wall = performance.now() - started;
    for (const r of results) assert.equal(r.authorized, true, r.error);
    assert.equal(new Set(results.map((r) => r.serial)).size, 1);
    assert.equal(node.issuer.stats().orders - before, 1);
    const ms = results.map((r) => r.ms).sort((a, b) => a - b);
    console.log(`# 10 concurrent first handshakes: 1 order, p50 ${ms[4]!.toFixed(0)} ms, max ${ms[9]!.toFixed(0)} ms, wall ${wall.toFixed(0)} ms`);
  });

  test('20 new names at once all succeed', async () => {
    const before = node.issuer.stats().orders;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => handshake(node.port, `n${i}.sites.test`, ca())));
    const failed = results.filter((r) => !r.authorized);
    assert.equal(failed.length, 0, failed.map((r) => r.error).join('; '));
    assert.equal(node.issuer.stats().orders - before, 20);
    const ms = results.map((r) => r.ms).sort((a, b) => a - b);
    console.log(`# 20 new names at once: 0 failed, p50 ${ms[9]!.toFixed(0)} ms, p99 ${ms[19]!.toFixed(0)} ms`);
  });

  test('a flood of handshakes with random names makes zero ACME orders', async () => {
    const before = node.issuer.stats();
    const names = Array.from({ length: 300 }, () => `${Math.random().toString(36).slice(2)}.attacker${Math.floor(Math.random() * 1e6)}.net`);
    for (let i = 0; i < names.length; i += 50) {
      const batch = await Promise.all(names.slice(i, i + 50).map((n) => handshake(node.port, n, ca())));
      for (const r of batch) assert.equal(r.authorized, false);
    }
    const afterFlood = node.issuer.stats();
    assert.equal(afterFlood.orders, before.orders);
    assert.equal(afterFlood.refused, before.refused, 'not even a refused order: the policy stops them first');
  });

  test('HTTP/2 and HTTP/1.1 requests through the HTTPS listener', async () => {
    const client = h2connect(`https://h2.sites.test:${node.port}`, { ca: ca(), lookup: (_h, _o, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }] as never, 4) });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = client.request({ ':path': '/' });
        let text = '';
        req.setEncoding('utf8');
        req.on('data', (d) => (text += d));
        req.on('end', () => resolve(text));
        req.on('error', reject);
      });
      assert.equal(body, 'hello h2.sites.test:' + node.port + ' over 2.0');
    } finally {
      client.close();
    }
    const http1 = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: node.port, servername: 'h2.sites.test', ca: ca(), ALPNProtocols: ['http/1.1'] }, () => {
        socket.write('GET / HTTP/1.1\r\nhost: h2.sites.test\r\nconnection: close\r\n\r\n');
      });
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(http1, /^HTTP\/1\.1 200/);
    assert.match(http1, /hello h2\.sites\.test over 1\.1$/);
  });

  test('TLS sessions resume with tickets', async () => {
    const first = await tlsSession(node.port, 'first.sites.test', { ca: ca() });
    assert.ok(first.ticket, 'a ticket was issued');
    const second = await tlsSession(node.port, 'first.sites.test', { ca: ca(), session: first.ticket });
    assert.equal(second.reused, true);
  });
});
