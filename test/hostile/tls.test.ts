// Hostile: TLS in front of the cache, with a real ACME CA (pebble). A name not on the list gets the
// default certificate and no order, however it is spelled (random names, wildcards, IPs, local
// names, over-long or NUL-laden names in a hand-made ClientHello); a listed name spelled in upper
// case or with a trailing dot is the same certificate; a request for another host than the
// connection's name is 421 (domain fronting), on HTTP/1.1 and HTTP/2; no SNI gets a certificate
// that names no site; garbage, plain HTTP, old protocol versions and renegotiation floods are
// refused, and the listener keeps serving.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect as http2Connect } from 'node:http2';
import { connect as netConnect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPebble, type TestPebble } from '../helpers/pebble.js';
import { handshake } from '../helpers/tls.js';
import { send, stage as startStage, type Stage } from './harness.js';

let pebble: TestPebble;
let root: string;
let current: Stage | undefined;
const stage = () => current!;
// One hook, in order: the CA, then the edge that uses it (pebble validates HTTP-01 at its HTTP listener).
before(async () => {
  pebble = await startPebble();
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-hostile-tls-'));
  await writeFile(join(dir, 'acme-ca.pem'), pebble.apiCa);
  root = await pebble.root();
  current = await startStage({
    config: (url) => ({
      listen: { http: '127.0.0.1:0', https: '127.0.0.1:0' },
      tls: { store: { dir: join(dir, 'certs') }, acme: { directory: pebble.directoryUrl, ca: join(dir, 'acme-ca.pem'), challenges: ['http-01'], pollMin: '100ms' } },
      originGroups: { main: { members: [{ url }] } },
      // Plain HTTP is kept (no redirect) so the harness's sentinel works on the HTTP listener.
      sites: [{ hosts: ['a.test', 'b.test', '*.blot.test'], originGroup: 'main', redirectToHttps: false }],
    }),
  });
  pebble.routeHttp01(current.port);
});
after(async () => {
  await current?.stop();
  await pebble?.stop();
});

const httpsPort = (s: Stage = stage()) => s.edge.edge.httpsAddresses[0]!.port;
const orders = () => stage().edge.edge.tls!.issuer!.stats().orders;
const held = async () => (await stage().edge.edge.certs()).map((c) => c.host).sort();

