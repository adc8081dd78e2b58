// HttpsListener without ACME: HTTP/2 and HTTP/1.1 on one port, `acme-tls/1` connections routed to
// the challenge responder (and only those), and a graceful close that lets in-flight requests on
// both protocols finish while idle connections go at once.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';
import { HttpsListener } from '../src/server/https-listener.js';
import { selfSignedCertificate } from '../src/tls/self-signed.js';
import type { StoredCert } from '../src/tls/cert-store.js';

describe('HttpsListener', () => {
  let site: StoredCert;
  let challenge: StoredCert;
  let fallback: StoredCert;
  let siteCtx: SecureContext;

  before(async () => {
    [site, challenge, fallback] = await Promise.all([
      selfSignedCertificate({ commonName: 'site', names: ['www.site.test'] }),
      selfSignedCertificate({ commonName: 'challenge', names: ['www.site.test'] }),
      selfSignedCertificate(),
    ]);
    siteCtx = createSecureContext({ cert: site.certPem, key: site.keyPem });
  });

  const provider = () => ({
    sniCallback: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => cb(null, name === 'www.site.test' ? siteCtx : undefined),
    alpnChallengeCallback: (_name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => cb(null, createSecureContext({ cert: challenge.certPem, key: challenge.keyPem })),
    defaultCertificate: fallback,
  });

  const peerCN = (port: number, ALPNProtocols: string[]) =>
    new Promise<{ cn: string; alpn: string | false | null }>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, servername: 'www.site.test', rejectUnauthorized: false, ALPNProtocols }, () => {
        resolve({ cn: String(s.getPeerCertificate().subject.CN), alpn: s.alpnProtocol });
        s.destroy();
      });
      s.on('error', reject);
    });

  test('readers get the site certificate; only acme-tls/1 connections get the challenge one', async () => {
    const listener = new HttpsListener({ host: '127.0.0.1', port: 0 }, provider(), (_req, res) => res.end('ok'));
    const { port } = await listener.listen();
    try {
      assert.deepEqual(await peerCN(port, ['h2', 'http/1.1']), { cn: 'site', alpn: 'h2' });
      assert.deepEqual(await peerCN(port, ['http/1.1']), { cn: 'site', alpn: 'http/1.1' });
      assert.deepEqual(await peerCN(port, ['acme-tls/1']), { cn: 'challenge', alpn: 'acme-tls/1' });
    } finally {
      await listener.close(100);
    }
  });

  test('close: in-flight HTTP/2 and HTTP/1.1 requests finish, idle connections go, new ones are refused', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const listener = new HttpsListener({ host: '127.0.0.1', port: 0 }, provider(), (req, res) => {
      if (req.url === '/slow') void gate.then(() => res.end('slow done'));
      else res.end('fast');
    });
    const { port } = await listener.listen();
    const h2 = h2connect(`https://www.site.test:${port}`, { rejectUnauthorized: false, lookup: (_h, _o, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }] as never, 4) });
    const h2body = new Promise<string>((resolve, reject) => {
      const r = h2.request({ ':path': '/slow' });
      let b = '';
      r.setEncoding('utf8');
      r.on('data', (d) => (b += d));
      r.on('end', () => resolve(b));
      r.on('error', reject);
    });
    const http1 = (path: string) =>
      new Promise<{ text: string; closedAt: number }>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port, servername: 'www.site.test', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => s.write(`GET ${path} HTTP/1.1\r\nhost: www.site.test\r\n\r\n`));
        let text = '';
        s.on('data', (d) => (text += d));
        s.on('close', () => resolve({ text, closedAt: Date.now() }));
        s.on('error', reject);
      });
    const slow1 = http1('/slow');
    const idle1 = http1('/fast'); // keep-alive: stays open, idle, after its answer
    await new Promise((r) => setTimeout(r, 100));
    const closeStarted = Date.now();
    const closed = listener.close(5_000);
    const idle = await idle1;
    assert.match(idle.text, /fast$/);
    assert.ok(idle.closedAt - closeStarted < 1_000, 'the idle keep-alive connection is closed at once');
    await assert.rejects(peerCN(port, ['h2']), 'no new connections');
    release();
    assert.equal(await h2body, 'slow done');
    const slow = await slow1;
    assert.match(slow.text, /^HTTP\/1\.1 200/);
    assert.match(slow.text, /slow done$/);
    await closed;
    assert.ok(Date.now() - closeStarted < 4_000, 'close resolved without waiting for the grace period');
    h2.close();
  });

  /** One TLS connection: whether it resumed, and the ticket it was given (TLS 1.3 sends it after the handshake). */
  const connectOnce = (port: number, session?: Buffer) =>
    new Promise<{ reused: boolean; ticket: Buffer | undefined }>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'www.site.test', rejectUnauthorized: false, session });
      let ticket: Buffer | undefined;
      socket.on('session', (t: Buffer) => (ticket = t));
      socket.once('secureConnect', () => {
        setTimeout(() => {
          resolve({ reused: socket.isSessionReused(), ticket });
          socket.end();
        }, 50);
      });
      socket.on('error', reject);
    });

  test('the random ticket key is replaced on schedule: older tickets stop resuming', async () => {
    const listener = new HttpsListener({ host: '127.0.0.1', port: 0 }, provider(), (_req, res) => res.end('ok'), { ticketKeyRotationMs: 400 });
    const { port } = await listener.listen();
    try {
      const first = await connectOnce(port);
      assert.ok(first.ticket, 'a ticket was issued');
      assert.equal((await connectOnce(port, first.ticket)).reused, true, 'resumes before the rotation');
      await new Promise((r) => setTimeout(r, 900));
      const later = await connectOnce(port, first.ticket);
      assert.equal(later.reused, false, 'a ticket from before the rotation is refused (full handshake)');
      assert.equal((await connectOnce(port, later.ticket)).reused, true, 'the new key issues tickets that resume');
    } finally {
      await listener.close(100);
    }
  });

  test('configured ticket keys are shared by nodes and never rotated by the edge', async () => {
    const ticketKeys = Buffer.alloc(48, 7);
    const options = { ticketKeys, ticketKeyRotationMs: 200 };
    const a = new HttpsListener({ host: '127.0.0.1', port: 0 }, provider(), (_req, res) => res.end('a'), options);
    const b = new HttpsListener({ host: '127.0.0.1', port: 0 }, provider(), (_req, res) => res.end('b'), options);
    const [pa, pb] = await Promise.all([a.listen(), b.listen()]);
    try {
      const first = await connectOnce(pa.port);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await connectOnce(pb.port, first.ticket)).reused, true, 'a ticket from node a resumes on node b, after the rotation period');
    } finally {
      await Promise.all([a.close(100), b.close(100)]);
    }
  });
});
