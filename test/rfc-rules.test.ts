// RFC rules seen from a client: targeted fields as Structured Field dictionaries (RFC 9213), the
// origin's Age on a miss (RFC 9111 §4.2.3), fields a qualified no-cache/private keeps out of the
// store but not out of the response that fetched them (§5.2.2.4, §5.2.2.7), Vary: Accept-Encoding
// only where the edge really compresses, 103 Early Hints passed on and never stored (RFC 9110
// §15.2), and the Set-Cookie modes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, type TestEdge } from './helpers/edge.js';
import { get } from './helpers/client.js';

type Route = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Route>();
let origin: TestOrigin;
let edge: TestEdge;

function serve(path: string, headers: Record<string, string | string[]>, body = `${path} body`): void {
  routes.set(path, (_req, res) => {
    const text = `${body} #${origin.count(path)}`;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  });
}

before(async () => {
  origin = await startOrigin((req, res) => {
    const route = routes.get(req.url ?? '');
    if (route) return route(req, res);
    res.writeHead(404, { 'content-length': '0' });
    res.end();
  });
  edge = await startEdge({
    originGroups: { main: { members: [{ url: origin.url }] } },
    sites: [
      {
        hosts: ['*'],
        originGroup: 'main',
        behaviors: [
          { path: '/cookie-strip/*', setCookie: 'strip' },
          { path: '/cookie-store/*', setCookie: 'store' },
        ],
      },
    ],
  });
});

after(async () => {
  await edge.stop();
  await origin.close();
});

const cs = (r: { headers: Record<string, unknown> }) => String(r.headers['cache-status']);

test('a CDN-Cache-Control that is not a valid dictionary is ignored as a whole; the next field decides', async () => {
  serve('/sf/quoted', { 'cdn-cache-control': 'max-age="10000"', 'cache-control': 'no-store' });
  serve('/sf/garbage', { 'cdn-cache-control': 'max-age=10000, &&&&&', 'cache-control': 'no-store' });
  serve('/sf/decimal', { 'cdn-cache-control': 'max-age=1.5', 'cache-control': 'no-store' });
  serve('/sf/valid', { 'cdn-cache-control': 'max-age=600', 'cache-control': 'no-store' });
  serve('/sf/own', { 'blotcdn-cache-control': 'max-age="9"', 'cdn-cache-control': 'max-age=600', 'cache-control': 'no-store' });
  for (const path of ['/sf/quoted', '/sf/garbage', '/sf/decimal']) {
    await get(`${edge.url}${path}`);
    const second = await get(`${edge.url}${path}`);
    assert.match(cs(second), /fwd=miss/, `${path}: Cache-Control: no-store decided`);
    assert.equal(origin.count(path), 2);
  }
  for (const path of ['/sf/valid', '/sf/own']) {
    await get(`${edge.url}${path}`);
    assert.match(cs(await get(`${edge.url}${path}`)), /^blotcdn; hit/, path);
  }
});

test("the origin's Age reaches the client on a miss and counts in the stored object's age", async () => {
  serve('/aged', { 'cache-control': 'max-age=100', age: '30' });
  const miss = await get(`${edge.url}/aged`);
  assert.match(cs(miss), /fwd=miss/);
  assert.ok(Number(miss.headers['age']) >= 30, `miss Age ${miss.headers['age']}`);
  const hit = await get(`${edge.url}/aged`);
  assert.ok(Number(hit.headers['age']) >= 30, `hit Age ${hit.headers['age']}`);
  const ttl = Number(/ttl=(-?\d+)/.exec(cs(hit))![1]);
  assert.ok(ttl <= 70, `ttl ${ttl}: 100 s of lifetime less the 30 s it was old already`);
});

test('a qualified no-cache / private field reaches the client that fetched the response, and no one else', async () => {
  serve('/qualified', { 'cache-control': 'max-age=60, no-cache="x-secret", private="x-user"', 'x-secret': 's3cret', 'x-user': 'alice', 'x-public': 'yes' });
  const first = await get(`${edge.url}/qualified`);
  assert.equal(first.headers['x-secret'], 's3cret');
  assert.equal(first.headers['x-user'], 'alice');
  const hit = await get(`${edge.url}/qualified`);
  assert.match(cs(hit), /^blotcdn; hit/);
  assert.equal(hit.headers['x-secret'], undefined);
  assert.equal(hit.headers['x-user'], undefined);
  assert.equal(hit.headers['x-public'], 'yes');
});

