// Range requests seen from a client (RFC 9110 §14): single, suffix, open and multiple ranges from a
// stored object, 416 past the end, a malformed Range ignored, If-Range; and on a miss the edge
// fetches the whole object once (never forwarding Range) and answers the range as soon as its bytes
// are in, long before the origin has finished (shown by the origin still holding the rest of the
// body, released by the test, when the client already has its range).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, simpleConfig, settled, type TestEdge } from './helpers/edge.js';
import { get, request } from './helpers/client.js';
import { Gate } from './helpers/gate.js';

const SIZE = 10_000;
/** Bytes that differ from their neighbours, so an off-by-one shows. */
const BODY = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 7 + (i >> 8)) % 256));

const BIG_SIZE = 2 * 1024 * 1024;
const CHUNK = 64 * 1024;
const BIG = Buffer.from(Array.from({ length: BIG_SIZE }, (_, i) => (i * 13 + (i >> 10)) % 256));

let origin: TestOrigin;
let edge: TestEdge;
/** The origin sends the first 64 KiB of /big at once and the rest when this opens. */
const bigRest = new Gate();

before(async () => {
  origin = await startOrigin((req, res) => {
    if (req.url === '/obj') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(SIZE), etag: '"r1"', 'cache-control': 'max-age=60' });
      res.end(BODY);
      return;
    }
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG_SIZE), etag: '"big"', 'cache-control': 'max-age=60' });
      res.write(BIG.subarray(0, CHUNK));
      bigRest.pass(() => res.end(BIG.subarray(CHUNK)));
      return;
    }
    res.writeHead(404, { 'content-length': '0' });
    res.end();
  });
  edge = await startEdge(simpleConfig(origin.url));
  // Store /obj before the range tests.
  await get(`${edge.url}/obj`);
  await settled(edge);
});

after(async () => {
  bigRest.open();
  await edge.stop();
  await origin.close();
});

const cs = (r: { headers: Record<string, unknown> }) => String(r.headers['cache-status']);
const range = (value: string, extra: Record<string, string> = {}) => request(`${edge.url}/obj`, { headers: { range: value, ...extra } });

test('a single range from a stored object: 206 with Content-Range and exactly those bytes', async () => {
  const r = await range('bytes=0-99');
  assert.equal(r.status, 206);
  assert.equal(r.headers['content-range'], `bytes 0-99/${SIZE}`);
  assert.equal(r.headers['content-length'], '100');
  assert.deepEqual(r.body, BODY.subarray(0, 100));
  assert.match(cs(r), /^blotcdn; hit/);

  const middle = await range('bytes=1234-5677');
  assert.equal(middle.headers['content-range'], `bytes 1234-5677/${SIZE}`);
  assert.deepEqual(middle.body, BODY.subarray(1234, 5678));
  assert.equal(origin.count('/obj'), 1);
});

test('a suffix range gives the last bytes; an open range runs to the end', async () => {
  const suffix = await range('bytes=-100');
  assert.equal(suffix.status, 206);
  assert.equal(suffix.headers['content-range'], `bytes ${SIZE - 100}-${SIZE - 1}/${SIZE}`);
  assert.deepEqual(suffix.body, BODY.subarray(SIZE - 100));

  const open = await range('bytes=500-');
  assert.equal(open.status, 206);
  assert.equal(open.headers['content-range'], `bytes 500-${SIZE - 1}/${SIZE}`);
  assert.equal(open.headers['content-length'], String(SIZE - 500));
  assert.deepEqual(open.body, BODY.subarray(500));

  const beyond = await range(`bytes=${SIZE - 10}-${SIZE + 5000}`);
  assert.equal(beyond.status, 206, 'a last-pos past the end is clamped');
  assert.equal(beyond.headers['content-range'], `bytes ${SIZE - 10}-${SIZE - 1}/${SIZE}`);
  assert.deepEqual(beyond.body, BODY.subarray(SIZE - 10));
});

interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

