// Request coalescing without a latency tax: concurrent misses make one origin request and every
// waiter gets the body as it streams; an uncacheable answer is never shared and the key then skips
// the queue; an origin dying mid-body fails every waiter and leaves nothing cached; a client that
// leaves does not stop the object from being stored for the others. The origin answers in stages
// the test releases (helpers/gate.ts), so "before the origin finished" is an order of events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startOrigin } from './helpers/origin.js';
import { startEdge, simpleConfig, settled } from './helpers/edge.js';
import { request, get } from './helpers/client.js';
import { Gate } from './helpers/gate.js';
import { waitFor } from './helpers/wait.js';
import { request as httpRequest } from 'node:http';

const MiB = 1024 * 1024;
const body = Buffer.from(Array.from({ length: MiB }, (_, i) => (i * 31) & 0xff));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('200 concurrent misses: one origin request, and every client gets its first bytes while the origin is still sending', async (t) => {
  // A small object sent in two stages the test releases: the head and the first 8 KiB once all
  // 200 clients wait on the fetch, the rest only once every one of them has its first bytes. A cache
  // lock that waited for the whole object would give no client a byte before the rest was sent.
  // (How fast that happens is measured by `npm run bench`, beside nginx and Varnish.)
  const small = body.subarray(0, 64 * 1024);
  const head = new Gate();
  const rest = new Gate();
  const origin = await startOrigin((_req, res) => {
    void (async () => {
      await head.wait();
      res.writeHead(200, { 'content-length': small.length, 'cache-control': 'max-age=60', 'content-type': 'application/octet-stream' });
      res.write(small.subarray(0, 8 * 1024));
      await rest.wait();
      res.end(small.subarray(8 * 1024));
    })();
  });
  const edge = await startEdge(simpleConfig(origin.url));
  t.after(async () => {
    head.open();
    rest.open();
    await edge.stop();
    await origin.close();
  });

  let withFirstBytes = 0;
  const replies = Promise.all(
    Array.from({ length: 200 }, () => request(`${edge.url}/big`, { timeoutMs: 30_000, onData: (c, received) => received === c.length && withFirstBytes++ })),
  );
  await waitFor(() => edge.edge.runtime.cache.flights.get('http://127.0.0.1/big')?.joined === 199, 'all 200 requests to wait on one fetch', 30_000);
  head.open();
  await waitFor(() => withFirstBytes === 200, 'every client to get its first bytes', 30_000);
  assert.equal(rest.held, 1, 'the origin has not sent the rest of the object yet');
  rest.open();

  assert.equal(origin.count('/big'), 1, 'exactly one origin request');
  for (const r of await replies) {
    assert.equal(r.status, 200);
    assert.equal(sha(r.body), sha(small));
  }
  const collapsed = (await replies).filter((r) => /collapsed/.test(String(r.headers['cache-status']))).length;
  assert.equal(collapsed, 199, 'all but the leader joined its fetch');

  await settled(edge);
  const hit = await get(`${edge.url}/big`);
  assert.match(String(hit.headers['cache-status']), /hit/);
});

test('an uncacheable answer is not shared; the key is then remembered and requests stop queueing', async (t) => {
  let n = 0;
  const gate = new Gate();
  const origin = await startOrigin((_req, res) => {
    const id = ++n;
    gate.pass(() => {
      res.writeHead(200, { 'cache-control': 'private, max-age=60', 'content-type': 'text/plain' });
      res.end(`for request ${id}`);
    });
  });
  const edge = await startEdge(simpleConfig(origin.url));
  t.after(async () => {
    gate.open();
    await edge.stop();
    await origin.close();
  });

  // Twenty arrive while the first fetch is at the origin: nineteen wait on it, then find it private.
  const firstBatch = Promise.all(Array.from({ length: 20 }, () => get(`${edge.url}/account`)));
  await waitFor(() => edge.edge.runtime.cache.flights.get('http://127.0.0.1/account')?.joined === 19, 'nineteen requests to wait on the first fetch');
  gate.open();
  const first = await firstBatch;
  assert.equal(origin.count('/account'), 20, 'each waiter went to the origin itself');
  assert.equal(new Set(first.map((r) => r.text)).size, 20, 'nobody got another client’s private answer');
  for (const r of first) assert.doesNotMatch(String(r.headers['cache-status']), /stored|hit/);

  // Now the key is known to be uncacheable: ten at once all reach the origin while none has been
  // answered — none waits for a leader (hit-for-miss).
  gate.shut();
  const secondBatch = Promise.all(Array.from({ length: 10 }, () => get(`${edge.url}/account`)));
  await waitFor(() => gate.held === 10, 'all ten to be at the origin at once');
  assert.equal(edge.edge.runtime.cache.flights.size, 0, 'no fetch for others to join');
  gate.open();
  const second = await secondBatch;
  assert.equal(origin.count('/account'), 30);
  assert.equal(new Set(second.map((r) => r.text)).size, 10);
});

