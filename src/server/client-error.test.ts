// What a client whose bytes the parser refused is told: the status names what was wrong, from the
// bytes the parser was reading when it failed (a real parser error, from Node's own HTTP server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { clientErrorResponse } from './client-error.js';

/** The error Node's parser raises for `bytes`, as the server's clientError handler receives it. */
async function parserError(bytes: string): Promise<NodeJS.ErrnoException & { rawPacket?: Buffer }> {
  const server = createServer(() => undefined);
  const error = new Promise<NodeJS.ErrnoException & { rawPacket?: Buffer }>((resolve) => server.on('clientError', (err, socket) => {
    resolve(err);
    socket.destroy();
  }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(bytes);
  try {
    return await error;
  } finally {
    socket.destroy();
    server.close();
  }
}

const statusOf = (response: string | undefined) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response ?? '')?.[1]);

test('a request line past the size limit is 414, large fields are 431', async () => {
  assert.equal(statusOf(clientErrorResponse(await parserError(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: a\r\n\r\n`))), 414);
  assert.equal(statusOf(clientErrorResponse(await parserError(`GET /${'a'.repeat(20_000)}`))), 414, 'a line that never ends');
  assert.equal(statusOf(clientErrorResponse(await parserError(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`))), 431);
  const many = Array.from({ length: 3000 }, (_, i) => `X-${i}: b\r\n`).join('');
  assert.equal(statusOf(clientErrorResponse(await parserError(`GET / HTTP/1.1\r\n${many}\r\n`))), 431, '3,000 fields');
});

test('a well-formed version other than 1.x is 505; a malformed request line is 400', async () => {
  for (const v of ['1.2', '3.0', '9.9']) assert.equal(statusOf(clientErrorResponse(await parserError(`GET / HTTP/${v}\r\nHost: a\r\n\r\n`))), 505, v);
  for (const line of ['GET / HTTP/1.10', 'GET / HTTP/1.1 x', 'GET / HTTP/1.1 ', 'GET / HTTP/01.1']) {
    assert.equal(statusOf(clientErrorResponse(await parserError(`${line}\r\nHost: a\r\n\r\n`))), 400, line);
  }
  assert.equal(statusOf(clientErrorResponse(await parserError('GET / HTTP/1.1\nHost: a\n\n'))), 400, 'bare LF');
});

test('other parser errors are 400 with the code; a timeout is 408; data after a close gets no answer', async () => {
  const smuggle = clientErrorResponse(await parserError('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'));
  assert.equal(statusOf(smuggle), 400);
  assert.match(smuggle!, /\r\n\r\n400 bad_request: /);
  assert.match(smuggle!, /\r\nconnection: close\r\n/);
  assert.equal(statusOf(clientErrorResponse(Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }))), 408);
  assert.equal(clientErrorResponse(Object.assign(new Error('closed'), { code: 'HPE_CLOSED_CONNECTION' })), undefined);
});
