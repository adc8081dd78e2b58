// The HTTP/1 fast lane answers plain hits below Node's HTTP layer and hands everything else, with
// the bytes not yet answered, to Node's parser. Seen from a client it must change nothing: the same
// bytes as an edge without the lane, answers in request order across a hand-off in the middle of a
// pipeline, heads split across packets, every request Node would refuse refused the same way, and
// hits still logged, counted and rate-limited — on plain HTTP and on HTTP/1.1 over TLS; and over
// HTTP/2, the stream lane answers plain hits with the fields and body the compatibility layer sends.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFile, writeFile } from 'node:fs/promises';
import { connect as h2connect } from 'node:http2';
import { join } from 'node:path';
import { send, parseResponses } from './hostile/harness.js';
import { simpleConfig, startEdge, type TestEdge } from './helpers/edge.js';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { scratch } from './helpers/scratch.js';
import { startTestCa } from './helpers/test-ca.js';
import { waitFor } from './helpers/wait.js';

const BODY = 'x'.repeat(4096);
const BIG = Buffer.alloc(1024 * 1024, 'b');
const files = scratch();

async function origin(t: { after(fn: () => Promise<void>): void }): Promise<TestOrigin> {
  const o = await startOrigin((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'cache-control': 'public, max-age=600', 'content-length': String(BIG.length) });
      return void res.end(BIG);
    }
    if (req.url === '/private') {
      res.writeHead(200, { 'cache-control': 'private', 'content-length': '7' });
      return void res.end('private');
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=600', etag: '"v1"', 'content-length': String(BODY.length) });
    res.end(req.method === 'HEAD' ? undefined : BODY);
  });
  t.after(() => o.close());
  return o;
}