/** Parses a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1.1). */
function parseMultipart(body: Buffer, boundary: string): Part[] {
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  const pieces = text.split(delimiter);
  // pieces[0] is the preamble (empty here); the last starts with "--" (the close delimiter).
  assert.equal(pieces[0], '', 'no preamble');
  assert.match(pieces.at(-1)!, /^--\r\n$/, 'ends with the close delimiter');
  return pieces.slice(1, -1).map((piece, i) => {
    // Each piece is CRLF, the part's header lines, CRLF CRLF, the bytes, then the CRLF that
    // belongs to the next delimiter.
    assert.ok(piece.startsWith('\r\n'), `part ${i} starts on a new line`);
    assert.ok(piece.endsWith('\r\n'), `part ${i} is followed by CRLF before the delimiter`);
    const next = piece.slice(0, -2);
    const split = next.indexOf('\r\n\r\n');
    assert.ok(split >= 0, `part ${i} has a header section`);
    const headers: Record<string, string> = {};
    for (const line of next.slice(2, split).split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { headers, body: Buffer.from(next.slice(split + 4), 'latin1') };
  });
}

test('several ranges come back as multipart/byteranges whose parts hold the right bytes', async () => {
  const r = await range('bytes=0-9, 100-199, -50');
  assert.equal(r.status, 206);
  const type = String(r.headers['content-type']);
  const m = /^multipart\/byteranges;\s*boundary=("?)([^";]+)\1$/.exec(type);
  assert.ok(m, `content-type ${type}`);
  assert.equal(r.headers['content-range'], undefined, 'a multipart response has no Content-Range of its own');
  assert.equal(Number(r.headers['content-length']), r.body.length);
  const parts = parseMultipart(r.body, m[2]!);
  const expected = [
    [0, 9],
    [100, 199],
    [SIZE - 50, SIZE - 1],
  ] as const;
  assert.equal(parts.length, expected.length);
  parts.forEach((part, i) => {
    const [start, end] = expected[i]!;
    assert.equal(part.headers['content-range'], `bytes ${start}-${end}/${SIZE}`, `part ${i}`);
    assert.equal(part.headers['content-type'], 'application/octet-stream', `part ${i}`);
    assert.deepEqual(part.body, BODY.subarray(start, end + 1), `part ${i} bytes`);
  });
});

test('a range wholly past the end is 416 with Content-Range: bytes */SIZE', async () => {
  const r = await range('bytes=99999-');
  assert.equal(r.status, 416);
  assert.equal(r.headers['content-range'], `bytes */${SIZE}`);
  assert.equal(r.body.length, 0);
});

test('a malformed Range is ignored: 200 with the whole body', async () => {
  for (const value of ['bytes=abc', 'bytes=20-10', 'items=0-5']) {
    const r = await range(value);
    assert.equal(r.status, 200, value);
    assert.equal(r.headers['content-range'], undefined, value);
    assert.deepEqual(r.body, BODY, value);
  }
});

test('If-Range: the current strong ETag gives the range, another ETag the whole body', async () => {
  const same = await range('bytes=0-99', { 'if-range': '"r1"' });
  assert.equal(same.status, 206);
  assert.deepEqual(same.body, BODY.subarray(0, 100));
  const other = await range('bytes=0-99', { 'if-range': '"r0"' });
  assert.equal(other.status, 200);
  assert.equal(other.headers['content-range'], undefined);
  assert.deepEqual(other.body, BODY);
  const weak = await range('bytes=0-99', { 'if-range': 'W/"r1"' });
  assert.equal(weak.status, 200, 'If-Range needs a strong comparison (RFC 9110 §13.1.5)');
  assert.equal(origin.count('/obj'), 1);
});

test('a range on a miss: whole object fetched once, no Range sent upstream, 206 long before the origin ends', async () => {
  // A second client wants the last KiB at the same time: it joins the same fetch and waits for it.
  let tailDone = false;
  const tail = request(`${edge.url}/big`, { headers: { range: 'bytes=-1024' } }).finally(() => (tailDone = true));
  const r = await request(`${edge.url}/big`, { headers: { range: 'bytes=0-1023' } });
  assert.equal(r.status, 206);
  assert.equal(r.error, undefined);
  assert.equal(r.headers['content-range'], `bytes 0-1023/${BIG_SIZE}`);
  assert.deepEqual(r.body, BIG.subarray(0, 1024));
  assert.match(cs(r), /fwd=miss; stored/);
  assert.equal(bigRest.held, 1, 'the range was answered while the origin still held all but its first 64 KiB');
  assert.equal(tailDone, false, 'the last KiB cannot have been answered yet');
  bigRest.open();

  const end = await tail;
  assert.equal(end.status, 206);
  assert.equal(end.headers['content-range'], `bytes ${BIG_SIZE - 1024}-${BIG_SIZE - 1}/${BIG_SIZE}`);
  assert.deepEqual(end.body, BIG.subarray(BIG_SIZE - 1024));

  assert.equal(origin.count('/big'), 1);
  const seen = origin.requests.find((x) => x.url === '/big')!;
  assert.equal(seen.headers['range'], undefined, 'Range is not forwarded');
  assert.equal(seen.headers['if-range'], undefined);

  await settled(edge);
  const later = await request(`${edge.url}/big`, { headers: { range: 'bytes=1048000-1049999' } });
  assert.equal(later.status, 206);
  assert.match(cs(later), /^blotcdn; hit/);
  assert.deepEqual(later.body, BIG.subarray(1048000, 1050000));
  const whole = await get(`${edge.url}/big`);
  assert.match(cs(whole), /^blotcdn; hit/);
  assert.equal(whole.body.length, BIG_SIZE);
  assert.ok(whole.body.equals(BIG), 'the stored object is the whole body');
  assert.equal(origin.count('/big'), 1);
});
