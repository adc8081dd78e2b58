// HttpsListener without ACME: HTTP/2 and HTTP/1.1 on one port, `acme-tls/1` connections routed to
// the challenge responder (and only those), and a graceful close that lets in-flight requests on
// both protocols finish while idle connections go at once. The ticket-key rotation is a task due by
// the edge's clock, which the test moves, and the close is judged by the order of events (the idle
// connection goes while the busy ones are still held), never by milliseconds.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';
import { HttpsListener } from '../src/server/https-listener.js';
import { TaskRunner } from '../src/tasks/task-runner.js';
import { selfSignedCertificate } from '../src/tls/self-signed.js';
import type { StoredCert } from '../src/tls/cert-store.js';
import { tlsSession } from './helpers/tls.js';
import { waitFor } from './helpers/wait.js';
import { manualClock } from './helpers/clock.js';

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
    let slowSeen = 0;
    const listener = new HttpsListener({ host: '127.0.0.1', port: 0 }, provider(), (req, res) => {
      if (req.url === '/slow') {
        slowSeen++;
        void gate.then(() => res.end('slow done'));
      } else res.end('fast');
    });
    const { port } = await listener.listen();
    const h2 = h2connect(`https://www.site.test:${port}`, { rejectUnauthorized: false, lookup: (_h, _o, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }] as never, 4) });
    let h2done = false;
    const h2body = new Promise<string>((resolve, reject) => {
      const r = h2.request({ ':path': '/slow' });
      let b = '';
      r.setEncoding('utf8');
      r.on('data', (d) => (b += d));
      r.on('end', () => ((h2done = true), resolve(b)));
      r.on('error', reject);
    });
    /** An HTTP/1.1 keep-alive connection sending one request; `text` grows as the answer comes. */
    const http1 = (path: string) => {
      const conn = { text: '', closed: false, done: undefined as unknown as Promise<string> };
      conn.done = new Promise<string>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port, servername: 'www.site.test', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => s.write(`GET ${path} HTTP/1.1\r\nhost: www.site.test\r\n\r\n`));
        s.on('data', (d) => (conn.text += d));
        s.on('close', () => ((conn.closed = true), resolve(conn.text)));
        s.on('error', reject);
      });
      return conn;
    };
    const slow1 = http1('/slow');
    const idle1 = http1('/fast'); // keep-alive: stays open, idle, after its answer
    await waitFor(() => slowSeen === 2 && /fast$/.test(idle1.text), 'both slow requests to be in flight and the fast one answered');
    // A grace period far longer than the test: anything closed before the release was closed by
    // close() itself, and close() resolving means the connections finished, not that it gave up.
    let closeResolved = false;
    const closed = listener.close(120_000).then(() => (closeResolved = true));
    await waitFor(() => idle1.closed, 'the idle keep-alive connection to be closed');
    assert.match(await idle1.done, /fast$/);
    assert.ok(!slow1.closed && !h2done, 'the idle connection went at once, while the busy ones were still in flight');
    await assert.rejects(peerCN(port, ['h2']), 'no new connections');
    release();
    assert.equal(await h2body, 'slow done');
    const slow = await slow1.done;
    assert.match(slow, /^HTTP\/1\.1 200/);
    assert.match(slow, /slow done$/);
    await waitFor(() => closeResolved, 'close() to resolve once the last request finished');
    await closed;
    h2.close();
  });

  test('the random ticket key is replaced on schedule: older tickets stop resuming', async (t) => {
    // The rotation is a periodic task on a task runner, due by the edge's clock, which the test moves.
    const clock = manualClock(t);
    const runner = new TaskRunner();
    t.after(() => runner.stop());
    const listener = new HttpsListener({ host: '127.0.0.1', port: 0 }, provider(), (_req, res) => res.end('ok'), { ticketKeyRotationMs: 400, scheduler: runner });
    const { port } = await listener.listen();
    const connect = (session?: Buffer) => tlsSession(port, 'www.site.test', { session });
    try {
      const first = await connect();
      assert.ok(first.ticket, 'a ticket was issued');
      assert.equal((await connect(first.ticket)).reused, true, 'resumes before the rotation');
      clock.advance(399);
      assert.equal(runner.runDue(), 0, 'no rotation before the period ends');
      assert.equal((await connect(first.ticket)).reused, true, 'still resumes just before the period ends');
      clock.advance(1);
      assert.equal(runner.runDue(), 1, 'the rotation is due');
      const later = await connect(first.ticket);
      assert.equal(later.reused, false, 'a ticket from before the rotation is refused (full handshake)');
      assert.equal((await connect(later.ticket)).reused, true, 'the new key issues tickets that resume');
    } finally {
      await listener.close(100);
    }
  });

  test('configured ticket keys are shared by nodes and never rotated by the edge', async (t) => {
    const clock = manualClock(t);
    const runner = new TaskRunner();
    t.after(() => runner.stop());
    const ticketKeys = Buffer.alloc(48, 7);
    const options = { ticketKeys, ticketKeyRotationMs: 200, scheduler: runner };
    const a = new HttpsListener({ host: '127.0.0.1', port: 0 }, provider(), (_req, res) => res.end('a'), options);
    const b = new HttpsListener({ host: '127.0.0.1', port: 0 }, provider(), (_req, res) => res.end('b'), options);
    const [pa, pb] = await Promise.all([a.listen(), b.listen()]);
    try {
      const first = await tlsSession(pa.port, 'www.site.test');
      assert.ok(first.ticket, 'a ticket was issued');
      clock.advance(500);
      assert.equal(runner.runDue(), 0, 'no rotation was scheduled');
      assert.equal((await tlsSession(pb.port, 'www.site.test', { session: first.ticket })).reused, true, 'a ticket from node a resumes on node b, after the rotation period');
    } finally {
      await Promise.all([a.close(100), b.close(100)]);
    }
  });
});