/** One request over TLS naming `servername` (none: undefined) on a connection that closes after it. */
function overTls(servername: string | undefined, requestLine: string, host: string) {
  return send(httpsPort(), `${requestLine}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, { tls: { servername }, sentinel: false });
}

test('control — SNI a.test gets a certificate for a.test from the CA, after one order', async () => {
  const before = orders();
  const shake = await handshake(httpsPort(), 'a.test', [root]);
  assert.equal(shake.authorized, true, shake.error);
  assert.deepEqual(shake.names, ['a.test']);
  assert.equal(orders() - before, 1);
  const again = await handshake(httpsPort(), 'a.test', [root]);
  assert.equal(again.serial, shake.serial);
  assert.equal(orders() - before, 1, 'no second order');
});

test('ACME abuse (a name not on the list) — the default certificate, no order, nothing held', async () => {
  const before = orders();
  const shake = await handshake(httpsPort(), 'evil.test', [root]);
  assert.equal(shake.authorized, false);
  assert.ok(!shake.names.includes('evil.test'), shake.names.join());
  assert.equal(orders(), before);
  assert.ok(!(await held()).includes('evil.test'));
});

test('ACME abuse (certificate order flooding: 40 random names at once) — zero orders, each one denied', async () => {
  const before = orders();
  const denied = stage().edge.edge.tls!.manager.stats().denied;
  const names = Array.from({ length: 40 }, () => `${randomBytes(6).toString('hex')}.flood.test`);
  const shakes = await Promise.all(names.map((n) => handshake(httpsPort(), n, [root])));
  assert.ok(shakes.every((s) => !s.authorized));
  assert.equal(orders(), before);
  assert.equal(stage().edge.edge.tls!.manager.stats().denied - denied, 40);
});

// Spellings a client can send through a normal TLS stack: none is ordered; the listed name's
// spellings get its one certificate.
const spellings: [string, string, string[] | undefined][] = [
  ['A.TEST', 'RFC 6066 §3 (host names compare without case)', ['a.test']],
  ['a.test.', 'RFC 6066 §3 (no trailing dot: the same name)', ['a.test']],
  ['*.blot.test', 'RFC 6125 §6.4.3 (a wildcard is not a name to order)', undefined],
  ['x.y.blot.test', 'RFC 6125 §6.4.3 (a wildcard covers one label)', undefined],
  ['localhost', 'ACME abuse (local names)', undefined],
  ['app.localhost', 'RFC 6761 §6.3 (.localhost)', undefined],
  ['127.0.0.1', 'RFC 6066 §3 (no IP literals in SNI)', undefined],
  ['a_b!.test', 'RFC 1123 §2.1 (not a host name)', undefined],
];
for (const [name, guards, certificate] of spellings) {
  test(`${guards} — SNI ${JSON.stringify(name)}: ${certificate ? 'the a.test certificate' : 'the default certificate'}, no new order`, async () => {
    await handshake(httpsPort(), 'a.test', [root]); // a.test is held (this case does not depend on the order of the tests)
    const before = orders();
    const shake = await handshake(httpsPort(), name, [root]);
    if (certificate) assert.deepEqual(shake.names, certificate);
    else assert.equal(shake.authorized, false, `got ${shake.names.join()}`);
    assert.equal(orders(), before);
  });
}

// ---- hand-made ClientHellos: what a TLS library would not send ----

/** The first record a real client sends for `servername`. */
async function captureHello(servername: string): Promise<Buffer> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => (resolve(d), s.destroy()))));
  const client = tlsConnect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername, ALPNProtocols: ['http/1.1'] });
  client.on('error', () => undefined);
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

/** `hello` with its server_name extension replaced by one naming `name` (lengths fixed). */
function withServerName(hello: Buffer, name: Buffer): Buffer {
  let at = 5 + 4 + 2 + 32;
  at += 1 + hello[at]!; // session id
  at += 2 + hello.readUInt16BE(at); // cipher suites
  at += 1 + hello[at]!; // compression methods
  const extStart = at + 2;
  const parts: Buffer[] = [];
  for (let p = extStart; p < extStart + hello.readUInt16BE(at); ) {
    const type = hello.readUInt16BE(p);
    const len = hello.readUInt16BE(p + 2);
    if (type !== 0) parts.push(hello.subarray(p, p + 4 + len));
    p += 4 + len;
  }
  const list = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
  parts.unshift(Buffer.concat([u16(0), u16(list.length + 2), u16(list.length), list]));
  const extensions = Buffer.concat(parts);
  const body = Buffer.concat([hello.subarray(9, at), u16(extensions.length), extensions]);
  const handshakeMsg = Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return Buffer.concat([hello.subarray(0, 3), u16(handshakeMsg.length), handshakeMsg]);
}
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

/** Writes `bytes` on a raw TCP connection to the HTTPS port, then half-closes; what came back. */
function rawTls(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(httpsPort(), '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => (socket.destroy(), reject(new Error('the listener kept the connection open'))), 15_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => (clearTimeout(timer), resolve(Buffer.concat(chunks))));
    socket.once('connect', () => socket.end(bytes));
  });
}

/** The listener still completes a real handshake for a listed name. */
async function stillServing(): Promise<void> {
  const shake = await handshake(httpsPort(), 'a.test', [root]);
  assert.equal(shake.authorized, true, shake.error);
}

test('control — a hand-made ClientHello naming a.test is a ClientHello the listener answers', async () => {
  const answer = await rawTls(withServerName(await captureHello('x.test'), Buffer.from('a.test')));
  assert.equal(answer[0], 0x16, 'a handshake record (ServerHello) came back');
});

const rawNames: [string, string, Buffer][] = [
  ['a 300-byte name', 'RFC 6066 §3 (HostName up to 2^16-1 bytes; DNS names up to 253)', Buffer.from(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(42)}.test`)],
  ['a name with a NUL byte (a.test\\0.evil.test)', 'CVE-2009-2408 class (NUL in names)', Buffer.from('a.test\0.evil.test', 'latin1')],
  ['a name with raw UTF-8', 'RFC 6066 §3 (HostName is ASCII; IDNs are A-labels)', Buffer.from('bücher.test')],
  ['an empty name', 'RFC 6066 §3 (HostName is not empty)', Buffer.alloc(0)],
];
for (const [what, guards, name] of rawNames) {
  test(`${guards} — SNI ${what}: no order, and the listener keeps serving`, async () => {
    const before = orders();
    await rawTls(withServerName(await captureHello('x.test'), name));
    assert.equal(orders(), before);
    await stillServing();
  });
}

test('garbage instead of a ClientHello — closed without an HTTP answer; the listener keeps serving', async () => {
  const answer = await rawTls(randomBytes(2048));
  assert.doesNotMatch(answer.toString('latin1'), /HTTP\/1\.1 200/);
  await stillServing();
});

test('a TLS record header announcing 16 KiB, then garbage — closed; the listener keeps serving', async () => {
  await rawTls(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00]), randomBytes(16_384)]));
  await stillServing();
});

