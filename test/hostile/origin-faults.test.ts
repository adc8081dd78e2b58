// Hostile: an origin that breaks the protocol, by accident or on purpose. Bodies cut off (by a close,
// a reset, a stall) reach every reader cut off — never as a complete response — and are not stored;
// a lying Content-Length never lets the extra bytes answer another request; headers that never come
// or never end are a 504; oversized headers, invalid status lines, unsolicited upgrades, fields
// with CR, LF or NUL, and broken chunking are a 502 and stored nowhere; a flood of interim
// responses stays at the edge. The origin is raw bytes on a socket (test/helpers/raw-origin.ts),
// with 1 s header and body timeouts and a breaker that never opens, so each case stands alone.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { rawResponse, startRawOrigin, type RawOrigin, type RawScript } from '../helpers/raw-origin.js';
import { waitFor } from '../helpers/wait.js';
import { get, send, stage as startStage, type Exchange, type Stage } from './harness.js';

const CACHEABLE = 'Cache-Control: max-age=300';
const SMUGGLED = 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nCache-Control: max-age=300\r\n\r\nsmuggled';

/** Calls `write` every `everyMs` until the edge closes the connection (a stall that never ends). */
function drip(socket: Socket, everyMs: number, write: () => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => (socket.destroyed ? undefined : write()), everyMs);
    socket.once('close', () => (clearInterval(timer), resolve()));
  });
}
const stall = (socket: Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));
const answer = (statusLine: string, headers: string[], body = '') => (socket: Socket) => void socket.end(rawResponse(statusLine, headers, body));

let releaseJoined: () => void = () => undefined;