test('origin killed mid-body: every waiter sees a cut-off body, nothing is cached, the next request refetches', async (t) => {
  let die = true;
  let kill: () => void = () => {};
  const killed = new Promise<void>((resolve) => (kill = resolve));
  const origin = await startOrigin((_req, res) => {
    res.writeHead(200, { 'content-length': body.length, 'cache-control': 'max-age=60' });
    if (!die) return void res.end(body);
    res.write(body.subarray(0, 200 * 1024));
    void killed.then(() => res.socket?.destroy());
  });
  const edge = await startEdge(simpleConfig(origin.url));
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  const replies = Promise.all(Array.from({ length: 20 }, () => request(`${edge.url}/dies`)));
  // The origin dies once all twenty are reading from the one fetch.
  const flights = edge.edge.runtime.cache.flights;
  await waitFor(() => (flights.get(`http://127.0.0.1/dies`)?.joined ?? 0) === 19, 'all twenty to read from the one fetch');
  kill();
  for (const r of await replies) {
    assert.ok(r.body.length < body.length, 'no waiter got a whole body');
    assert.ok(r.error !== undefined, 'each waiter can tell the response was cut off');
  }
  assert.equal(origin.count('/dies'), 1);
  die = false;
  const next = await get(`${edge.url}/dies`);
  assert.match(String(next.headers['cache-status']), /fwd=miss/, 'the cut-off object was not stored');
  assert.equal(next.body.length, body.length);
  assert.equal(origin.count('/dies'), 2);
});

test('a client that leaves does not stop the fetch: the others finish and the object is stored', async (t) => {
  // The origin sends the head and the first 64 KiB, then the rest once the test lets it.
  const rest = new Gate();
  const origin = await startOrigin((_req, res) => {
    res.writeHead(200, { 'content-length': body.length, 'cache-control': 'max-age=60' });
    res.write(body.subarray(0, 64 * 1024));
    rest.pass(() => res.end(body.subarray(64 * 1024)));
  });
  const edge = await startEdge(simpleConfig(origin.url));
  t.after(async () => {
    rest.open();
    await edge.stop();
    await origin.close();
  });
  // The leader reads a little, then hangs up.
  const leaderGone = new Promise<void>((resolve) => {
    const req = httpRequest(`${edge.url}/leaving`, { agent: false }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => {});
    req.end();
  });
  const flight = () => edge.edge.runtime.cache.flights.get('http://127.0.0.1/leaving');
  await leaderGone;
  await waitFor(() => flight()?.unwanted === true, 'the edge to see the leader go (nobody waits on the fetch now)');
  // Others arrive after it left, and read the same fetch: it was not stopped.
  const others = Promise.all(Array.from({ length: 5 }, () => request(`${edge.url}/leaving`)));
  await waitFor(() => flight()?.joined === 5, 'five others to join the fetch');
  rest.open();
  for (const r of await others) assert.equal(sha(r.body), sha(body));
  await settled(edge);
  const after = await get(`${edge.url}/leaving`);
  assert.match(String(after.headers['cache-status']), /hit/);
  assert.equal(origin.count('/leaving'), 1);
});