async function edges(t: { after(fn: () => Promise<void>): void }, o: TestOrigin, extra: Record<string, unknown> = {}): Promise<{ lane: TestEdge; node: TestEdge }> {
  const lane = await startEdge(simpleConfig(o.url, extra));
  const node = await startEdge(simpleConfig(o.url, { ...extra, proxy: { fastLane: false } }));
  t.after(async () => {
    await lane.stop();
    await node.stop();
  });
  return { lane, node };
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: a.test\r\n${extra}\r\n`;
const close = (path: string) => get(path, 'Connection: close\r\n');
/** Raw bytes with Date, Age and the hit's ttl blanked (they move with the clock). */
const norm = (raw: Buffer) => raw.toString('latin1').replace(/^(date|age): .*$/gim, '$1: <varies>').replace(/; ttl=-?\d+/g, '; ttl=<n>');

test('a plain hit from the lane is byte for byte what Node’s HTTP layer sends; the lane answers it', async (t) => {
  const o = await origin(t);
  const { lane, node } = await edges(t, o);
  for (const e of [lane, node]) await send(e.port, close('/a.css'), { sentinel: false });
  const before = lane.edge.runtime.stats.laneHits;
  const viaLane = await send(lane.port, [get('/a.css'), get('/a.css', 'User-Agent: test\r\nAccept: */*\r\nConnection: keep-alive\r\n'), close('/a.css')], { sentinel: false });
  const viaNode = await send(node.port, [get('/a.css'), get('/a.css', 'User-Agent: test\r\nAccept: */*\r\nConnection: keep-alive\r\n'), close('/a.css')], { sentinel: false });
  assert.equal(lane.edge.runtime.stats.laneHits - before, 2, 'the two keep-alive hits were the lane’s; the Connection: close one was Node’s');
  assert.equal(node.edge.runtime.stats.laneHits, 0);
  assert.equal(viaLane.responses.length, 3);
  assert.equal(norm(viaLane.raw), norm(viaNode.raw));
});

test('a pipeline with a miss, a pass and a refusal in the middle: every answer, in order, the lane handing off at the first it cannot answer', async (t) => {
  const o = await origin(t);
  const { lane, node } = await edges(t, o);
  for (const e of [lane, node]) await send(e.port, close('/a.css'), { sentinel: false });
  const pipeline = [get('/a.css'), get('/b.css'), get('/a.css'), get('/private'), get('/a.css', 'Content-Length: 0\r\n'), 'GET /a.css HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n'];
  const viaLane = await send(lane.port, pipeline.join(''));
  const viaNode = await send(node.port, pipeline.join(''));
  assert.deepEqual(viaLane.responses.map((r) => r.status), viaNode.responses.map((r) => r.status));
  assert.deepEqual(viaLane.responses.map((r) => r.status).slice(0, 4), [200, 200, 200, 200]);
  assert.deepEqual(viaLane.responses.map((r) => r.text.length).slice(0, 4), [4096, 4096, 4096, 7]);
  assert.equal(viaLane.sentinel, viaNode.sentinel);
  assert.equal(norm(viaLane.raw), norm(viaNode.raw));
});

test('requests outside the lane’s grammar get exactly the answers Node’s parser gives', async (t) => {
  const o = await origin(t);
  const { lane, node } = await edges(t, o);
  for (const e of [lane, node]) await send(e.port, close('/a.css'), { sentinel: false });
  const cases = [
    'GET /a.css HTTP/1.0\r\nHost: a.test\r\n\r\n',
    'GET /a.css HTTP/1.1\r\nHost: a.test\r\nX-Bin: caf\xe9\r\n\r\n',
    'GET /a.css HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'GET /a.css HTTP/1.1\r\nHost: a.test\r\n X-Folded: yes\r\n\r\n',
    'GET /a.css HTTP/1.1\r\nHost: a.test\r\nBad Name: x\r\n\r\n',
    'GET /a.css HTTP/1.1\r\nHost: a.test\nX-Bare-LF: 1\r\n\r\n',
    'GET /a.css HTTP/1.1\r\n\r\n',
    'GET http://a.test/a.css HTTP/1.1\r\nHost: a.test\r\n\r\n',
    'GET /a.css?x=%ZZ HTTP/1.1\r\nHost: a.test\r\nExpect: 100-continue\r\n\r\n',
    'HEAD /a.css HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n',
    'GET /a.css HTTP/1.1\r\nHost: a.test\r\nIf-None-Match: "v1"\r\n\r\n',
    'GET /a.css HTTP/1.1\r\nHost: a.test\r\nRange: bytes=0-9\r\n\r\n',
    'GET /../a.css HTTP/1.1\r\nHost: a.test\r\n\r\n',
    `GET /a.css HTTP/1.1\r\nHost: a.test\r\nX-Long: ${'y'.repeat(9000)}\r\n\r\n`,
  ];
  for (const request of cases) {
    const viaLane = await send(lane.port, request, { sentinel: !request.includes('HEAD') });
    const viaNode = await send(node.port, request, { sentinel: !request.includes('HEAD') });
    assert.equal(norm(viaLane.raw), norm(viaNode.raw), JSON.stringify(request.slice(0, 80)));
  }
});

test('a head split across packets, and HEAD: answered as Node answers them', async (t) => {
  const o = await origin(t);
  const { lane, node } = await edges(t, o);
  for (const e of [lane, node]) await send(e.port, close('/a.css'), { sentinel: false });
  const split = ['GET /a.css HTTP/1.1\r\nHo', 'st: a.test\r\n\r\n', 'GET /a.css HTTP/1.1\r\nHost: a.test\r\n\r\nGET /a.c', 'ss HTTP/1.1\r\nHost: a.test\r\n\r\n'];
  const viaLane = await send(lane.port, split, { parts: true });
  const viaNode = await send(node.port, split, { parts: true });
  assert.deepEqual(viaLane.responses.map((r) => [r.status, r.text.length]), [[200, 4096], [200, 4096], [200, 4096], [200, 4096]]);
  assert.equal(norm(viaLane.raw), norm(viaNode.raw));
  // HEAD in the lane, then a GET: the HEAD answer carries the length and no body.
  const head = await send(lane.port, ['HEAD /a.css HTTP/1.1\r\nHost: a.test\r\n\r\n', close('/a.css')].join(''), { sentinel: false });
  const headNode = await send(node.port, ['HEAD /a.css HTTP/1.1\r\nHost: a.test\r\n\r\n', close('/a.css')].join(''), { sentinel: false });
  assert.equal(norm(head.raw), norm(headNode.raw));
  assert.equal(head.raw.toString('latin1').split(BODY).length, 2, 'one body: the GET’s');
});

test('large answers in a pipeline: the lane waits for the client to take each one and answers every request in order', async (t) => {
  const o = await origin(t);
  const { lane } = await edges(t, o);
  await send(lane.port, close('/big'), { sentinel: false });
  const before = lane.edge.runtime.stats.laneHits;
  const ex = await send(lane.port, `${get('/big').repeat(20)}${close('/a.css')}`, { sentinel: false, timeoutMs: 60_000 });
  assert.equal(ex.responses.length, 21);
  assert.ok(ex.responses.slice(0, 20).every((r) => r.status === 200 && r.body.equals(BIG)));
  assert.equal(ex.responses[20]!.text, BODY);
  assert.equal(lane.edge.runtime.stats.laneHits - before, 20, 'every 1 MiB hit was the lane’s (it held, it did not hand off)');
});

test('lane hits are logged and rate-limited like any request', async (t) => {
  const o = await origin(t);
  const log = join(await files.temp('blotcdn-lane-'), 'access.log');
  const e = await startEdge({
    ...simpleConfig(o.url, { sites: [{ name: 'all', hosts: ['*'], originGroup: 'main', rateLimit: { perClient: { rate: '1/h', burst: 4 } } }] }),
    log: { access: log, events: 'off' },
  });
  await send(e.port, close('/a.css'), { sentinel: false });
  const ex = await send(e.port, [get('/a.css'), get('/a.css'), get('/a.css'), close('/a.css')].join(''), { sentinel: false });
  assert.deepEqual(ex.responses.map((r) => r.status), [200, 200, 200, 429]);
  assert.ok(e.edge.runtime.stats.laneHits >= 3);
  await e.stop(); // flushes the log
  const lines = (await readFile(log, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { status: number; cache: string; uri: string });
  assert.deepEqual(lines.map((l) => l.status), [200, 200, 200, 200, 429]);
  assert.match(lines[1]!.cache, /^hit/);
});

test('stopping the edge ends connections idle in the lane', async (t) => {
  const o = await origin(t);
  const e = await startEdge(simpleConfig(o.url));
  let stopped = false;
  t.after(() => (stopped ? undefined : e.stop()));
  await send(e.port, close('/a.css'), { sentinel: false });
  // A kept-alive connection whose last answer came from the lane; the edge stops while it idles.
  const idle = send(e.port, get('/a.css'), { sentinel: false });
  await waitFor(() => e.edge.runtime.stats.laneHits >= 1, 'the lane to answer');
  await e.stop();
  stopped = true;
  const ex = await idle;
  assert.equal(parseResponses(ex.raw).length, 1);
});

/** Two edges with the same certificate for a.test on an HTTPS listener: one with the lanes, one without. */
async function tlsEdges(t: { after(fn: () => Promise<void>): void }, o: TestOrigin): Promise<{ lane: TestEdge; node: TestEdge; ca: { certPem: string } }> {
  const ca = await startTestCa();
  const pair = await ca.issue(['a.test']);
  const dir = await files.temp('blotcdn-lane-tls-');
  await writeFile(join(dir, 'a.pem'), pair.certPem);
  await writeFile(join(dir, 'a.key'), pair.keyPem);
  const tlsConfig = (fastLane: boolean) => ({
    ...simpleConfig(o.url, { proxy: { fastLane } }),
    listen: { http: '127.0.0.1:0', https: '127.0.0.1:0' },
    tls: { certificates: [{ hosts: ['a.test'], cert: join(dir, 'a.pem'), key: join(dir, 'a.key') }], store: { dir: join(dir, `store-${fastLane}`) } },
  });
  const lane = await startEdge(tlsConfig(true));
  const node = await startEdge(tlsConfig(false));
  t.after(async () => {
    await lane.stop();
    await node.stop();
  });
  return { lane, node, ca };
}

test('over TLS (HTTP/1.1): lane answers equal an edge without the lane, byte for byte; HTTP/2 still answers', async (t) => {
  const o = await origin(t);
  const { lane, node, ca } = await tlsEdges(t, o);
  const port = (e: TestEdge) => e.edge.httpsAddresses[0]!.port;
  const tls = { servername: 'a.test' };
  for (const e of [lane, node]) await send(port(e), close('/a.css'), { sentinel: false, tls });
  const before = lane.edge.runtime.stats.laneHits;
  const pipeline = [get('/a.css'), get('/a.css', 'User-Agent: t\r\n'), get('/b.css'), get('/a.css'), close('/a.css')].join('');
  const viaLane = await send(port(lane), pipeline, { sentinel: false, tls });
  const viaNode = await send(port(node), pipeline, { sentinel: false, tls });
  assert.equal(lane.edge.runtime.stats.laneHits - before, 2, 'the two hits before the miss were the lane’s; the rest went to Node’s server');
  assert.deepEqual(viaLane.responses.map((r) => r.status), [200, 200, 200, 200, 200]);
  assert.equal(norm(viaLane.raw), norm(viaNode.raw));
  // HTTP/2 still answers on the same listener.
  const session = h2connect(`https://127.0.0.1:${port(lane)}`, { servername: 'a.test', ca: ca.certPem });
  t.after(() => session.close());
  const status = await new Promise<number>((resolve, reject) => {
    const stream = session.request({ ':path': '/a.css', ':authority': 'a.test' });
    stream.on('response', (h) => resolve(Number(h[':status'])));
    stream.on('error', reject);
    stream.resume();
  });
  assert.equal(status, 200);
});