const scripts: Record<string, RawScript> = {
  // ---- bodies cut off ----
  '/o/cut-cl': (s) => {
    s.write(rawResponse('HTTP/1.1 200 OK', ['Content-Length: 100000', CACHEABLE], 'a'.repeat(50_000)));
    s.destroy();
  },
  '/o/cut-chunked': (s) => {
    s.write(rawResponse('HTTP/1.1 200 OK', ['Transfer-Encoding: chunked', CACHEABLE], `3e8\r\n${'b'.repeat(1000)}\r\n`.repeat(3)));
    s.destroy();
  },
  '/o/cut-chunked-fin': (s) => void s.end(rawResponse('HTTP/1.1 200 OK', ['Transfer-Encoding: chunked', CACHEABLE], `3e8\r\n${'c'.repeat(1000)}\r\n`)),
  '/o/cut-reset': (s) => {
    s.write(rawResponse('HTTP/1.1 200 OK', ['Connection: close', CACHEABLE], 'd'.repeat(5000)));
    s.resetAndDestroy();
  },
  '/o/cut-joined': (s) => {
    s.write(rawResponse('HTTP/1.1 200 OK', ['Content-Length: 20000', CACHEABLE], 'e'.repeat(10_000)));
    return new Promise<void>((resolve) => {
      releaseJoined = () => (s.destroy(), resolve());
    });
  },
  '/o/short-cl-stall': (s) => {
    s.write(rawResponse('HTTP/1.1 200 OK', ['Content-Length: 1000', CACHEABLE], 'f'.repeat(500)));
    return stall(s);
  },
  // ---- Content-Length lies ----
  '/o/long-cl': (s) => void s.write(rawResponse('HTTP/1.1 200 OK', ['Content-Length: 10', CACHEABLE], `0123456789${SMUGGLED}`)),
  '/o/two-cl': answer('HTTP/1.1 200 OK', ['Content-Length: 5', 'Content-Length: 6', CACHEABLE], 'hello!'),
  '/o/cl-te': answer('HTTP/1.1 200 OK', ['Content-Length: 3', 'Transfer-Encoding: chunked', CACHEABLE], '5\r\nhello\r\n0\r\n\r\n'),
  '/o/cl-negative': answer('HTTP/1.1 200 OK', ['Content-Length: -1', CACHEABLE], 'x'),
  '/o/cl-nan': answer('HTTP/1.1 200 OK', ['Content-Length: abc', CACHEABLE], 'x'),
  '/o/cl-plus': answer('HTTP/1.1 200 OK', ['Content-Length: +5', CACHEABLE], 'hello'),
  '/o/body-204': (s) => void s.write(rawResponse('HTTP/1.1 204 No Content', [`Content-Length: ${SMUGGLED.length}`, CACHEABLE], SMUGGLED)),
  '/o/clean': (s, req) => void s.write(rawResponse('HTTP/1.1 200 OK', [`Content-Length: ${6 + req.url.length}`, CACHEABLE], `clean ${req.url}`)),
  // ---- headers slow, huge or never final ----
  '/o/no-answer': stall,
  '/o/trickle-head': (s) => {
    s.write('HTTP/1.1 200 OK\r\n');
    return drip(s, 100, () => s.write('X-Slow: z\r\n'));
  },
  '/o/huge-header': answer('HTTP/1.1 200 OK', [`X-Big: ${'h'.repeat(100_000)}`, 'Content-Length: 2', CACHEABLE], 'ok'),
  '/o/many-headers': answer('HTTP/1.1 200 OK', [...Array.from({ length: 5000 }, (_, i) => `X-F${i}: v`), 'Content-Length: 2', CACHEABLE], 'ok'),
  '/o/continue-flood': (s) => void s.end(Buffer.concat([Buffer.from('HTTP/1.1 100 Continue\r\n\r\n'.repeat(1000)), rawResponse('HTTP/1.1 200 OK', ['Content-Length: 9', CACHEABLE], 'after 1xx')])),
  '/o/hints-flood': (s) =>
    void s.end(Buffer.concat([Buffer.from('HTTP/1.1 103 Early Hints\r\nLink: </x.css>; rel=preload\r\n\r\n'.repeat(1000)), rawResponse('HTTP/1.1 200 OK', ['Content-Length: 9', CACHEABLE], 'after 103')])),
  '/o/processing-forever': (s) => drip(s, 50, () => s.write('HTTP/1.1 102 Processing\r\n\r\n')),
  '/o/hints-forever': (s) => drip(s, 50, () => s.write('HTTP/1.1 103 Early Hints\r\nLink: </x.css>; rel=preload\r\n\r\n')),
  '/o/processing-flood': (s) => void s.end(Buffer.concat([Buffer.from('HTTP/1.1 102 Processing\r\n\r\n'.repeat(1000)), rawResponse('HTTP/1.1 200 OK', ['Content-Length: 9', CACHEABLE], 'after 102')])),
  '/o/switching': answer('HTTP/1.1 101 Switching Protocols', ['Upgrade: websocket', 'Connection: Upgrade'], '\x81\x05hello'),
  // ---- invalid status lines ----
  '/o/status-2000': answer('HTTP/1.1 2000 OK', ['Content-Length: 2', CACHEABLE], 'ok'),
  '/o/status-20': answer('HTTP/1.1 20 OK', ['Content-Length: 2', CACHEABLE], 'ok'),
  '/o/status-abc': answer('HTTP/1.1 abc OK', ['Content-Length: 2', CACHEABLE], 'ok'),
  '/o/status-http2': answer('HTTP/2.0 200 OK', ['Content-Length: 2', CACHEABLE], 'ok'),
  '/o/status-icy': answer('ICY 200 OK', ['Content-Length: 2', CACHEABLE], 'ok'),
  '/o/status-none': (s) => void s.end('<html>an HTTP/0.9 answer</html>'),
  '/o/status-empty': (s) => void s.end(),
  '/o/status-lf': (s) => void s.end('HTTP/1.1 200 OK\nContent-Length: 2\nCache-Control: max-age=300\n\nok'),
  // ---- fields that would split or smuggle ----
  '/o/field-cr': answer('HTTP/1.1 200 OK', ['X-Evil: a\rSet-Cookie: evil=1', 'Content-Length: 2', CACHEABLE], 'ok'),
  '/o/field-nul': answer('HTTP/1.1 200 OK', ['X-Evil: a\0b', 'Content-Length: 2', CACHEABLE], 'ok'),
  '/o/field-space': answer('HTTP/1.1 200 OK', ['Bad Name: x', 'Content-Length: 2', CACHEABLE], 'ok'),
  '/o/field-fold': answer('HTTP/1.1 200 OK', ['X-Folded: a', ' Set-Cookie: evil=1', 'Content-Length: 2', CACHEABLE], 'ok'),
  // ---- chunked errors ----
  '/o/chunk-bad-size': answer('HTTP/1.1 200 OK', ['Transfer-Encoding: chunked', CACHEABLE], 'zz\r\nhello\r\n0\r\n\r\n'),
  '/o/chunk-overflow': answer('HTTP/1.1 200 OK', ['Transfer-Encoding: chunked', CACHEABLE], 'ffffffffffffffffff\r\nhello\r\n0\r\n\r\n'),
  '/o/chunk-negative': answer('HTTP/1.1 200 OK', ['Transfer-Encoding: chunked', CACHEABLE], '-5\r\nhello\r\n0\r\n\r\n'),
  '/o/chunk-no-crlf': answer('HTTP/1.1 200 OK', ['Transfer-Encoding: chunked', CACHEABLE], '5\r\nhelloXX0\r\n\r\n'),
  '/o/chunk-ext-huge': answer('HTTP/1.1 200 OK', ['Transfer-Encoding: chunked', CACHEABLE], `5;${'e'.repeat(100_000)}\r\nhello\r\n0\r\n\r\n`),
  '/fo/': stall, // the first member of group `fo`: it never answers, so the group fails over
  '/o/chunk-te-gzip': answer('HTTP/1.1 200 OK', ['Transfer-Encoding: gzip', CACHEABLE], 'not gzip at all'),
};