test('a ClientHello cut in half — closed; the listener keeps serving', async () => {
  const hello = await captureHello('a.test');
  await rawTls(hello.subarray(0, hello.length >> 1));
  await stillServing();
});

test('plain HTTP sent to the HTTPS port — never forwarded, no HTTP answer', async () => {
  const s = stage();
  const answer = await rawTls(Buffer.from('GET /tls/plain HTTP/1.1\r\nHost: a.test\r\n\r\n'));
  assert.doesNotMatch(answer.toString('latin1'), /^HTTP\/1\.1 2/);
  assert.deepEqual(s.seen('/tls/plain'), []);
});

for (const version of ['TLSv1', 'TLSv1.1'] as const) {
  test(`RFC 8996 (${version} deprecated) — a ${version}-only client gets no session`, async () => {
    const result = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: httpsPort(), servername: 'a.test', minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0', rejectUnauthorized: false });
      socket.once('secureConnect', () => (resolve(`connected with ${socket.getProtocol()}`), socket.destroy()));
      socket.once('error', (err) => resolve(err.message));
    });
    assert.doesNotMatch(result, /^connected/, result);
  });
}

test('CVE-2011-1473 (client-initiated renegotiation flood) — cut off after a few; the listener keeps serving', async () => {
  const outcome = await new Promise<string>((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: httpsPort(), servername: 'a.test', maxVersion: 'TLSv1.2', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    let done = 0;
    const again = () => {
      if (done >= 20) return resolve('20 renegotiations accepted');
      const ok = socket.renegotiate({ rejectUnauthorized: false }, (err) => {
        if (err) return resolve(`refused after ${done}: ${err.message}`);
        done++;
        again();
      });
      if (!ok) resolve(`refused after ${done}`);
    };
    socket.once('secureConnect', again);
    socket.resume(); // read to the end, so the server's close is seen
    socket.on('error', (err) => resolve(`refused after ${done}: ${err.message}`));
    socket.on('close', () => resolve(`closed after ${done}`));
  });
  assert.match(outcome, /^(closed|refused) after [0-3]\b/, outcome);
  await stillServing();
});

// ---- the connection's name and the request's host ----

test('domain fronting (RFC 9110 §15.5.20) — SNI a.test, Host b.test: 421, never forwarded', async () => {
  const s = stage();
  const ex = await overTls('a.test', 'GET /tls/front HTTP/1.1', 'b.test');
  assert.equal(ex.first?.status, 421);
  assert.match(ex.first!.text, /misdirected/);
  assert.deepEqual(s.seen('/tls/front'), []);
});

test('domain fronting (absolute-form) — SNI a.test, GET https://b.test/…: 421, never forwarded', async () => {
  const s = stage();
  const ex = await overTls('a.test', 'GET https://b.test/tls/front-abs HTTP/1.1', 'a.test');
  assert.equal(ex.first?.status, 421);
  assert.deepEqual(s.seen('/tls/front-abs'), []);
});

test('domain fronting (HTTP/2 :authority) — SNI a.test, :authority b.test: 421, never forwarded', async () => {
  const s = stage();
  const session = http2Connect(`https://127.0.0.1:${httpsPort()}`, { servername: 'a.test', ca: [root] });
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const stream = session.request({ ':path': '/tls/front-h2', ':authority': 'b.test' });
      stream.on('response', (h) => resolve(Number(h[':status'])));
      stream.on('error', reject);
      stream.resume();
      stream.end();
    });
    assert.equal(status, 421);
  } finally {
    session.close();
  }
  assert.deepEqual(s.seen('/tls/front-h2'), []);
});

test('control — SNI a.test, Host A.TEST:443 is the same host and is served', async () => {
  const ex = await overTls('a.test', 'GET /tls/same HTTP/1.1', 'A.TEST:443');
  assert.equal(ex.first?.status, 200);
});

test('RFC 6066 §3 (no SNI) — the default certificate, which names no site, and no order', async () => {
  const before = orders();
  const shake = await handshake(httpsPort(), undefined, [root]);
  assert.equal(shake.authorized, false);
  for (const name of ['a.test', 'b.test', '*.blot.test']) assert.ok(!shake.names.includes(name), shake.names.join());
  assert.equal(orders(), before);
});

test('ACME HTTP-01 (a token for a host off the list) — 421, never forwarded, no order', async () => {
  const s = stage();
  const before = orders();
  const ex = await send(s.port, 'GET /.well-known/acme-challenge/abc HTTP/1.1\r\nHost: evil.test\r\n\r\n');
  assert.ok(ex.first && [404, 421].includes(ex.first.status), `answered ${ex.first?.status}`);
  assert.deepEqual(s.seen('/.well-known/'), []);
  assert.equal(orders(), before);
});
