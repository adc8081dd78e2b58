// Serving stale, seen from a client: stale-while-revalidate answers at once and refreshes once in
// the background (RFC 5861 §3); stale-if-error replaces an origin failure with the stale object
// while its window lasts (RFC 5861 §4); must-revalidate forbids both (RFC 9111 §4.2.4); and an origin
// group whose breaker already knows the member is down gives the stale object without a timeout.
//
// Time moves by the edge's clock (advanced by the test), and a refresh is held at the origin until
// the test lets it go, so nothing here depends on how fast the machine is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, simpleConfig, type TestEdge } from './helpers/edge.js';
import { get, type Reply } from './helpers/client.js';
import { waitFor } from './helpers/wait.js';
import { useManualClock } from '../src/clock.js';

const cacheStatus = (r: Reply) => String(r.headers['cache-status']);

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Starts an edge in front of `origin` and stops both after the test. */
async function edgeFor(t: { after: (fn: () => Promise<void>) => void }, origin: TestOrigin): Promise<TestEdge> {
  const edge = await startEdge(simpleConfig(origin.url));
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  return edge;
}

/**
 * An origin with a versioned body (`<path> v1`, `v2`, …): the first version is answered at once and
 * lives one second; later ones (the refreshes) are held until `release()`, so a test can see what
 * clients get while a refresh is still at the origin — without timing anything.
 */
async function gatedVersionedOrigin(): Promise<TestOrigin & { release(): void; held(): number }> {
  const versions = new Map<string, number>();
  let waiting: (() => void)[] = [];
  let released = false;
  const origin = await startOrigin((req, res) => {
    const path = req.url ?? '/';
    const v = (versions.get(path) ?? 0) + 1;
    versions.set(path, v);
    const answer = () => send(res, 200, `${path} v${v}`, { 'cache-control': v === 1 ? 'max-age=1, stale-while-revalidate=30' : 'max-age=60, stale-while-revalidate=30' });
    if (v === 1 || released) answer();
    else waiting.push(answer);
  });
  return Object.assign(origin, {
    release() {
      released = true;
      for (const w of waiting.splice(0)) w();
    },
    held: () => waiting.length,
  });
}

test('stale-while-revalidate: a stale object is answered at once, refreshed in the background, then fresh', async (t) => {
  const clock = useManualClock();
  t.after(() => clock.restore());
  const origin = await gatedVersionedOrigin();
  const edge = await edgeFor(t, origin);

  const miss = await get(`${edge.url}/swr`);
  assert.equal(miss.text, '/swr v1');
  assert.equal(cacheStatus(miss), 'blotcdn; fwd=miss; stored');

  clock.advance(1200);
  const stale = await get(`${edge.url}/swr`);
  assert.equal(stale.status, 200);
  assert.equal(stale.text, '/swr v1', 'the stale body, not the next version');
  await waitFor(() => origin.held() === 1, 'the background refresh to reach the origin');
  const m = /^blotcdn; hit; ttl=(-?\d+); detail=stale-while-revalidate$/.exec(cacheStatus(stale));
  assert.ok(m, `Cache-Status says stale-while-revalidate: ${cacheStatus(stale)}`);
  assert.ok(Number(m[1]) <= 0, `ttl of a stale object is not positive: ${m[1]}`);
  assert.ok(Number(stale.headers['age']) >= 1, `Age ${stale.headers['age']}`);

  origin.release();
  await waitFor(() => edge.edge.runtime.cache.flights.size === 0, 'the refresh to be stored');
  assert.equal(origin.count('/swr'), 2, 'one background refresh reached the origin');
  const fresh = await get(`${edge.url}/swr`);
  assert.equal(fresh.text, '/swr v2');
  const f = /^blotcdn; hit; ttl=(\d+)$/.exec(cacheStatus(fresh));
  assert.ok(f && Number(f[1]) >= 50, `a fresh hit after the refresh: ${cacheStatus(fresh)}`);
  assert.equal(origin.count('/swr'), 2, 'the fresh hit did not go to the origin');
});

test('stale-while-revalidate: 20 requests arriving at once in the stale window make exactly one refresh', async (t) => {
  const clock = useManualClock();
  t.after(() => clock.restore());
  const origin = await gatedVersionedOrigin();
  const edge = await edgeFor(t, origin);

  assert.equal((await get(`${edge.url}/many`)).text, '/many v1');
  clock.advance(1200);
  const replies = await Promise.all(Array.from({ length: 20 }, () => get(`${edge.url}/many`)));
  for (const r of replies) {
    assert.equal(r.status, 200);
    assert.equal(r.text, '/many v1');
    assert.match(cacheStatus(r), /^blotcdn; hit; ttl=-?\d+; detail=stale-while-revalidate$/);
  }
  assert.ok(origin.held() <= 1, 'every client was answered while the one refresh was still at the origin');

  origin.release();
  await waitFor(() => origin.count('/many') === 2 && edge.edge.runtime.cache.flights.size === 0, 'the refresh to be stored');
  const fresh = await get(`${edge.url}/many`);
  assert.equal(fresh.text, '/many v2');
  assert.match(cacheStatus(fresh), /^blotcdn; hit; ttl=\d+$/);
  assert.equal(origin.count('/many'), 2, `one initial fetch and one refresh, got ${origin.count('/many')}`);
});