let raw: RawOrigin;
let current: Stage;
before(async () => {
  raw = await startRawOrigin(scripts);
  current = await startStage({
    config: (url) => ({
      originGroups: {
        main: { members: [{ url }] },
        raw: { members: [{ url: raw.url, headersTimeout: '1s', bodyTimeout: '1s' }], breaker: { failures: 1000 } },
        fo: { members: [{ url: raw.url, headersTimeout: '1s' }, { url }], breaker: { failures: 1000 } },
      },
      sites: [
        {
          hosts: ['*'],
          originGroup: 'main',
          behaviors: [
            { path: '/o/*', originGroup: 'raw' },
            { path: '/fo/*', originGroup: 'fo' },
          ],
        },
      ],
    }),
  });
});
after(async () => {
  await current?.stop();
  await raw?.close();
});

const cacheStatus = (ex: Exchange) => ex.first?.headers['cache-status'] ?? '';

/** The second request for `path` was not answered from the cache: the origin was asked again. */
async function notStored(path: string): Promise<void> {
  const before = raw.seen(path).length;
  const again = await send(current.port, get(path));
  assert.doesNotMatch(cacheStatus(again), /hit/, `${path} was served from the cache`);
  assert.ok(raw.seen(path).length > before, 'the origin was asked again');
}

/** The reader got the head and part of the body, then the connection closed: never a complete response. */
async function cutOff(path: string): Promise<Exchange> {
  const ex = await send(current.port, get(path));
  assert.match(ex.raw.toString('latin1'), /^HTTP\/1\.1 200 /, 'the head went out before the body failed');
  assert.equal(ex.first, undefined, `a complete response was read:\n${ex.raw.toString('latin1').slice(0, 300)}`);
  assert.equal(ex.sentinel, false, 'the connection closed');
  return ex;
}

/** Refused with one of `statuses` (the edge's own answer, with this error code), nothing smuggled, and not stored. */
async function refused(path: string, statuses: number[], code?: string): Promise<Exchange> {
  const ex = await send(current.port, get(path));
  assert.ok(ex.first && statuses.includes(ex.first.status), `answered ${ex.first?.status}:\n${ex.raw.toString('latin1').slice(0, 300)}`);
  assert.match(cacheStatus(ex), /^blotcdn; /, 'the edge answered');
  if (code !== undefined) assert.match(cacheStatus(ex), new RegExp(`detail=${code}\\b`));
  assert.doesNotMatch(ex.raw.toString('latin1'), /smuggled|evil=1/);
  await notStored(path);
  return ex;
}

