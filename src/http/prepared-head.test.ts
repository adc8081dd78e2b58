// A prepared head must put on the wire exactly what writeHead puts there, and leave the connection
// in the same state (kept alive or closed), for every kind of request Node's server treats
// differently: HTTP/1.0 and 1.1, Connection: close, HEAD, Expect, the per-socket request limit.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { prepareHead, usable, writePreparedHead } from './prepared-head.js';

const BODY = Buffer.from('hello, cached world\n');
const STORED = ['content-type', 'text/plain', 'etag', '"v1"', 'cache-control', 'public, max-age=60', 'x-served-by-origin', 'app'];
const EXTRA = ['age', '7', 'cache-status', 'blotcdn; hit; ttl=53', 'content-length', String(BODY.length), 'accept-ranges', 'bytes'];
const extraLines = () => EXTRA.reduce((s, v, i) => (i % 2 === 0 ? `${s}${v}: ` : `${s}${v}\r\n`), '');

function serve(stored: string[], maxRequestsPerSocket = 0): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url!.startsWith('/prepared')) {
      assert.ok(usable(res));
      const head = prepareHead(200, stored)!;
      writePreparedHead(res, head, head.text + extraLines());
    } else res.writeHead(200, [...stored, ...EXTRA] as unknown as Record<string, string>);
    if (req.method === 'HEAD') res.end();
    else res.end(BODY);
  });
  server.maxRequestsPerSocket = maxRequestsPerSocket;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Sends `request` twice on one connection; returns every byte received until the second answer or the close. */
function exchange(port: number, request: string, bodyBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let answers = 0;
    socket.setEncoding('latin1');
    socket.on('error', reject);
    socket.on('end', () => resolve(`${text}<closed>`));
    socket.on('data', (chunk: string) => {
      text += chunk;
      // Count complete answers: head, then the body when there is one.
      let at = 0;
      let complete = 0;
      for (;;) {
        const end = text.indexOf('\r\n\r\n', at);
        if (end < 0 || text.length < end + 4 + bodyBytes) break;
        complete++;
        at = end + 4 + bodyBytes;
      }
      if (complete > answers) {
        answers = complete;
        if (answers === 1) socket.write(request);
        else {
          socket.destroy();
          resolve(text);
        }
      }
    });
    socket.write(request);
  });
}

const norm = (s: string) => s.replace(/^Date: .*$/gm, 'Date: <now>');

const CASES: { name: string; request: (path: string) => string; head?: boolean }[] = [
  { name: 'HTTP/1.1 keep-alive', request: (p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n` },
  { name: 'HTTP/1.1 Connection: close', request: (p) => `GET ${p} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n` },
  { name: 'HTTP/1.0', request: (p) => `GET ${p} HTTP/1.0\r\nHost: a\r\n\r\n` },
  { name: 'HTTP/1.0 keep-alive', request: (p) => `GET ${p} HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n` },
  { name: 'HEAD', request: (p) => `HEAD ${p} HTTP/1.1\r\nHost: a\r\n\r\n`, head: true },
  { name: 'Expect: 100-continue', request: (p) => `GET ${p} HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n` },
];

for (const stored of [STORED, [...STORED, 'date', 'Mon, 30 Nov 2026 10:00:00 GMT']]) {
  for (const limit of [0, 2]) {
    test(`prepared heads match writeHead byte for byte (${stored.length / 2} stored fields, maxRequestsPerSocket ${limit})`, async (t) => {
      const server = await serve(stored, limit);
      t.after(() => server.close());
      const { port } = server.address() as AddressInfo;
      for (const c of CASES) {
        const bodyBytes = c.head ? 0 : BODY.length;
        const viaNode = await exchange(port, c.request('/node'), bodyBytes);
        const viaPrepared = await exchange(port, c.request('/prepared'), bodyBytes);
        assert.equal(norm(viaPrepared), norm(viaNode), c.name);
      }
    });
  }
}

test('heads writeHead must handle are not prepared', () => {
  assert.equal(prepareHead(200, ['x-bad', 'a\r\nset-cookie: x=1']), undefined);
  assert.equal(prepareHead(200, ['bad name', 'v']), undefined);
  assert.equal(prepareHead(200, ['content-length', '5']), undefined);
  assert.equal(prepareHead(200, ['Connection', 'close']), undefined);
  assert.equal(prepareHead(304, ['etag', '"v1"']), undefined);
  assert.equal(prepareHead(204, []), undefined);
  assert.equal(prepareHead(299, []), undefined);
  assert.equal(prepareHead(404, ['content-type', 'text/html'])?.text, 'HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\n');
});

test('the HTTP/2 fields: names lower case, repeated names as arrays in order, none when a field may not go on a stream', () => {
  const head = prepareHead(200, ['Content-Type', 'text/css', 'Link', '</a>; rel=preload'], ['link', '</b>; rel=preload', 'X-Site', 'blog'])!;
  assert.deepEqual(head.h2, { 'content-type': 'text/css', link: ['</a>; rel=preload', '</b>; rel=preload'], 'x-site': 'blog' });
  assert.equal(prepareHead(200, ['upgrade', 'h2c'])!.h2, undefined, 'connection-specific (RFC 9113 §8.2.2)');
  assert.equal(prepareHead(200, ['content-type', 'text/css'], ['age', '1'])!.h2, undefined, 'a field each hit sets');
});
