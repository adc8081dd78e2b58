// No response is reused without the reuse rules (RFC 9111 §4, §4.2.4, §4.4), on every tier: a request
// that arrives while the previous fetch of the same key is still being committed to the store joins
// that fetch only if the response may be reused for it. The store's commit is held open here (as
// the purge tests do) so the window that is milliseconds under real load is as wide as the test needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigInput } from '../src/config/schema.js';
import type { CacheMeta, ObjectWriter } from '../src/cache/store.js';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, type TestEdge } from './helpers/edge.js';
import { get, request } from './helpers/client.js';
import { waitFor } from './helpers/wait.js';

type Tier = 'memory' | 'disk' | 'tiered';

/**
 * Holds every commit open until `release()`: the tiers have the object (as memory over disk does
 * while the disk is still writing), the flight is complete and still registered, and the commit
 * has not returned.
 */
function holdCommits(edge: TestEdge): { release(): void; held(): number } {
  const store = edge.edge.store;
  const put = store.put.bind(store);
  let waiting: (() => void)[] = [];
  let count = 0;
  store.put = (meta: CacheMeta): ObjectWriter | undefined => {
    const w = put(meta);
    if (w === undefined) return undefined;
    return {
      get abandoned() {
        return w.abandoned;
      },
      readBack: w.readBack,
      write: (chunk) => w.write(chunk),
      abort: () => w.abort(),
      commit: async (stillWanted) => {
        count++;
        const ok = await w.commit(stillWanted);
        await new Promise<void>((resolve) => waiting.push(resolve));
        return ok;
      },
    };
  };
  return {
    release() {
      for (const r of waiting.splice(0)) r();
    },
    held: () => count,
  };
}

async function setUp(t: { after(fn: () => Promise<void>): void }, tier: Tier, honor = false): Promise<{ edge: TestEdge; origin: TestOrigin; hold: ReturnType<typeof holdCommits> }> {
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-reuse-'));
  let version = 0;
  const origin = await startOrigin((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method === 'PUT') {
        version++;
        res.writeHead(204);
        res.end();
        return;
      }
      const cc = req.url?.startsWith('/no-cache') ? 'no-cache' : req.url?.startsWith('/zero') ? 'max-age=0' : 'max-age=300';
      const text = `${req.url} v${version} #${origin.count(req.url ?? '')}`;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(text.length), 'cache-control': cc, etag: `"v${version}"` });
      res.end(text);
    });
  });
  const cache: ConfigInput['cache'] =
    tier === 'memory'
      ? {}
      : tier === 'tiered'
        ? { disk: { dir } }
        : // the memory tier takes nothing this size: objects live on disk only
          { memory: { maxSize: '64KiB', maxObjectSize: 8 }, disk: { dir } };
  const edge = await startEdge({
    cache,
    originGroups: { main: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'main', behaviors: honor ? [{ path: '*', clientCacheControl: 'honor' }] : [] }],
  });
  const hold = holdCommits(edge);
  t.after(async () => {
    hold.release();
    await edge.stop();
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { edge, origin, hold };
}

/** The first request's fetch is complete and being committed (held) when this resolves. */
async function fetchAndHold(edge: TestEdge, hold: ReturnType<typeof holdCommits>, path: string, headers: Record<string, string> = {}) {
  const before = hold.held();
  const first = await get(`${edge.url}${path}`, headers);
  assert.equal(first.status, 200);
  await waitFor(() => hold.held() === before + 1, 'the commit to be held');
  assert.equal(edge.edge.runtime.cache.flights.size, 1, 'the flight is still registered');
  return first;
}

for (const tier of ['memory', 'disk', 'tiered'] as const) {
  test(`${tier}: a no-cache or max-age=0 response being committed is not handed to the next request as a hit`, async (t) => {
    const { edge, origin, hold } = await setUp(t, tier);
    for (const path of ['/no-cache', '/zero']) {
      await fetchAndHold(edge, hold, path);
      const second = await get(`${edge.url}${path}`);
      assert.equal(second.status, 200);
      assert.doesNotMatch(String(second.headers['cache-status']), /hit/, `${path}: ${second.headers['cache-status']}`);
      assert.equal(origin.count(path), 2, `${path}: the second request went to the origin`);
      await waitFor(() => {
        hold.release(); // the second request's own commit may be held later
        return edge.edge.runtime.cache.flights.size === 0;
      }, 'the commits to finish');
    }
  });

  test(`${tier}: a fresh response being committed is shared; the client's own no-cache and min-fresh are honoured where the behavior says`, async (t) => {
    const { edge, origin, hold } = await setUp(t, tier, true);
    await fetchAndHold(edge, hold, '/fresh');
    const shared = await get(`${edge.url}/fresh`);
    assert.match(String(shared.headers['cache-status']), /^blotcdn; hit/);
    assert.equal(origin.count('/fresh'), 1);
    const noCache = await get(`${edge.url}/fresh`, { 'cache-control': 'no-cache' });
    assert.doesNotMatch(String(noCache.headers['cache-status']), /hit/);
    const minFresh = await get(`${edge.url}/fresh`, { 'cache-control': 'min-fresh=3600' });
    assert.doesNotMatch(String(minFresh.headers['cache-status']), /hit/);
    assert.equal(origin.count('/fresh'), 3);
    hold.release();
  });

  test(`${tier}: a GET right after a PUT to the same URL does not get the body from before the PUT`, async (t) => {
    const { edge, origin, hold } = await setUp(t, tier);
    const before = await fetchAndHold(edge, hold, '/doc');
    assert.match(before.text, / v0 /);
    const put = await request(`${edge.url}/doc`, { method: 'PUT', body: 'new' });
    assert.equal(put.status, 204);
    const after = await get(`${edge.url}/doc`);
    assert.match(after.text, / v1 /, `right after: got ${after.text} (${after.headers["cache-status"]})`);
    // The old fetch's commit, released after the PUT, must not bring the old body back either: asked
    // once every commit has returned and no fetch is left (not one turn of the event loop later).
    await waitFor(() => {
      hold.release(); // the GET after the PUT may have its own commit held later
      return edge.edge.runtime.cache.flights.size === 0;
    }, 'the commits to finish');
    const later = await get(`${edge.url}/doc`);
    assert.match(later.text, / v1 /, `got ${later.text}`);
    assert.ok(origin.count('/doc') >= 2);
  });
}