// ---- bodies cut off: never complete, never stored ----

test('RFC 9112 §6.3 (incomplete message) — the origin dies mid-body after Content-Length: 100000: the reader is cut off; nothing stored', async () => {
  await cutOff('/o/cut-cl');
  await notStored('/o/cut-cl');
});

test('RFC 9112 §7.1 (incomplete chunked message) — the origin dies between chunks: no last chunk reaches the reader; nothing stored', async () => {
  const ex = await cutOff('/o/cut-chunked');
  assert.doesNotMatch(ex.raw.toString('latin1'), /\r\n0\r\n\r\n$/, 'no terminating chunk');
  await notStored('/o/cut-chunked');
});

test('RFC 9112 §7.1 — a chunked body closed cleanly before its last chunk is incomplete too: nothing stored', async () => {
  await cutOff('/o/cut-chunked-fin');
  await notStored('/o/cut-chunked-fin');
});

test('RFC 9112 §6.3 item 8 (close-delimited body, reset mid-way) — served as it came, never stored: a reset cannot be told from the end', async () => {
  const ex = await send(current.port, get('/o/cut-reset'));
  assert.match(ex.raw.toString('latin1'), /^HTTP\/1\.1 200 /);
  assert.match(ex.raw.toString('latin1'), /detail=close-delimited/);
  await notStored('/o/cut-reset');
});

test('RFC 9112 §6.3 (coalesced readers) — a reader that joined the fetch is cut off too, never handed a short body as complete', async () => {
  const path = '/o/cut-joined';
  const open = (): { done: Promise<Buffer>; bytes: () => number } => {
    const socket = connect(current.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.write(get(path));
    return { done: new Promise((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks)))), bytes: () => chunks.reduce((n, c) => n + c.length, 0) };
  };
  const first = open();
  await waitFor(() => first.bytes() > 10_000, 'the first reader to get half the body');
  const second = open();
  await waitFor(() => second.bytes() > 10_000, 'the joined reader to catch up');
  assert.equal(raw.seen(path).length, 1, 'one origin fetch for both');
  releaseJoined();
  for (const reader of [first, second]) {
    const bytes = await reader.done;
    const body = bytes.subarray(bytes.indexOf('\r\n\r\n') + 4);
    assert.ok(body.length < 20_000, `a reader got ${body.length} of 20000 bytes and the connection closed`);
  }
  await notStored(path);
});

test('RFC 9112 §6.3 (Content-Length larger than the body, then a stall) — cut off at the body timeout; nothing stored', async () => {
  await cutOff('/o/short-cl-stall');
  await notStored('/o/short-cl-stall');
});

// ---- Content-Length lies ----

test('response smuggling (bytes past Content-Length) — the reader gets the 10 bytes; the extra bytes never answer another request', async () => {
  const ex = await send(current.port, get('/o/long-cl'));
  assert.equal(ex.first?.text, '0123456789');
  const next = await send(current.port, get('/o/clean/after-long-cl'));
  assert.equal(next.first?.text, 'clean /o/clean/after-long-cl');
  assert.doesNotMatch(ex.raw.toString('latin1') + next.raw.toString('latin1'), /smuggled/);
});

test('response smuggling (a body on a 204) — the extra bytes never answer another request', async () => {
  const ex = await send(current.port, get('/o/body-204'));
  assert.ok(ex.first && [204, 502].includes(ex.first.status), `answered ${ex.first?.status}`);
  const next = await send(current.port, get('/o/clean/after-204'));
  assert.equal(next.first?.text, 'clean /o/clean/after-204');
  assert.doesNotMatch(ex.raw.toString('latin1') + next.raw.toString('latin1'), /smuggled/);
});

