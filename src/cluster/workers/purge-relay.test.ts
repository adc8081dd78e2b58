// The relay's bookkeeping: purges reach every worker up and are answered with the sum once all have
// applied them (and the publisher reported the other nodes' receipts); a worker down is sent what it
// missed when it says hello, and nothing it applied; a purge no worker could publish goes out with
// the first that starts; invalidations reach the siblings only; past the bound, a worker down that
// missed dropped purges must start empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PurgeRecord } from '../../cache/purger.js';
import type { ToWorker } from './messages.js';
import { PurgeRelay, type MachinePurge } from './purge-relay.js';
import { RestartBackoff } from './restart-backoff.js';
import { mergeSeries } from './machine-stats.js';

const record = (purged: number): PurgeRecord => ({ kind: 'url', value: 'u', soft: false, at: 1, purged, ms: 0 });

function worker(relay: PurgeRelay, n: number) {
  const inbox: ToWorker[] = [];
  relay.hello(n, (m) => inbox.push(m));
  return inbox;
}

test('a purge is answered once every worker up has applied it, with their sum', async () => {
  const relay = new PurgeRelay({ timeoutMs: 10_000, onTimeout: () => assert.fail('no timeout expected') });
  relay.add(1);
  relay.add(2);
  const a = worker(relay, 1);
  const b = worker(relay, 2);
  let answered: MachinePurge | undefined;
  const done = relay.purge({ kind: 'url', value: 'u' }).then((r) => (answered = r));
  const sent = (inbox: ToWorker[]) => inbox.filter((m) => m.t === 'purge') as Extract<ToWorker, { t: 'purge' }>[];
  assert.equal(sent(a).length, 1);
  assert.equal(sent(b).length, 1);
  assert.equal([sent(a)[0]!.remote, sent(b)[0]!.remote].filter(Boolean).length, 1, 'published to the other nodes by one worker');
  const publisher = sent(a)[0]!.remote ? 1 : 2;
  relay.applied(1, 1, record(2));
  await new Promise((r) => setImmediate(r));
  assert.equal(answered, undefined, 'not before the second worker');
  relay.applied(2, 1, record(3));
  await new Promise((r) => setImmediate(r));
  assert.equal(answered, undefined, 'not before the publisher reported the other nodes’ receipts');
  const receipt = { acked: 4, nodes: 4, ms: 3, queued: false, missing: [] };
  relay.sent(publisher, 1, { queued: false, receipt });
  await done;
  assert.equal(answered!.purged, 5);
  assert.deepEqual(answered!.workers, { acked: 2, nodes: 2, missing: [] });
  assert.deepEqual(answered!.sent, { queued: false, receipt });
  assert.equal(relay.kept, 0, 'applied everywhere: nothing kept');
});

test('the publisher is asked to wait for receipts when the caller waits; a worker that does not answer in time is missing', async () => {
  let timedOut: number[] = [];
  const relay = new PurgeRelay({ timeoutMs: 50, onTimeout: (_seq, workers) => (timedOut = workers) });
  relay.add(1);
  relay.add(2);
  const a = worker(relay, 1);
  worker(relay, 2);
  const done = relay.purge({ kind: 'tag', value: 't' }, undefined, { waitMs: 1234 });
  assert.deepEqual(a.at(-1), { t: 'purge', seq: 1, request: { kind: 'tag', value: 't' }, remote: true, own: false, wait: 1234 });
  relay.applied(1, 1, record(1));
  relay.sent(1, 1, undefined);
  const keepAlive = setInterval(() => undefined, 1000); // the relay's timer does not hold the process
  const answer = await done;
  clearInterval(keepAlive);
  assert.deepEqual(timedOut, [2]);
  assert.deepEqual(answer.workers, { acked: 1, nodes: 2, missing: [2] });
});

