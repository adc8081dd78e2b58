// Hostile: limits on what one HTTP/1 client may send and hold. Targets past proxy.maxTargetLength
// get 414 (the request line past the parser's 16 KiB too), header sections past 16 KiB get 431,
// abusive ranges get the whole object, request bodies stream through and one cut short reaches the
// origin cut short, and slow clients (slowloris: a request line, headers or a body trickled, an idle
// keep-alive) are dropped at the listener's limits while other clients are served. The slow-client
// cases run a listener with the real edge's handler and short limits (the defaults are 20 s for
// headers, 120 s for a request, 65 s idle, each checked every second).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { get, rawCases, send, useStage, type RawCase, type Stage } from './harness.js';
import { HttpListener, LISTENER_LIMITS } from '../../src/server/http-listener.js';
import { waitFor } from '../helpers/wait.js';

const stage = useStage();
const narrow = useStage({
  config: (url) => ({
    proxy: { maxTargetLength: 300 },
    originGroups: { main: { members: [{ url }] } },
    sites: [{ hosts: ['*'], originGroup: 'main' }],
  }),
});

const pad = (length: number, prefix: string) => prefix + 'a'.repeat(length - prefix.length);
const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-F${i}: v`);

const targets: RawCase[] = [
  { name: 'a target of exactly proxy.maxTargetLength (8192) is served', guards: 'RFC 9112 §3 (414 boundary)', bytes: get(pad(8192, '/l/max/')), expect: { status: 200, closed: false } },
  { name: 'one byte more is 414 and not forwarded; the connection stays usable', guards: 'RFC 9112 §3 (MUST 414 for a target longer than the server parses)', bytes: get(pad(8193, '/l/over/')), expect: { status: 414, closed: false, neverForwarded: pad(8193, '/l/over/') }, nginx: '200 (nginx reads up to 8 KiB lines by default)' },
  { name: 'the query counts toward the limit', guards: 'RFC 9112 §3 (cache key bound)', bytes: get(`/l/q?${'q'.repeat(9000)}`), expect: { status: 414, neverForwarded: '/l/q' } },
  { name: 'a 12 KB target is 414 from the edge', guards: 'RFC 9112 §3 (414)', bytes: get(pad(12_000, '/l/12k/')), expect: { status: 414, body: /uri_too_long/, neverForwarded: '/l/12k' }, nginx: '414' },
  { name: 'a 20 KB request line is 414 from the parser, and the connection closed', guards: 'RFC 9112 §3 (414 past the 16 KiB header limit)', bytes: get(pad(20_000, '/l/20k/')), expect: { status: 414, closed: true, body: /uri_too_long/ }, nginx: '414' },
  { name: 'a request line that never ends is 414', guards: 'RFC 9112 §3 (unbounded request line)', bytes: `GET /l/endless/${'a'.repeat(40_000)}`, options: { sentinel: false }, expect: { status: 414, closed: true } },
];

const headers: RawCase[] = [
  { name: '12 KB of fields are served', guards: 'RFC 9110 §5.4 (field section limits)', bytes: get('/l/h12k', 'a.test', [`X-Big: ${'a'.repeat(12_000)}`]), expect: { status: 200, closed: false } },
  { name: 'one 20 KB field is 431, closed, not forwarded', guards: 'RFC 6585 §5 (431; header memory DoS)', bytes: get('/l/h20k', 'a.test', [`X-Big: ${'a'.repeat(20_000)}`]), expect: { status: 431, closed: true, neverForwarded: '/l/h20k' }, nginx: '400 (Request Header Or Cookie Too Large)' },
  { name: '3,000 fields are 431, closed, not forwarded', guards: 'RFC 6585 §5 (431; header count DoS)', bytes: get('/l/h3000', 'a.test', fields(3000)), expect: { status: 431, closed: true, neverForwarded: '/l/h3000' }, nginx: '400' },
  { name: 'a 70 KB cookie is 431', guards: 'RFC 6585 §5 (cookie bomb)', bytes: get('/l/cookie', 'a.test', [`Cookie: a=${'b'.repeat(70_000)}`]), expect: { status: 431, closed: true, neverForwarded: '/l/cookie' }, nginx: '400' },
  { name: '500 small fields are served', guards: 'RFC 9110 §5.4', bytes: get('/l/h500', 'a.test', fields(500)), expect: { status: 200, body: /^x-f499: v$/m }, nginx: '200' },
  {
    // Node keeps the first 1,000 fields of a request; the edge forwards what it kept, so a field an
    // attacker pushes past them (a Cookie, an Authorization) is absent for the key and the origin alike.
    name: 'fields past the 1,000th are dropped for everyone: the origin sees what the key saw',
    guards: 'RFC 9110 §5.4 (one view of the request: cache key confusion)',
    bytes: get('/l/h1100', 'a.test', [...fields(1100), 'Cookie: session=victim']),
    expect: { status: 200, body: /^x-f990: v$/m, bodyNot: /x-f10[5-9]\d|session=victim/ },
    nginx: '400 (past 1,000 fields)',
  },
];

rawCases(stage, [...targets, ...headers]);

rawCases(narrow, [
  { name: 'a configured proxy.maxTargetLength of 300: 300 bytes served', guards: 'RFC 9112 §3 (configurable bound)', bytes: get(pad(300, '/n/ok/')), expect: { status: 200 } },
  { name: 'a configured proxy.maxTargetLength of 300: 301 bytes are 414', guards: 'RFC 9112 §3 (configurable bound)', bytes: get(pad(301, '/n/over/')), expect: { status: 414, neverForwarded: pad(301, '/n/over/') } },
]);

test('RFC 9110 §14.2 (Apache Killer, CVE-2011-3192) — 1,000 overlapping ranges get the whole object, once', async () => {
  const ranges = `bytes=${Array.from({ length: 1000 }, () => '0-').join(',')}`;
  const ex = await send(stage().port, [get('/l/range-warm'), get('/l/range-warm', 'a.test', [`Range: ${ranges}`])]);
  const [, second] = ex.responses;
  assert.equal(second?.status, 200, 'the whole object (a correct answer to any Range)');
  assert.equal(second?.body.length, Number(second?.headers['content-length']));
  assert.ok(ex.raw.length < 20_000, `${ex.raw.length} bytes: not a thousand copies`);
});

test('RFC 9110 §14.2 (range abuse) — overlapping ranges are merged into one part', async () => {
  const ex = await send(stage().port, [get('/l/range-merge'), get('/l/range-merge', 'a.test', ['Range: bytes=0-9,5-14,10-19'])]);
  const [, second] = ex.responses;
  assert.equal(second?.status, 206);
  assert.equal(second?.headers['content-range']?.startsWith('bytes 0-19/'), true, second?.headers['content-range']);
});

test('request bodies (no edge limit: nginx refuses past 1 MiB) — an 8 MiB POST streams through whole', async () => {
  const s = stage();
  const body = Buffer.alloc(8 * 1024 * 1024, 'x');
  const ex = await send(s.port, [`POST /l/upload HTTP/1.1\r\nHost: a.test\r\nContent-Length: ${body.length}\r\n\r\n`, body], { parts: true, timeoutMs: 60_000 });
  assert.equal(ex.first?.status, 200);
  assert.match(ex.first!.text, /^body: 8388608 bytes$/m);
  assert.deepEqual(s.bodies('/l/upload').map((b) => [b.body.length, b.complete]), [[body.length, true]]);
});

/** Opens a connection and writes `head`; the caller keeps or drops it. */
function openWith(port: number, head: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
    socket.write(head);
  });
}

test('a body announced as 10 GB and cut after 10 bytes reaches the origin cut short, never complete', async () => {
  const s = stage();
  const socket = await openWith(s.port, 'POST /l/cut HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10000000000\r\n\r\n0123456789');
  await waitFor(() => s.bodies('/l/cut').some((b) => b.body.length === 10), 'the origin to receive the first bytes');
  socket.destroy();
  await waitFor(() => s.bodies('/l/cut').every((b) => b.closed), 'the origin to see the request end');
  assert.deepEqual(s.bodies('/l/cut').map((b) => b.complete), [false]);
});

test('a chunked body abandoned mid-chunk reaches the origin cut short', async () => {
  const s = stage();
  const socket = await openWith(s.port, 'POST /l/cutch HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\nfff\r\nabc');
  await waitFor(() => s.bodies('/l/cutch').some((b) => b.body.length === 3), 'the origin to receive the first bytes');
  socket.destroy();
  await waitFor(() => s.bodies('/l/cutch').every((b) => b.closed), 'the origin to see the request end');
  assert.deepEqual(s.bodies('/l/cutch').map((b) => b.complete), [false]);
});

// ---- slow clients: the real edge's handler behind a listener with short limits ----

let slow: { listener: HttpListener; port: number; stage: Stage } | undefined;
const LIMITS = { headersTimeout: 600, requestTimeout: 1500, keepAliveTimeout: 400, checkInterval: 100 };
async function slowListener(): Promise<NonNullable<typeof slow>> {
  if (slow) return slow;
  const s = stage();
  const listener = new HttpListener({ host: '127.0.0.1', port: 0 }, s.edge.edge.handleHttp, undefined, LIMITS);
  const { port } = await listener.listen();
  slow = { listener, port, stage: s };
  return slow;
}
after(() => slow?.listener.close(0));

/** Writes a byte of `rest` every `everyMs` until the server closes; resolves with what it answered. */
function trickle(port: number, head: string, rest: string, everyMs: number): Promise<{ answer: string; sentAll: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let at = 0;
    socket.on('data', (c) => (answer += c.toString('latin1')));
    socket.on('error', () => undefined);
    socket.write(head);
    const timer = setInterval(() => {
      if (at < rest.length) socket.write(rest[at++]!);
    }, everyMs);
    const deadline = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`still open after 15 s; answered: ${answer.slice(0, 200)}`));
    }, 15_000);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(deadline);
      resolve({ answer, sentAll: at >= rest.length });
    });
  });
}

test('the defaults the slow-client cases shrink: 20 s for headers, 120 s for a request, 65 s idle, checked every second', () => {
  assert.deepEqual(LISTENER_LIMITS, { headersTimeout: 20_000, requestTimeout: 120_000, keepAliveTimeout: 65_000, checkInterval: 1_000 });
});

test('slowloris (headers trickled a byte at a time) — cut at headersTimeout with 408, never forwarded', async () => {
  const { port, stage: s } = await slowListener();
  const { answer, sentAll } = await trickle(port, 'GET /l/slow-headers HTTP/1.1\r\n', 'Host: a.test\r\nX-Slow: ' + 'z'.repeat(400) + '\r\n\r\n', 20);
  assert.equal(sentAll, false, 'cut while still trickling');
  assert.match(answer, /^HTTP\/1\.1 408 /);
  assert.match(answer, /request_timeout/);
  assert.deepEqual(s.seen('/l/slow-headers'), []);
});

test('slowloris (a request line and nothing more) — cut at headersTimeout', async () => {
  const { port } = await slowListener();
  const { answer } = await trickle(port, 'GET /l/slow-line', '', 1000);
  assert.match(answer, /^HTTP\/1\.1 408 /);
});

test('slow POST (R.U.D.Y.: a body trickled) — cut at requestTimeout; the origin sees it cut short', async () => {
  const { port, stage: s } = await slowListener();
  const { sentAll } = await trickle(port, 'POST /l/rudy HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1000\r\n\r\n', 'b'.repeat(1000), 20);
  assert.equal(sentAll, false, 'cut while still trickling');
  await waitFor(() => s.bodies('/l/rudy').every((b) => b.closed), 'the origin to see the request end');
  assert.deepEqual(s.bodies('/l/rudy').map((b) => b.complete), [false]);
});

test('an idle keep-alive connection is closed at keepAliveTimeout', async () => {
  const { port } = await slowListener();
  const { answer } = await trickle(port, get('/l/idle'), '', 1000);
  assert.match(answer, /^HTTP\/1\.1 200 /, 'answered, then closed once idle');
});

test('200 slow connections held open do not keep another client from being served', async () => {
  const s = stage();
  const held = await Promise.all(Array.from({ length: 200 }, (_, i) => openWith(s.port, `GET /l/held-${i} HTTP/1.1\r\nHost: a.test\r\n`)));
  try {
    const ex = await send(s.port, get('/l/while-held'));
    assert.equal(ex.first?.status, 200);
  } finally {
    for (const socket of held) socket.destroy();
  }
  assert.deepEqual(s.seen('/l/held-'), [], 'no half-sent request was forwarded');
});