test('RFC 9112 §6.3 (two different Content-Lengths) — 502, not stored', () => refused('/o/two-cl', [502], 'origin_protocol').then(() => undefined));
test('RFC 9112 §6.1 (Content-Length with Transfer-Encoding) — 502, not stored', () => refused('/o/cl-te', [502], 'origin_protocol').then(() => undefined));
test('RFC 9110 §8.6 (Content-Length: -1) — 502, not stored', () => refused('/o/cl-negative', [502], 'origin_protocol').then(() => undefined));
test('RFC 9110 §8.6 (Content-Length: abc) — 502, not stored', () => refused('/o/cl-nan', [502], 'origin_protocol').then(() => undefined));
test('RFC 9110 §8.6 (Content-Length: +5, not 1*DIGIT) — 502, not stored', () => refused('/o/cl-plus', [502], 'origin_protocol').then(() => undefined));

// ---- headers slow, huge or never final ----

test('slow origin (accepts, never answers) — 504 at the header timeout, not stored', () => refused('/o/no-answer', [504], 'origin_timeout').then(() => undefined));
test('slowloris from the origin (a header line every 100 ms, forever) — 504 at the header timeout', () => refused('/o/trickle-head', [504], 'origin_timeout').then(() => undefined));
test('header memory DoS (a 100 KB field from the origin) — 502, not forwarded, not stored', () => refused('/o/huge-header', [502], 'origin_protocol').then(() => undefined));
test('header memory DoS (5,000 fields from the origin) — 502, not stored', () => refused('/o/many-headers', [502], 'origin_protocol').then(() => undefined));
test('RFC 9110 §15.2 (102 Processing forever) — 504 at the header timeout: interim responses do not extend it', () => refused('/o/processing-forever', [504], 'origin_timeout').then(() => undefined));
test('RFC 8297 (103 Early Hints forever) — 504 at the header timeout: interim responses do not extend it', () => refused('/o/hints-forever', [504], 'origin_timeout').then(() => undefined));
test('RFC 9110 §15.2.2 (101 without an Upgrade request) — 502, the bytes after it never reach the reader', async () => {
  const ex = await refused('/o/switching', [502], 'origin_protocol');
  assert.doesNotMatch(ex.raw.toString('latin1'), /hello/);
});

test('RFC 9110 §15.2 (1,000 × 102 Processing) — the reader gets the final answer and none of the interim ones', async () => {
  const ex = await send(current.port, get('/o/processing-flood'));
  assert.equal(ex.first?.text, 'after 102');
  assert.equal(ex.responses.filter((r) => r.status === 102).length, 0);
});

test('RFC 9110 §15.2.1 (1,000 × 100 Continue to a request that did not ask) — refused (undici takes none unasked); none reaches the reader', async () => {
  const ex = await refused('/o/continue-flood', [502], 'origin_protocol');
  assert.equal(ex.responses.filter((r) => r.status === 100).length, 0);
});

test('RFC 8297 (1,000 × 103 Early Hints) — the reader gets the final answer; no hint is stored with it', async () => {
  const ex = await send(current.port, get('/o/hints-flood'));
  assert.equal(ex.first?.text, 'after 103');
  const hit = await send(current.port, get('/o/hints-flood'));
  assert.match(cacheStatus(hit), /hit/);
  assert.equal(hit.responses.filter((r) => r.status === 103).length, 0, 'a hit replays no interim responses');
});

// ---- invalid status lines ----

for (const [path, what, code] of [
  ['/o/status-2000', 'a four-digit status', 'origin_protocol'],
  ['/o/status-20', 'a two-digit status', 'origin_protocol'],
  ['/o/status-abc', 'a status that is not a number', 'origin_protocol'],
  ['/o/status-icy', 'ICY instead of HTTP/1.1', 'origin_protocol'],
  ['/o/status-none', 'no status line (an HTTP/0.9 answer)', 'origin_protocol'],
  ['/o/status-empty', 'a connection closed without a byte', 'origin_connect'],
] as const) {
  test(`RFC 9112 §4 (status line: ${what}) — 502 ${code}, not stored`, () => refused(path, [502], code).then(() => undefined));
}

