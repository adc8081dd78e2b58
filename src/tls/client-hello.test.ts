import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { parseClientHello } from './client-hello.js';

/** The first bytes a real Node TLS client sends. */
async function captureHello(servername: string | undefined, ALPNProtocols?: string[]): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
          resolve(buf);
          s.destroy();
        }
      });
    });
  });
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername, ALPNProtocols });
  client.on('error', () => undefined);
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

test('reads the server name and the ALPN list', async () => {
  const hello = await captureHello('a.example.com', ['acme-tls/1']);
  assert.deepEqual(parseClientHello(hello), { serverName: 'a.example.com', alpn: ['acme-tls/1'] });
  const browser = await captureHello('b.example.com', ['h2', 'http/1.1']);
  assert.deepEqual(parseClientHello(browser), { serverName: 'b.example.com', alpn: ['h2', 'http/1.1'] });
});

test('a hello without SNI or ALPN', async () => {
  assert.deepEqual(parseClientHello(await captureHello(undefined)), { alpn: [] });
});

test('partial records wait for more; other bytes are not a hello', async () => {
  const hello = await captureHello('a.example.com', ['h2']);
  assert.equal(parseClientHello(hello.subarray(0, 3)), 'incomplete');
  assert.equal(parseClientHello(hello.subarray(0, 40)), 'incomplete');
  assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')), undefined);
  const corrupt = Buffer.from(hello);
  corrupt.writeUInt16BE(0xffff, 5 + 4 + 2 + 32 + 1 + corrupt[5 + 4 + 34]!); // absurd cipher-suite length
  assert.equal(parseClientHello(corrupt), undefined);
});
