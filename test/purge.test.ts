// Purges from the outside: by URL (every Vary variant and compressed copy), prefix, host and tag;
// hard (gone) and soft (stale: served while a refresh runs, or while the origin is down); effective
// for the very next request, on both tiers; and a purge racing a fetch already in flight. Nothing
// here sleeps: background work (a compressed copy, a commit, a refresh) is waited for by the edge's
// own state, and time moves by the edge's clock.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, settled, type TestEdge } from './helpers/edge.js';
import { get } from './helpers/client.js';
import { manualClock } from './helpers/clock.js';
import { waitFor } from './helpers/wait.js';

let origin: TestOrigin;
let version = 1;
let down = false;
const routes = new Map<string, (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void>();

function page(extra: Record<string, string> = {}) {
  return (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    if (down) return void res.writeHead(503).end('down');
    const body = `${req.headers.host}${req.url} v${version} ${'x'.repeat(2000)}`;
    res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=300', 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  };
}

before(async () => {
  origin = await startOrigin((req, res) => (routes.get(req.url!.split('?')[0]!) ?? page())(req, res));
});
after(() => origin.close());

async function edgeWith(extra: Record<string, unknown> = {}): Promise<TestEdge> {
  return startEdge({
    originGroups: { g: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
    ...extra,
  });
}

const cs = (r: { headers: Record<string, unknown> }) => String(r.headers['cache-status']);
const hit = (r: { headers: Record<string, unknown> }) => /^blotcdn; hit/.test(cs(r));

test('a URL purge removes every variant and compressed copy, for the next request', async (t) => {
  const edge = await edgeWith();
  t.after(() => edge.stop());
  routes.set('/varied', page({ vary: 'Accept-Language' }));
  const url = `${edge.url}/varied`;
  for (const lang of ['en', 'fr']) {
    await get(url, { host: 'a.test', 'accept-language': lang, 'accept-encoding': 'br' });
    await settled(edge); // the br copy is made in the background
    assert.ok(hit(await get(url, { host: 'a.test', 'accept-language': lang, 'accept-encoding': 'br' })));
  }
  const br = await get(url, { host: 'a.test', 'accept-language': 'en', 'accept-encoding': 'br' });
  assert.equal(br.headers['content-encoding'], 'br');
  const record = await edge.edge.purge({ kind: 'url', value: 'https://a.test/varied' });
  assert.ok(record.purged >= 4, `identity and br copies of both variants: ${record.purged}`);
  for (const lang of ['en', 'fr']) {
    const after = await get(url, { host: 'a.test', 'accept-language': lang, 'accept-encoding': 'br' });
    assert.match(cs(after), /fwd=(vary-)?miss/, lang);
    assert.equal(after.headers['content-encoding'], undefined, 'the old br copy is gone too');
  }
});

test('host, prefix and tag purges remove exactly what they name', async (t) => {
  // Each purge is followed by a tick of the edge's clock: the refetches after it begin after it.
  const clock = manualClock(t);
  const edge = await edgeWith();
  t.after(() => edge.stop());
  routes.set('/tagged/one', page({ 'surrogate-key': 'post-1 blog-a' }));
  routes.set('/tagged/two', page({ 'cache-tag': 'post-2,blog-a' }));
  const urls = [
    ['a.test', '/blog/1'],
    ['a.test', '/blog/2'],
    ['a.test', '/about'],
    ['b.test', '/blog/1'],
    ['c.test', '/tagged/one'],
    ['c.test', '/tagged/two'],
  ] as const;
  const all = async () => Promise.all(urls.map(([host, path]) => get(`${edge.url}${path}`, { host })));
  await all();
  assert.ok((await all()).every(hit));
  const tagged = await get(`${edge.url}/tagged/one`, { host: 'c.test' });
  assert.equal(tagged.headers['surrogate-key'], undefined, 'tags never leave the edge');
  assert.equal((await get(`${edge.url}/tagged/two`, { host: 'c.test' })).headers['cache-tag'], undefined);

  assert.equal((await edge.edge.purge({ kind: 'prefix', value: 'a.test/blog/' })).purged, 2);
  clock.advance(1);
  let r = await all();
  assert.deepEqual(r.map(hit), [false, false, true, true, true, true]);

  assert.equal((await edge.edge.purge({ kind: 'tag', value: 'post-2' })).purged, 1);
  clock.advance(1);
  r = await all();
  assert.deepEqual(r.map(hit), [true, true, true, true, true, false]);

  assert.equal((await edge.edge.purge({ kind: 'tag', value: 'blog-a' })).purged, 2);
  assert.equal((await edge.edge.purge({ kind: 'host', value: 'A.test' })).purged, 3);
  clock.advance(1);
  r = await all();
  assert.deepEqual(r.map(hit), [false, false, false, true, false, false]);
});

test('a soft purge serves the stale object at once while one refresh runs', async (t) => {
  const clock = manualClock(t);
  const edge = await edgeWith();
  t.after(() => edge.stop());
  routes.delete('/soft');
  version = 1;
  await get(`${edge.url}/soft`, { host: 's.test' });
  version = 2;
  const before = origin.count('/soft');
  const record = await edge.edge.purge({ kind: 'host', value: 's.test', soft: true });
  assert.equal(record.purged, 1);
  clock.advance(1); // the refresh begins after the purge
  const stale = await get(`${edge.url}/soft`, { host: 's.test' });
  assert.match(stale.text, / v1 /, 'the stale object is served right away');
  assert.match(cs(stale), /stale-while-revalidate/);
  await waitFor(() => origin.count('/soft') > before, 'the background refresh to reach the origin');
  await settled(edge);
  assert.equal(origin.count('/soft'), before + 1, 'one background refresh');
  const fresh = await get(`${edge.url}/soft`, { host: 's.test' });
  assert.ok(hit(fresh));
  assert.match(fresh.text, / v2 /);
});

test('a soft-purged object is served while the origin is down; a hard-purged one is not', async (t) => {
  const edge = await edgeWith({ originGroups: { g: { members: [{ url: origin.url }], breaker: { failures: 100 } } } });
  t.after(() => {
    down = false;
    return edge.stop();
  });
  await get(`${edge.url}/down-soft`, { host: 'd.test' });
  await get(`${edge.url}/down-hard`, { host: 'd.test' });
  await edge.edge.purge({ kind: 'url', value: 'd.test/down-soft', soft: true });
  await edge.edge.purge({ kind: 'url', value: 'd.test/down-hard' });
  down = true;
  const soft = await get(`${edge.url}/down-soft`, { host: 'd.test' });
  assert.equal(soft.status, 200);
  await waitFor(() => origin.count('/down-soft') === 2, 'the background refresh to reach the origin');
  await settled(edge); // the background refresh meets the 503
  const softAgain = await get(`${edge.url}/down-soft`, { host: 'd.test' });
  assert.equal(softAgain.status, 200, 'still served while the origin is down');
  const hard = await get(`${edge.url}/down-hard`, { host: 'd.test' });
  assert.equal(hard.status, 503);
});

test('a purge holds against a fetch already in flight: what it brings back is not stored', async (t) => {
  const edge = await edgeWith();
  t.after(() => edge.stop());
  let release: () => void = () => {};
  let first = true;
  routes.set('/racing', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=300', 'content-length': '10' });
    // The first answer is held half-way until the test has purged; later ones come at once.
    if (!first) return void res.end('0123456789');
    first = false;
    res.write('01234');
    release = () => res.end('56789');
  });
  const inFlight = get(`${edge.url}/racing`, { host: 'r.test' });
  await waitFor(() => edge.edge.runtime.cache.flights.get('http://r.test/racing')?.received === 5, 'the first half to reach the edge');
  const record = await edge.edge.purge({ kind: 'host', value: 'r.test' });
  assert.equal(record.purged, 0, 'nothing stored yet');
  release();
  const answered = await inFlight;
  assert.equal(answered.text, '0123456789', 'the client that asked before the purge gets its answer');
  const next = await get(`${edge.url}/racing`, { host: 'r.test' });
  assert.match(cs(next), /fwd=miss/, 'the object fetched before the purge was not stored after it');
  assert.equal(origin.count('/racing'), 2);
});

test('a request after a purge does not join a fetch that began before it', async (t) => {
  const edge = await edgeWith();
  t.after(() => edge.stop());
  let release: () => void = () => {};
  let answers = 0;
  routes.set('/joining', (_req, res) => {
    answers++;
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=300', 'content-length': '10' });
    // The first answer (the old content) is held half-way until the test has purged.
    if (answers > 1) return void res.end('NEW0123456');
    res.write('OLD01');
    release = () => res.end('23456');
  });
  const before = get(`${edge.url}/joining`, { host: 'j.test' });
  await waitFor(() => edge.edge.runtime.cache.flights.get('http://j.test/joining')?.received === 5, 'the first half to reach the edge');
  await edge.edge.purge({ kind: 'url', value: 'j.test/joining' });
  const after = await get(`${edge.url}/joining`, { host: 'j.test' });
  assert.equal(after.text, 'NEW0123456', 'a request after the purge gets what the origin says now');
  assert.doesNotMatch(cs(after), /collapsed/);
  release();
  assert.equal((await before).text, 'OLD0123456', 'the client that asked before the purge gets its answer');
  assert.equal(origin.count('/joining'), 2);
});

test('a soft purge holds against a revalidation already under way: its 304 does not make the object fresh', async (t) => {
  const clock = manualClock(t);
  const edge = await edgeWith();
  t.after(() => edge.stop());
  let release: () => void = () => {};
  let holdNext = false;
  routes.set('/revalidating', (req, res) => {
    if (req.headers['if-none-match'] === '"r1"') {
      const answer = () => res.writeHead(304, { etag: '"r1"', 'cache-control': 'max-age=300' }).end();
      if (!holdNext) return answer();
      holdNext = false;
      release = answer;
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', etag: '"r1"', 'cache-control': 'max-age=1', 'content-length': '5' }).end('hello');
  });
  await get(`${edge.url}/revalidating`, { host: 'rv.test' });
  clock.advance(1100);
  holdNext = true;
  const during = get(`${edge.url}/revalidating`, { host: 'rv.test' });
  await waitFor(() => origin.count('/revalidating') === 2, 'the revalidation to reach the origin');
  await edge.edge.purge({ kind: 'host', value: 'rv.test', soft: true });
  clock.advance(1); // what starts from now on begins after the purge
  release();
  assert.equal((await during).text, 'hello');
  const next = await get(`${edge.url}/revalidating`, { host: 'rv.test' });
  assert.match(cs(next), /fwd=stale/, 'still stale: the 304 was asked for before the purge');
  assert.equal(origin.count('/revalidating'), 3);
  assert.match(cs(await get(`${edge.url}/revalidating`, { host: 'rv.test' })), /^blotcdn; hit/, 'a revalidation after the purge freshens it');
});

test('purges reach the disk tier at once and survive a restart', async (t) => {
  const clock = manualClock(t);
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-purge-'));
  const config = {
    originGroups: { g: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
    cache: { disk: { dir }, memory: { maxObjectSize: 1024 } }, // the pages are bigger: disk only
  };
  let edge = await startEdge(config);
  t.after(() => edge.stop());
  await get(`${edge.url}/d1`, { host: 'disk.test' });
  await get(`${edge.url}/d2`, { host: 'disk.test' });
  await settled(edge); // each object is committed to disk just after its response ends
  assert.ok(hit(await get(`${edge.url}/d1`, { host: 'disk.test' })));
  assert.equal((await edge.edge.purge({ kind: 'host', value: 'disk.test' })).purged, 2);
  clock.advance(1); // the refetch begins after the purge (one that began before would not be stored)
  assert.match(cs(await get(`${edge.url}/d1`, { host: 'disk.test' })), /fwd=miss/, 'gone at once');
  await settled(edge); // the refetched d1 is on disk
  await edge.stop();
  edge = await startEdge(config);
  await edge.edge.ready();
  assert.ok(hit(await get(`${edge.url}/d1`, { host: 'disk.test' })), 'the refetched object is on disk');
  assert.match(cs(await get(`${edge.url}/d2`, { host: 'disk.test' })), /fwd=miss/, 'the purged one did not come back');
  await settled(edge); // d2's commit to disk finishes just after its response
  assert.equal((await edge.edge.purge({ kind: 'host', value: 'disk.test' })).purged, 2, 'the index was rebuilt from disk');
});