test('RFC 9112 §2.2 (bare LF line endings from the origin) — 502, never relayed as they came', () => refused('/o/status-lf', [502], 'origin_protocol').then(() => undefined));

test('RFC 9112 §2.3 (HTTP/2.0 in an HTTP/1.1 status line) — framed as HTTP/1.1 all the same: its Content-Length, and nothing after it', async () => {
  // undici reads any HTTP/x.y status line as HTTP/1 and does not say which version it saw, so the
  // edge cannot refuse it; what it must not do is frame the body any other way.
  const ex = await send(current.port, get('/o/status-http2'));
  assert.equal(ex.first?.text, 'ok');
  assert.equal(ex.sentinel, true);
});

// ---- fields that would split or smuggle ----

test('response splitting (CR inside a field value) — 502; no Set-Cookie reaches the reader', () => refused('/o/field-cr', [502], 'origin_protocol').then(() => undefined));
test('RFC 9110 §5.5 (NUL inside a field value) — 502, not stored', () => refused('/o/field-nul', [502], 'origin_protocol').then(() => undefined));
test('RFC 9112 §5.1 (whitespace inside a field name) — 502, not stored', () => refused('/o/field-space', [502], 'origin_protocol').then(() => undefined));
test('RFC 9112 §5.2 (obs-fold from the origin) — refused or unfolded: the reader never gets a folded line or the folded Set-Cookie as a field', async () => {
  const ex = await send(current.port, get('/o/field-fold'));
  const head = ex.raw.toString('latin1').split('\r\n\r\n')[0]!;
  assert.doesNotMatch(head, /\r\n[ \t]/, 'no line of the head starts with whitespace');
  assert.doesNotMatch(head, /^set-cookie:/im);
});

// ---- chunked errors ----

for (const [path, what] of [
  ['/o/chunk-bad-size', 'a chunk size that is not hex'],
  ['/o/chunk-overflow', 'a chunk size past 64 bits'],
  ['/o/chunk-negative', 'a negative chunk size'],
  ['/o/chunk-no-crlf', 'chunk data not followed by CRLF'],
] as const) {
  test(`RFC 9112 §7.1 (${what}) — never a complete response, never stored`, async () => {
    const ex = await send(current.port, get(path));
    const complete = ex.first !== undefined && ex.first.status === 200 && ex.first.text === 'hello' && ex.sentinel;
    assert.equal(complete, false, `served as complete:\n${ex.raw.toString('latin1').slice(0, 300)}`);
    if (ex.first) {
      assert.equal(ex.first.status, 502);
      assert.match(cacheStatus(ex), /detail=origin_protocol/);
    }
    await notStored(path);
  });
}

test('RFC 9112 §7.1.1 (100 KB of chunk extensions) — ignored: the body is the chunk data, and no extension reaches the reader', async () => {
  const ex = await send(current.port, get('/o/chunk-ext-huge'));
  assert.equal(ex.first?.text, 'hello');
  assert.doesNotMatch(ex.raw.toString('latin1'), /;eee/);
});

test('RFC 9112 §6.1 (Transfer-Encoding: gzip, not chunked, in a response) — 502: a coding the edge cannot read is not relayed as identity', () =>
  refused('/o/chunk-te-gzip', [502], 'origin_protocol').then(() => undefined));

// ---- a reload while a request is failing over ----

test('config reload (SIGHUP, POST /reload) mid-failover — the request finishes with the group it started with: the second member answers', async () => {
  const pending = send(current.port, get('/fo/reload'));
  await waitFor(() => raw.seen('/fo/reload').length === 1, 'the first member to be asked (it never answers)');
  current.edge.edge.reload(current.edge.edge.config); // the old groups are retired and their pools closed
  const ex = await pending;
  assert.equal(ex.first?.status, 200, ex.raw.toString('latin1').slice(0, 300));
  assert.match(ex.first!.text, /^GET \/fo\/reload$/m, 'answered by the second member');
});