test('a worker down gets what it missed when it starts again, and a worker that made a purge only acknowledges it', async () => {
  const relay = new PurgeRelay({ timeoutMs: 10_000, onTimeout: () => undefined });
  relay.add(1);
  relay.add(2);
  worker(relay, 1);
  const first = worker(relay, 2);
  relay.down(2);
  const p = relay.purge({ kind: 'host', value: 'a.test' });
  relay.applied(1, 1, record(1));
  relay.sent(1, 1, undefined);
  assert.equal((await p).purged, 1, 'answered by the worker up');
  const own = relay.purge({ kind: 'url', value: 'x' }, 1);
  assert.equal((await own).purged, 0, 'the maker applied it already; nobody else was up');
  assert.equal(first.filter((m) => m.t === 'purge').length, 0, 'nothing sent while down');
  const again = worker(relay, 2);
  assert.deepEqual(again[0], { t: 'replay', purges: [{ seq: 1, request: { kind: 'host', value: 'a.test' } }, { seq: 2, request: { kind: 'url', value: 'x' } }] });
  relay.applied(2, 2, undefined);
  relay.applied(1, 2, undefined);
  assert.equal(relay.kept, 0);
});

test('a purge made while no worker is up goes to the other nodes with the first worker that starts; a publisher that exits hands it on', async () => {
  const relay = new PurgeRelay({ timeoutMs: 10_000, onTimeout: () => undefined });
  relay.add(1);
  relay.add(2);
  const answer = await relay.purge({ kind: 'url', value: 'u' });
  assert.deepEqual(answer.workers, { acked: 0, nodes: 0, missing: [] }, 'nobody was up to apply it');
  const first = worker(relay, 1);
  assert.deepEqual(first[0], { t: 'replay', purges: [{ seq: 1, request: { kind: 'url', value: 'u' }, remote: true }] });
  relay.down(1);
  const second = worker(relay, 2);
  assert.deepEqual(second[0], { t: 'replay', purges: [{ seq: 1, request: { kind: 'url', value: 'u' }, remote: true }] }, 'w1 exited before it applied and sent it');
  relay.applied(2, 1, undefined);
  const again = worker(relay, 1);
  assert.deepEqual(again[0], { t: 'replay', purges: [{ seq: 1, request: { kind: 'url', value: 'u' } }] }, 'sent out once: w1 only applies it');
});

test('an invalidation made in one worker reaches its siblings only: never the other nodes, never the purge log', async () => {
  const relay = new PurgeRelay({ timeoutMs: 10_000, onTimeout: () => undefined });
  relay.add(1);
  relay.add(2);
  const a = worker(relay, 1);
  const b = worker(relay, 2);
  const done = relay.purge({ kind: 'url', value: 'https://x.test/p' }, 1, { invalidate: true });
  assert.deepEqual(b.at(-1), { t: 'purge', seq: 1, request: { kind: 'url', value: 'https://x.test/p' }, invalidate: true, remote: false, own: false });
  assert.deepEqual(a.at(-1), { t: 'purge', seq: 1, request: { kind: 'url', value: 'https://x.test/p' }, invalidate: true, remote: false, own: true });
  relay.applied(2, 1, undefined);
  assert.deepEqual((await done).workers, { acked: 2, nodes: 2, missing: [] });
  assert.equal(relay.records.length, 0);
});

test('past its bound the log drops the oldest, and a worker down that needed them must start empty', () => {
  const relay = new PurgeRelay({ maxLog: 2, timeoutMs: 10_000, onTimeout: () => undefined });
  relay.add(1);
  relay.add(2);
  worker(relay, 1);
  for (let i = 0; i < 3; i++) void relay.purge({ kind: 'url', value: `u${i}` });
  assert.equal(relay.takeReset(2), true, 'w2 (never up) missed a dropped purge');
  assert.equal(relay.takeReset(2), false, 'said once');
  assert.equal(relay.takeReset(1), false, 'w1 is up: it was sent them all');
});

test('restart delays double while a worker keeps dying soon after starting, and reset once it stayed up', () => {
  const b = new RestartBackoff(100, 1000, 30_000);
  assert.deepEqual([b.next(10), b.next(10), b.next(10), b.next(10), b.next(10)], [100, 200, 400, 800, 1000]);
  assert.equal(b.next(60_000), 100);
});

test('hour series of workers started apart add up from the newest sample', () => {
  const s = (t: number, requests: number) => ({ t, requests, hits: 0, bytesServed: 0, bytesFromOrigin: 0 });
  const merged = mergeSeries([[s(10, 1), s(20, 2), s(30, 3)], [s(25, 5), s(31, 7)]]);
  assert.deepEqual(merged.map((x) => [x.t, x.requests]), [[10, 1], [20, 7], [30, 10]]);
});
