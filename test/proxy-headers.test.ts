// What crosses the edge and what does not: hop-by-hop fields stay on their connection (both ways),
// the origin learns who asked (X-Forwarded-*, Via), Host is kept or set per member, CDN-Loop stops
// a request that came back, and malformed requests get a clear 400.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startRelay } from './helpers/relay.js';
import { startEdge, type TestEdge } from './helpers/edge.js';
import { get, rawRequest, request } from './helpers/client.js';

let origin: TestOrigin;
let edge: TestEdge;

before(async () => {
  origin = await startOrigin((req, res) => {
    res.writeHead(200, {
      'content-type': 'text/plain',
      'cache-control': 'no-store',
      connection: 'x-origin-private',
      'x-origin-private': 'leak',
      'keep-alive': 'timeout=5',
      'surrogate-control': 'max-age=10',
      'x-public': 'ok',
    });
    res.end(`host=${req.headers.host}`);
  });
  edge = await startEdge({
    node: { id: 'edge-a' },
    originGroups: {
      keep: { members: [{ name: 'keep', url: origin.url }] },
      set: { members: [{ name: 'set', url: origin.url, host: 'internal.blot.im' }] },
    },
    sites: [
      { hosts: ['keep.test'], originGroup: 'keep' },
      { hosts: ['set.test'], originGroup: 'set' },
    ],
  });
});

after(async () => {
  await edge.stop();
  await origin.close();
});

test('hop-by-hop request fields are not forwarded; end-to-end ones are', async () => {
  await get(`${edge.url}/hop`, {
    host: 'keep.test',
    connection: 'x-client-private, keep-alive',
    'x-client-private': 'secret',
    'keep-alive': 'timeout=10',
    te: 'trailers',
    'proxy-authorization': 'Basic Zm9vOmJhcg==',
    'x-client-public': 'yes',
  });
  const seen = origin.requests.at(-1)!.headers;
  assert.equal(seen['x-client-private'], undefined);
  assert.equal(seen['te'], undefined);
  assert.equal(seen['proxy-authorization'], undefined);
  assert.equal(seen['keep-alive'], undefined);
  assert.equal(seen['x-client-public'], 'yes');
});

test('hop-by-hop response fields and Surrogate-Control do not reach the client', async () => {
  const res = await get(`${edge.url}/hop`, { host: 'keep.test' });
  assert.equal(res.headers['x-origin-private'], undefined);
  assert.equal(res.headers['surrogate-control'], undefined);
  assert.equal(res.headers['x-public'], 'ok');
  assert.equal(res.headers['via'], '1.1 edge-a');
});

test('the origin gets the Host the key names (with the listener port), X-Forwarded-*, Via and CDN-Loop', async () => {
  const res = await get(`${edge.url}/fwd`, { host: 'keep.test', 'x-forwarded-for': '203.0.113.7', via: '1.1 upstream' });
  // The listener is not on port 80, so its real port goes with the name.
  assert.equal(res.text, `host=keep.test:${edge.port}`);
  const seen = origin.requests.at(-1)!.headers;
  assert.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], `keep.test:${edge.port}`);
  assert.equal(seen['via'], '1.1 upstream, 1.1 edge-a');
  assert.equal(seen['cdn-loop'], 'blotcdn; node=edge-a');
});

test('a member can set its own Host instead of keeping the client’s', async () => {
  const res = await get(`${edge.url}/h`, { host: 'set.test' });
  assert.equal(res.text, 'host=internal.blot.im');
  assert.equal(origin.requests.at(-1)!.headers['x-forwarded-host'], `set.test:${edge.port}`);
});

test('CDN-Loop: a request that already passed this node, or too many of ours, is refused', async () => {
  const before = origin.requests.length;
  const looped = await get(`${edge.url}/l`, { host: 'keep.test', 'cdn-loop': 'other-cdn, blotcdn; node=edge-a' });
  assert.equal(looped.status, 508);
  assert.match(looped.text, /loop_detected/);
  const hops = await get(`${edge.url}/l`, { host: 'keep.test', 'cdn-loop': 'blotcdn; node=x1, blotcdn; node=x2, blotcdn; node=x3, blotcdn; node=x4' });
  assert.equal(hops.status, 508);
  assert.equal(origin.requests.length, before, 'neither reached the origin');
  const fine = await get(`${edge.url}/l`, { host: 'keep.test', 'cdn-loop': 'blotcdn; node=parent' });
  assert.equal(fine.status, 200);
  assert.equal(origin.requests.at(-1)!.headers['cdn-loop'], 'blotcdn; node=parent, blotcdn; node=edge-a');
});

test('two edges pointed at each other stop the loop instead of spinning', async (t) => {
  // edge B's origin is edge A, and A's origin is B: a misconfiguration that must end quickly. B
  // needs A's address before A exists: a relay holds it, then passes B's requests on to A.
  const toA = await startRelay();
  const b = await startEdge({ node: { id: 'loop-b' }, originGroups: { g: { members: [{ url: `http://127.0.0.1:${toA.port}` }] } }, sites: [{ hosts: ['*'], originGroup: 'g' }] });
  const a = await startEdge({ node: { id: 'loop-a' }, originGroups: { g: { members: [{ url: b.url }] } }, sites: [{ hosts: ['*'], originGroup: 'g' }] });
  toA.to(a.port);
  t.after(async () => {
    await a.stop();
    await b.stop();
    await toA.close();
  });
  const res = await get(`${a.url}/spin`);
  assert.equal(res.status, 508);
});

test('a POST body streams to the origin and is never cached', async (t) => {
  const echo = await startOrigin((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end(`got ${Buffer.concat(chunks).length} bytes via ${req.method}`);
    });
  });
  const e = await startEdge({ originGroups: { g: { members: [{ url: echo.url }] } }, sites: [{ hosts: ['*'], originGroup: 'g' }] });
  t.after(async () => {
    await e.stop();
    await echo.close();
  });
  const body = Buffer.alloc(300_000, 7);
  const res = await request(`${e.url}/upload`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(res.text, 'got 300000 bytes via POST');
  assert.equal(res.headers['cache-status'], 'blotcdn; fwd=method');
});

test('malformed requests get a 400 with a reason, not a hang or a crash', async () => {
  const badHeader = await rawRequest(edge.port, 'GET / HTTP/1.1\r\nHost: keep.test\r\nBad Header: x\r\n\r\n');
  assert.match(badHeader, /^HTTP\/1\.1 400/);
  assert.match(badHeader, /bad_request/);
  const noHost = await rawRequest(edge.port, 'GET / HTTP/1.1\r\n\r\n');
  assert.match(noHost, /^HTTP\/1\.1 400/);
  const garbage = await rawRequest(edge.port, '\x00\x01\x02 nonsense\r\n\r\n');
  assert.match(garbage, /^HTTP\/1\.1 400/);
  const target = await rawRequest(edge.port, 'GET nothing HTTP/1.1\r\nHost: keep.test\r\nConnection: close\r\n\r\n');
  assert.match(target, /^HTTP\/1\.1 400/);
  const huge = await rawRequest(edge.port, `GET / HTTP/1.1\r\nHost: keep.test\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`);
  assert.match(huge, /^HTTP\/1\.1 (400|431)/);
  // the edge is still fine
  assert.equal((await get(`${edge.url}/ok`, { host: 'keep.test' })).status, 200);
});
