// Short-lived certificates from pebble (15 s): TLS-ALPN-01 issuance answered by the HTTPS listener
// itself; background renewal before expiry with every handshake meanwhile succeeding; and when
// renewal cannot succeed, the old certificate is served until it expires and never after.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPebble, type TestPebble } from './helpers/pebble.js';
import { handshake, startTlsNode, type TlsNode } from './helpers/tls.js';
import { FsCertStore } from '../src/tls/fs-cert-store.js';

const VALIDITY_S = 15;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp = () => mkdtemp(join(tmpdir(), 'blotcdn-certs-'));

describe('short-lived certificates', { concurrency: true }, () => {
  let pebble: TestPebble;
  let root: string;
  let main: TlsNode;
  const nodes: TlsNode[] = [];

  before(async () => {
    pebble = await startPebble({ validitySeconds: VALIDITY_S });
    root = await pebble.root();
    // Answers HTTP-01 on pebble's port (from its own store only).
    main = await startTlsNode({ pebble, store: new FsCertStore(await tmp()), names: ['*.renew.test', '*.doomed.test'], manager: { renewCheckIntervalMs: 200 } });
    nodes.push(main);
  });

  after(async () => {
    for (const n of nodes) await n.stop();
    await pebble?.stop();
  });

  test('TLS-ALPN-01: the HTTPS listener answers the validation itself', async () => {
    const node = await startTlsNode({
      pebble,
      store: new FsCertStore(await tmp()),
      names: ['*.alpn.test'],
      http01: false,
      tlsAlpn01: true,
      issuer: { challenges: ['tls-alpn-01'] },
    });
    nodes.push(node);
    // Readers' handshakes during the validation get the real certificate, never the challenge one.
    const results = await Promise.all(Array.from({ length: 5 }, () => handshake(node.port, 'first.alpn.test', [root])));
    for (const r of results) {
      assert.equal(r.authorized, true, r.error);
      assert.deepEqual(r.names, ['first.alpn.test']);
    }
    assert.equal(node.issuer.stats().orders, 1);
    console.log(`# TLS-ALPN-01, 5 concurrent first handshakes: max ${Math.max(...results.map((r) => r.ms)).toFixed(0)} ms`);
  });

  test('renewal happens in the background and no handshake fails', async () => {
    const first = await handshake(main.port, 'keep.renew.test', [root]);
    assert.equal(first.authorized, true, first.error);
    const firstExpiry = Date.parse(first.validTo!);
    const serials = new Set([first.serial]);
    let renewedAt: number | undefined;
    // A handshake every 250 ms until past the first certificate's expiry.
    while (Date.now() < firstExpiry + 1_000) {
      const r = await handshake(main.port, 'keep.renew.test', [root]);
      assert.equal(r.authorized, true, `handshake failed at ${new Date().toISOString()}: ${r.error}`);
      if (!serials.has(r.serial)) {
        serials.add(r.serial);
        renewedAt ??= Date.now();
      }
      await sleep(250);
    }
    assert.ok(renewedAt !== undefined && renewedAt < firstExpiry, 'a new certificate was served before the first expired');
    assert.ok(main.manager.stats().renewed >= 1);
    console.log(`# renewed ${((firstExpiry - renewedAt!) / 1000).toFixed(1)} s before expiry (lifetime ${VALIDITY_S} s)`);
  });

  test('a certificate that cannot be renewed is served until it expires, never after', async () => {
    // The certificate comes from the main node; the doomed node holds a copy in its own store,
    // and its orders fail (pebble's HTTP-01 request reaches the main node, which has no such token).
    const seeded = await handshake(main.port, 'x.doomed.test', [root]);
    assert.equal(seeded.authorized, true, seeded.error);
    const store = new FsCertStore(await tmp());
    await store.putCert('x.doomed.test', (await main.manager.store.getCert('x.doomed.test'))!);
    const doomed = await startTlsNode({ pebble, store, names: ['*.doomed.test'], http01: false, issuer: { challenges: ['http-01'] }, manager: { renewCheckIntervalMs: 200 } });
    nodes.push(doomed);
    const expiry = Date.parse(seeded.validTo!);
    let servedOld = 0;
    let servedDefault = 0;
    while (Date.now() < expiry + 1_500) {
      const startedAt = Date.now();
      const r = await handshake(doomed.port, 'x.doomed.test', [root]);
      if (r.serial === seeded.serial) {
        assert.ok(startedAt < expiry, `the expired certificate was served at ${new Date(startedAt).toISOString()}`);
        assert.equal(r.authorized, true);
        servedOld++;
      } else {
        assert.ok(startedAt >= expiry - 1_000, `the old certificate was dropped ${expiry - startedAt} ms before it expired`);
        assert.deepEqual(r.names, ['blotcdn default certificate']);
        servedDefault++;
      }
      await sleep(250);
    }
    assert.ok(servedOld > 0 && servedDefault > 0, `old ${servedOld}, default ${servedDefault}`);
    const stats = doomed.manager.stats();
    assert.ok(stats.renewalFailures >= 1, JSON.stringify(stats));
    assert.equal(stats.renewed, 0);
  });
});