test('HTTP/2: the stream lane answers plain hits with the fields and body Node’s compatibility layer sends; the rest goes to that layer', async (t) => {
  const o = await origin(t);
  const { lane, node, ca } = await tlsEdges(t, o);
  const open = (e: TestEdge) => {
    const session = h2connect(`https://127.0.0.1:${e.edge.httpsAddresses[0]!.port}`, { servername: 'a.test', ca: ca.certPem });
    t.after(() => session.close());
    return session;
  };
  type Answer = { headers: Record<string, unknown>; body: string };
  const request = (session: ReturnType<typeof h2connect>, path: string, extra: Record<string, string> = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const stream = session.request({ ':path': path, ':authority': 'a.test', ...extra }, { endStream: true });
      let headers: Record<string, unknown> = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (headers = { ...h }));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve({ headers, body: Buffer.concat(chunks).toString('latin1') }));
      stream.on('error', reject);
    });
  /** The fields that move with the clock, blanked; everything else must be equal. */
  const steady = ({ headers, body }: Answer) => ({ headers: { ...headers, date: typeof headers['date'], age: typeof headers['age'], 'cache-status': String(headers['cache-status']).replace(/; ttl=-?\d+/, '; ttl=<n>') }, body });
  const sessions = { lane: open(lane), node: open(node) };
  for (const s of Object.values(sessions)) await request(s, '/a.css'); // stored
  const cases: [string, Record<string, string>, boolean][] = [
    ['/a.css', {}, true],
    ['/a.css', { ':method': 'HEAD' }, true],
    ['/a.css', { 'user-agent': 'test', accept: '*/*', cookie: 'a=1' }, true],
    ['/a.css', { range: 'bytes=0-9' }, false],
    ['/a.css', { 'if-none-match': '"v1"' }, false],
    ['/big', {}, false], // a miss: Node's layer streams it from the flight
    ['/big', {}, true],
    ['/private', {}, false],
    ['/a.css', { ':method': 'POST' }, false],
  ];
  for (const [path, extra, byLane] of cases) {
    const before = lane.edge.runtime.stats.laneHits;
    const viaLane = await request(sessions.lane, path, extra);
    const viaNode = await request(sessions.node, path, extra);
    assert.equal(lane.edge.runtime.stats.laneHits - before, byLane ? 1 : 0, `${path} ${JSON.stringify(extra)}: ${byLane ? 'the lane’s' : 'Node’s layer’s'}`);
    assert.deepEqual(steady(viaLane), steady(viaNode), `${path} ${JSON.stringify(extra)}`);
  }
  assert.equal(node.edge.runtime.stats.laneHits, 0);
  // A client that resets its streams as they are answered harms nothing: the session goes on (a
  // few: more than 20 a second is the rapid-reset defence's to answer).
  for (let i = 0; i < 5; i++) {
    const stream = sessions.lane.request({ ':path': '/big', ':authority': 'a.test' });
    stream.on('error', () => undefined);
    stream.once('response', () => stream.close(2 /* NGHTTP2_INTERNAL_ERROR */));
  }
  const after = await request(sessions.lane, '/a.css');
  assert.equal(after.headers[':status'], 200);
  assert.equal(after.body, BODY);
});
