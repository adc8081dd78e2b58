// Short-lived certificates from pebble (15 s): TLS-ALPN-01 issuance answered by the HTTPS listener
// itself; background renewal before expiry with every handshake meanwhile succeeding; and when
// renewal cannot succeed, the old certificate is served until it expires and never after.
//
// The certificates are real (pebble issues them for real time, and the client checks them against
// it), but when a certificate is due for renewal or has expired is decided by the edge's clock,
// which the test moves to that moment instead of waiting 15 s for it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPebble, type TestPebble } from './helpers/pebble.js';
import { handshake, startTlsNode, type TlsNode } from './helpers/tls.js';
import { manualClock } from './helpers/clock.js';
import { waitFor } from './helpers/wait.js';
import { FsCertStore } from '../src/tls/fs-cert-store.js';
import { renewalTime } from '../src/tls/certificate.js';

const VALIDITY_S = 15;
const tmp = () => mkdtemp(join(tmpdir(), 'blotcdn-certs-'));
/** Renewal exactly when a third of the lifetime is left (no random advance), checked every 200 ms. */
const renewal = { renewCheckIntervalMs: 200, renewJitterMs: 0 };

/** Stops a node once the orders it has under way are done (pebble must outlive them). */
async function stopNode(node: TlsNode): Promise<void> {
  await waitFor(() => node.manager.stats().pending === 0, 'the node’s orders under way to finish', 60_000);
  await node.stop();
}

// One test at a time: the edge's clock is the process's. Each test has its own nodes, so moving
// the clock for one never makes another's certificates look old.
describe('short-lived certificates', () => {
  let pebble: TestPebble;
  let root: string;
  const node = async (t: { after(fn: () => Promise<void>): void }, options: Omit<Parameters<typeof startTlsNode>[0], 'pebble'>) => {
    const n = await startTlsNode({ pebble, ...options });
    t.after(() => stopNode(n));
    return n;
  };

  before(async () => {
    pebble = await startPebble({ validitySeconds: VALIDITY_S });
    root = await pebble.root();
  });

  after(async () => {
    await pebble?.stop();
  });

  test('TLS-ALPN-01: the HTTPS listener answers the validation itself', async (t) => {
    const alpn = await node(t, {
      store: new FsCertStore(await tmp()),
      names: ['*.alpn.test'],
      http01: false,
      tlsAlpn01: true,
      issuer: { challenges: ['tls-alpn-01'] },
    });
    // Readers' handshakes during the validation get the real certificate, never the challenge one.
    const results = await Promise.all(Array.from({ length: 5 }, () => handshake(alpn.port, 'first.alpn.test', [root])));
    for (const r of results) {
      assert.equal(r.authorized, true, r.error);
      assert.deepEqual(r.names, ['first.alpn.test']);
    }
    assert.equal(alpn.issuer.stats().orders, 1);
    console.log(`# TLS-ALPN-01, 5 concurrent first handshakes: max ${Math.max(...results.map((r) => r.ms)).toFixed(0)} ms`);
  });

  test('renewal happens in the background and no handshake fails', async (t) => {
    const clock = manualClock(t);
    // Answers HTTP-01 on pebble's port (from its own store only).
    const main = await node(t, { store: new FsCertStore(await tmp()), names: ['*.renew.test'], manager: renewal });
    const host = 'keep.renew.test';
    const first = await handshake(main.port, host, [root]);
    assert.equal(first.authorized, true, first.error);
    const cert = (await main.manager.store.getCert(host))!;
    const renewAt = renewalTime(cert);
    assert.ok(renewAt < cert.notAfter && renewAt > clock.now(), 'a renewal time between now and the expiry');

    // A second before the renewal time: handshakes keep the certificate and start nothing.
    clock.advance(renewAt - 1_000 - clock.now());
    const early = await handshake(main.port, host, [root]);
    assert.equal(early.serial, first.serial);
    assert.equal(main.manager.stats().pending, 0, 'not due yet: no renewal started');

    // At the renewal time the renewer's own timer starts it, with no handshake to notice.
    clock.advance(1_000);
    await waitFor(() => main.manager.stats().pending > 0 || main.manager.stats().renewed > 0, 'the background renewal to start', 30_000);
    // Handshakes meanwhile all succeed, with the old certificate until the new one is in.
    let served = 0;
    await waitFor(
      async () => {
        const r = await handshake(main.port, host, [root]);
        assert.equal(r.authorized, true, `handshake ${served} during the renewal failed: ${r.error}`);
        served++;
        return r.serial !== first.serial;
      },
      'the renewed certificate to be served',
      30_000,
    );
    assert.ok(clock.now() < cert.notAfter, 'the edge never reached the first certificate’s expiry');
    assert.ok(main.manager.stats().renewed >= 1);
    console.log(`# renewed a third of the lifetime before expiry (lifetime ${VALIDITY_S} s); ${served} handshakes during the renewal`);
  });

  test('a certificate that cannot be renewed is served until it expires, never after', async (t) => {
    const clock = manualClock(t);
    // The certificate comes from a seeding node, stopped once it has it; the doomed node holds a
    // copy in its own store, and its orders fail (pebble's HTTP-01 requests still go to the
    // seeding node, which no longer answers).
    const seed = await startTlsNode({ pebble, store: new FsCertStore(await tmp()), names: ['*.doomed.test'], manager: renewal });
    const seeded = await handshake(seed.port, 'x.doomed.test', [root]);
    assert.equal(seeded.authorized, true, seeded.error);
    const cert = (await seed.manager.store.getCert('x.doomed.test'))!;
    await stopNode(seed);
    const store = new FsCertStore(await tmp());
    await store.putCert('x.doomed.test', cert);
    const doomed = await node(t, { store, names: ['*.doomed.test'], http01: false, issuer: { challenges: ['http-01'] }, manager: renewal });

    // Past the renewal time: renewals are tried and fail, and the old certificate is still served.
    clock.advance(renewalTime(cert) - clock.now());
    await waitFor(
      async () => {
        const r = await handshake(doomed.port, 'x.doomed.test', [root]);
        assert.equal(r.serial, seeded.serial, 'the old certificate is served while renewal fails');
        assert.equal(r.authorized, true, r.error);
        return doomed.manager.stats().renewalFailures >= 1;
      },
      'a renewal to fail',
      30_000,
    );

    // Its last millisecond: still served.
    clock.advance(cert.notAfter - 1 - clock.now());
    const last = await handshake(doomed.port, 'x.doomed.test', [root]);
    assert.equal(last.serial, seeded.serial, 'served until it expires');
    assert.equal(last.authorized, true, last.error);

    // Expired: never served again, however it is looked for (memory, the store).
    clock.advance(1);
    for (let i = 0; i < 3; i++) {
      const r = await handshake(doomed.port, 'x.doomed.test', [root]);
      assert.notEqual(r.serial, seeded.serial, 'the expired certificate was served');
      assert.deepEqual(r.names, ['blotcdn default certificate']);
    }
    const stats = doomed.manager.stats();
    assert.ok(stats.renewalFailures >= 1, JSON.stringify(stats));
    assert.equal(stats.renewed, 0);
  });
});