test('Vary: Accept-Encoding only on responses the edge may serve compressed; an origin Vary is left alone', async () => {
  serve('/ae/big.html', { 'content-type': 'text/html', 'cache-control': 'max-age=60' }, 'x'.repeat(5000));
  serve('/ae/tiny.html', { 'content-type': 'text/html', 'cache-control': 'max-age=60' }, 'tiny');
  serve('/ae/image.png', { 'content-type': 'image/png', 'cache-control': 'max-age=60', vary: 'Origin' }, 'p'.repeat(5000));
  const big = await get(`${edge.url}/ae/big.html`, { 'accept-encoding': 'gzip' });
  assert.match(String(big.headers['vary']), /accept-encoding/i);
  const tiny = await get(`${edge.url}/ae/tiny.html`, { 'accept-encoding': 'gzip' });
  assert.equal(tiny.headers['vary'], undefined, 'below the minimum size nothing is compressed, so nothing varies');
  assert.equal((await get(`${edge.url}/ae/tiny.html`)).headers['vary'], undefined);
  const png = await get(`${edge.url}/ae/image.png`, { 'accept-encoding': 'gzip' });
  assert.equal(png.headers['vary'], 'Origin');
});

test('103 Early Hints are passed on to the client of a miss and never stored', async () => {
  routes.set('/hinted', (_req, res) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
    const body = 'hinted page';
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(body.length), 'cache-control': 'max-age=60' });
    res.end(body);
  });
  const fetchWithHints = () =>
    new Promise<{ hints: Record<string, unknown>[]; status: number; cache: string; body: string }>((resolve, reject) => {
      const hints: Record<string, unknown>[] = [];
      const req = httpRequest(`${edge.url}/hinted`, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ hints, status: res.statusCode!, cache: String(res.headers['cache-status']), body }));
      });
      req.on('information', (info) => hints.push({ status: info.statusCode, ...info.headers }));
      req.on('error', reject);
      req.end();
    });
  const miss = await fetchWithHints();
  assert.equal(miss.status, 200);
  assert.equal(miss.body, 'hinted page');
  assert.equal(miss.hints.length, 1);
  assert.equal(miss.hints[0]!.status, 103);
  assert.match(String(miss.hints[0]!.link), /style\.css/);
  const hit = await fetchWithHints();
  assert.match(hit.cache, /^blotcdn; hit/);
  assert.equal(hit.hints.length, 0, 'a stored response carries no interim response');
  assert.equal(hit.body, 'hinted page');
});

test('Set-Cookie: not stored by default; `strip` stores without the cookie; `store` replays it', async () => {
  for (const prefix of ['/cookie-pass', '/cookie-strip', '/cookie-store']) serve(`${prefix}/p`, { 'cache-control': 'max-age=60', 'set-cookie': 'session=abc; Path=/' });
  const pass1 = await get(`${edge.url}/cookie-pass/p`);
  assert.equal(String(pass1.headers['set-cookie']), 'session=abc; Path=/');
  assert.match(cs(pass1), /detail=set-cookie/);
  assert.match(cs(await get(`${edge.url}/cookie-pass/p`)), /fwd=miss/);

  const strip1 = await get(`${edge.url}/cookie-strip/p`);
  assert.equal(String(strip1.headers['set-cookie']), 'session=abc; Path=/', 'the client that fetched it gets its cookie');
  const strip2 = await get(`${edge.url}/cookie-strip/p`);
  assert.match(cs(strip2), /^blotcdn; hit/);
  assert.equal(strip2.headers['set-cookie'], undefined, 'nobody else gets it');

  await get(`${edge.url}/cookie-store/p`);
  const store2 = await get(`${edge.url}/cookie-store/p`);
  assert.match(cs(store2), /^blotcdn; hit/);
  assert.equal(String(store2.headers['set-cookie']), 'session=abc; Path=/');
});
