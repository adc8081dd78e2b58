// Origin groups from the client's side: ordered failover on a refused connection, a timeout and a
// failover status; never after the first byte; the breaker skipping a failing primary and probing
// it back on the edge's clock; and the seed's CloudFront caveat (a bucket first in the group must
// not stop caching).
// A member that "does not answer" holds its answer until the test ends, so what the client got
// without waiting for it is shown by that member's request count, never by milliseconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, respond, closedPort } from './helpers/origin.js';
import { startEdge } from './helpers/edge.js';
import { get, request } from './helpers/client.js';
import { waitFor } from './helpers/wait.js';
import { manualClock } from './helpers/clock.js';

const cacheable = (name: string) => respond(`from ${name}`, { 'cache-control': 'max-age=60' });

test('a refused connection fails over to the next member, which is named in the response', async (t) => {
  const port = await closedPort();
  const app = await startOrigin(cacheable('app'));
  const edge = await startEdge({
    originGroups: { g: { members: [{ name: 'dead', url: `http://127.0.0.1:${port}` }, { name: 'app', url: app.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
  });
  t.after(async () => {
    await edge.stop();
    await app.close();
  });
  const res = await get(`${edge.url}/a`);
  assert.equal(res.status, 200);
  assert.equal(res.text, 'from app');
  assert.equal(res.headers['x-served-by-origin'], 'app');
  const hit = await get(`${edge.url}/a`);
  assert.match(String(hit.headers['cache-status']), /hit/);
  assert.equal(hit.headers['x-served-by-origin'], 'app');
});

test('a member that does not answer in time fails over', async (t) => {
  // Never answers (closed with the test): the client's answer cannot have waited for it.
  const slow = await startOrigin(() => {});
  const app = await startOrigin(cacheable('app'));
  const edge = await startEdge({
    originGroups: { g: { members: [{ name: 'slow', url: slow.url, headersTimeout: '200ms' }, { name: 'app', url: app.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
  });
  t.after(async () => {
    await edge.stop();
    await Promise.all([slow.close(), app.close()]);
  });
  const res = await get(`${edge.url}/t`);
  assert.equal(res.text, 'from app');
  assert.equal(res.headers['x-served-by-origin'], 'app');
  assert.equal(slow.count('/t'), 1, 'the slow member was asked first and gave up on after its headersTimeout');
});

test('a 503 fails over by default; a 404 only when listed; the last member answers as is', async (t) => {
  const down = await startOrigin(respond('maintenance', {}, 503));
  const missing = await startOrigin(respond('not here', {}, 404));
  const app = await startOrigin(cacheable('app'));
  const edge = await startEdge({
    originGroups: {
      a: { members: [{ name: 'down', url: down.url }, { name: 'app', url: app.url }] },
      b: { members: [{ name: 'missing', url: missing.url }, { name: 'app', url: app.url }] },
      c: { members: [{ name: 'missing', url: missing.url }, { name: 'app', url: app.url }], failoverOn: [404, 500, 502, 503, 504] },
      d: { members: [{ name: 'app', url: app.url }, { name: 'down', url: down.url }] },
    },
    sites: [
      { hosts: ['a.test'], originGroup: 'a' },
      { hosts: ['b.test'], originGroup: 'b' },
      { hosts: ['c.test'], originGroup: 'c' },
      { hosts: ['d.test'], originGroup: 'd' },
    ],
  });
  t.after(async () => {
    await edge.stop();
    await Promise.all([down.close(), missing.close(), app.close()]);
  });
  assert.equal((await get(`${edge.url}/x`, { host: 'a.test' })).text, 'from app');
  const b = await get(`${edge.url}/x`, { host: 'b.test' });
  assert.equal(b.status, 404);
  assert.equal(b.headers['x-served-by-origin'], 'missing');
  assert.equal((await get(`${edge.url}/x`, { host: 'c.test' })).text, 'from app');

  const onlyDown = await startEdge({
    originGroups: { g: { members: [{ name: 'down', url: down.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
  });
  t.after(() => onlyDown.stop());
  const last = await get(`${onlyDown.url}/x`);
  assert.equal(last.status, 503, "the last member's answer is passed on");
  assert.equal(last.text, 'maintenance');
});

test('the seed caveat: a bucket first in the group (403 for a missing key) does not stop caching', async (t) => {
  const bucket = await startOrigin(respond('<Error><Code>AccessDenied</Code></Error>', { 'content-type': 'application/xml' }, 403));
  const app = await startOrigin(respond('thumbnail bytes', { 'cache-control': 'public, max-age=31536000, immutable', 'content-type': 'image/png' }));
  const edge = await startEdge({
    originGroups: { cdn: { members: [{ name: 's3', url: bucket.url }, { name: 'blot', url: app.url }], failoverOn: [403, 404, 500, 502, 503, 504] } },
    sites: [{ hosts: ['cdn.blot.im'], originGroup: 'cdn' }],
  });
  t.after(async () => {
    await edge.stop();
    await Promise.all([bucket.close(), app.close()]);
  });
  const path = '/blog_0123456789abcdef0123456789abcdef/_thumbnails/a.png';
  const first = await get(`${edge.url}${path}`, { host: 'cdn.blot.im' });
  assert.equal(first.status, 200);
  assert.equal(first.headers['x-served-by-origin'], 'blot');
  assert.equal(first.headers['cache-status'], 'blotcdn; fwd=miss; stored');
  const second = await get(`${edge.url}${path}`, { host: 'cdn.blot.im' });
  assert.match(String(second.headers['cache-status']), /^blotcdn; hit/);
  assert.equal(second.text, 'thumbnail bytes');
  assert.equal(bucket.count(path), 1);
  assert.equal(app.count(path), 1);
});

test('no failover after the first byte: the client sees a cut-off body and nothing is cached', async (t) => {
  let mode: 'cut' | 'whole' = 'cut';
  let cut: () => void = () => {};
  const flaky = await startOrigin((_req, res) => {
    if (mode === 'whole') return cacheable('flaky')(_req, res);
    res.writeHead(200, { 'content-length': '1000', 'cache-control': 'max-age=60' });
    res.write('x'.repeat(300));
    // The origin dies once its first bytes reached the client.
    cut = () => res.socket?.destroy();
  });
  const backup = await startOrigin(cacheable('backup'));
  const edge = await startEdge({
    originGroups: { g: { members: [{ name: 'flaky', url: flaky.url }, { name: 'backup', url: backup.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
  });
  t.after(async () => {
    await edge.stop();
    await Promise.all([flaky.close(), backup.close()]);
  });
  const partial = await request(`${edge.url}/big`, { onData: (_c, received) => received > 0 && cut() });
  assert.equal(partial.status, 200);
  assert.ok(partial.error !== undefined || partial.body.length < 1000, 'the client can tell the body is incomplete');
  assert.ok(partial.body.length < 1000);
  assert.equal(backup.count('/big'), 0, 'no failover once bytes went to the client');
  mode = 'whole';
  const next = await get(`${edge.url}/big`);
  assert.equal(next.text, 'from flaky');
  assert.match(String(next.headers['cache-status']), /fwd=miss/, 'the cut-off body was not cached');
  assert.equal(flaky.count('/big'), 2);
});

test('the breaker skips a failing primary after a few failures, then probes it back', async (t) => {
  // The primary is down for maintenance: it answers 503 at once, which this group counts as a
  // failure (tripOn). Failing fast rather than by a timeout keeps its answers, once it is back,
  // free of any race with a deadline (timeouts are covered above); the probe's cooldown runs on the
  // edge's clock, which this test moves.
  const clock = manualClock(t);
  let healthy = false;
  const primary = await startOrigin((req, res) => {
    if (healthy) return respond('from primary', { 'cache-control': 'no-store' })(req, res);
    respond('down for maintenance', {}, 503)(req, res);
  });
  const backup = await startOrigin(respond('from backup', { 'cache-control': 'no-store' }));
  const edge = await startEdge({
    originGroups: {
      g: {
        members: [{ name: 'primary', url: primary.url }, { name: 'backup', url: backup.url }],
        breaker: { failures: 2, cooldown: '1s', probePath: '/health', tripOn: [503] },
      },
    },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
  });
  t.after(async () => {
    await edge.stop();
    await Promise.all([primary.close(), backup.close()]);
  });
  const toPrimary = () => primary.requests.filter((r) => r.url.startsWith('/r')).length;
  for (let i = 0; i < 6; i++) {
    const res = await get(`${edge.url}/r${i}`);
    assert.equal(res.text, 'from backup');
    assert.equal(toPrimary(), Math.min(i + 1, 2), `request ${i}: only the first two requests reached the primary; later ones skip it`);
  }
  const group = edge.edge.origins.get('g')!;
  assert.equal(group.status()[0]!.state, 'open');

  // A probe is due once its cooldown has passed on the edge's clock, and not a millisecond before.
  const probes = () => edge.edge.tasks.stats().find((c) => c.name === 'origin-probe')!;
  const probeDueAfter = (cooldownMs: number, which: string) => {
    clock.advance(cooldownMs - 1);
    edge.edge.tasks.runDue();
    assert.equal(probes().scheduled, 1, `no ${which} probe before its cooldown`);
    clock.advance(1);
    edge.edge.tasks.runDue();
    assert.equal(probes().scheduled, 0, `the ${which} probe started`);
  };
  probeDueAfter(1000, 'first');
  await waitFor(() => probes().done === 1 && probes().scheduled === 1, 'the first probe to be answered and the next one scheduled');
  assert.equal(primary.count('/health'), 1);
  assert.equal(group.status()[0]!.state, 'open', 'a probe answered 503 keeps the primary out');

  // A failed probe doubles the cooldown.
  healthy = true;
  probeDueAfter(2000, 'second');
  await waitFor(() => group.status()[0]!.state === 'closed', 'the second probe to find the primary back');
  assert.equal(primary.count('/health'), 2);
  assert.equal((await get(`${edge.url}/after`)).text, 'from primary');
});

test('when every member is known to be down the group answers 503 at once with Retry-After', async (t) => {
  const port = await closedPort();
  const edge = await startEdge({
    originGroups: { g: { members: [{ name: 'gone', url: `http://127.0.0.1:${port}` }], breaker: { failures: 1, cooldown: '30s' } } },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
  });
  t.after(() => edge.stop());
  const first = await get(`${edge.url}/`);
  assert.equal(first.status, 502);
  assert.match(first.text, /origin_connect/);
  const second = await get(`${edge.url}/`);
  assert.equal(second.status, 503);
  assert.match(second.text, /origin_unavailable/);
  assert.ok(Number(second.headers['retry-after']) > 0);
});