test('stale-if-error: a 503 or a refused connection after expiry gives the stale object', async (t) => {
  const clock = useManualClock();
  t.after(() => clock.restore());
  let mode: 'ok' | '503' = 'ok';
  const origin = await startOrigin((req, res) => {
    if (mode === '503') return send(res, 503, 'maintenance', {});
    send(res, 200, `original ${req.url}`, { 'cache-control': 'max-age=1, stale-if-error=60' });
  });
  const edge = await edgeFor(t, origin);

  assert.equal((await get(`${edge.url}/sie`)).text, 'original /sie');
  assert.match(cacheStatus(await get(`${edge.url}/sie`)), /^blotcdn; hit/);
  clock.advance(1200);

  mode = '503';
  const on503 = await get(`${edge.url}/sie`);
  assert.equal(on503.status, 200);
  assert.equal(on503.text, 'original /sie');
  assert.match(cacheStatus(on503), /fwd=stale/);
  assert.match(cacheStatus(on503), /detail=stale-if-error/);
  assert.equal(origin.count('/sie'), 2, 'the origin was asked (and failed) before stale was served');

  await origin.close();
  const refused = await get(`${edge.url}/sie`);
  assert.equal(refused.status, 200);
  assert.equal(refused.text, 'original /sie');
  assert.match(cacheStatus(refused), /^blotcdn; fwd=stale; detail=stale-if-error$/);
  assert.ok(Number(refused.headers['age']) >= 1, `Age ${refused.headers['age']}`);
});

test('stale-if-error: once its window is over, a failing origin gives the error, not stale', async (t) => {
  const clock = useManualClock();
  t.after(() => clock.restore());
  let mode: 'ok' | '503' = 'ok';
  const origin = await startOrigin((req, res) => {
    if (mode === '503') return send(res, 503, 'maintenance', {});
    send(res, 200, `original ${req.url}`, { 'cache-control': 'max-age=1, stale-if-error=2' });
  });
  const edge = await edgeFor(t, origin);

  assert.equal((await get(`${edge.url}/short`)).text, 'original /short');
  clock.advance(1200);
  mode = '503';
  const inside = await get(`${edge.url}/short`);
  assert.equal(inside.status, 200, 'still inside the 2 s window');
  assert.equal(inside.text, 'original /short');

  // Stored 1.2 s ago: fresh for 1 s, then 2 s of stale-if-error. Move well past both.
  clock.advance(2300);
  const after503 = await get(`${edge.url}/short`);
  assert.ok([502, 503].includes(after503.status), `status ${after503.status}`);
  assert.notEqual(after503.text, 'original /short');
  assert.doesNotMatch(cacheStatus(after503), /stale-if-error/);

  await origin.close();
  const afterRefused = await get(`${edge.url}/short`);
  assert.ok([502, 503].includes(afterRefused.status), `status ${afterRefused.status}`);
  assert.notEqual(afterRefused.text, 'original /short');
});

test('must-revalidate forbids serving stale, even with stale-if-error', async (t) => {
  const clock = useManualClock();
  t.after(() => clock.restore());
  let mode: 'ok' | '503' = 'ok';
  const origin = await startOrigin((req, res) => {
    if (mode === '503') return send(res, 503, 'maintenance', {});
    send(res, 200, `original ${req.url}`, { 'cache-control': 'max-age=1, must-revalidate, stale-if-error=60' });
  });
  const edge = await edgeFor(t, origin);

  assert.equal((await get(`${edge.url}/mr`)).text, 'original /mr');
  assert.match(cacheStatus(await get(`${edge.url}/mr`)), /^blotcdn; hit/);
  clock.advance(1200);
  mode = '503';
  const res = await get(`${edge.url}/mr`);
  assert.equal(res.status, 503);
  assert.equal(res.text, 'maintenance', "the origin's error, not the stale object");
  assert.doesNotMatch(cacheStatus(res), /stale-if-error/);

  await origin.close();
  const refused = await get(`${edge.url}/mr`);
  assert.ok([502, 503].includes(refused.status), `status ${refused.status}`);
  assert.notEqual(refused.text, 'original /mr');
});

test('an open breaker serves the stale object at once instead of paying the timeout again', async (t) => {
  const clock = useManualClock();
  t.after(() => clock.restore());
  let hang = false;
  const origin = await startOrigin((req, res) => {
    if (hang) return; // never answers; the edge's headersTimeout gives up
    send(res, 200, `original ${req.url}`, { 'cache-control': 'max-age=1, stale-if-error=60' });
  });
  const edge = await startEdge({
    originGroups: {
      // 1 s: fires for the hanging request, never for the first one, answered at once on loopback.
      g: { members: [{ name: 'only', url: origin.url, headersTimeout: '1s' }], breaker: { failures: 1, cooldown: '60s' } },
    },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });

  assert.equal((await get(`${edge.url}/b`)).text, 'original /b');
  clock.advance(1200);
  hang = true;

  const first = await get(`${edge.url}/b`);
  assert.equal(first.status, 200);
  assert.equal(first.text, 'original /b');
  assert.match(cacheStatus(first), /fwd=stale; detail=stale-if-error/);
  assert.equal(edge.edge.origins.get('g')!.status()[0]!.state, 'open', 'the timeout opened the breaker');
  assert.equal(origin.count('/b'), 2);

  const second = await get(`${edge.url}/b`);
  assert.equal(second.status, 200);
  assert.equal(second.text, 'original /b');
  assert.match(cacheStatus(second), /fwd=stale; detail=stale-if-error/);
  assert.equal(origin.count('/b'), 2, 'the member known to be down was not asked again');
});
