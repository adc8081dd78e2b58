// The Redis Stream carrier: the purge bus contract against a real redis-server, then what only a
// stream gives — catch-up from a remembered position, and a gap (trimmed entries, a Redis that lost
// its data) reported rather than papered over.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis, type TestRedis } from '../../test/helpers/redis.js';
import { purgeBusContract } from './bus-contract.js';
import { MemoryClusterState, type ClusterStateStore } from './cluster-state.js';
import { nodeIdentity } from './node-identity.js';
import { RedisPurgeBus, type RedisBusOptions } from './redis-bus.js';
import { ClusterKeys } from './redis-client.js';
import { TaskRunner } from '../tasks/task-runner.js';
import type { PurgeRequest } from '../cache/purge-target.js';

let redis: TestRedis;
const tasks = new TaskRunner();
before(async () => {
  redis = await startRedis();
});
after(async () => {
  tasks.stop();
  await redis.stop();
});

let cluster = 0;
function member(keys: ClusterKeys, name: string, extra: Partial<RedisBusOptions> = {}): RedisPurgeBus {
  return new RedisPurgeBus({ url: redis.url, identity: nodeIdentity(name), keys, scheduler: tasks, state: new MemoryClusterState(), hasHistory: () => false, onGap: () => {}, ...extra });
}

purgeBusContract('redis', async () => {
  const keys = new ClusterKeys(`contract${++cluster}`);
  return { join: async (name) => member(keys, name), close: async () => {} };
});

const purge = (value: string): PurgeRequest => ({ kind: 'host', value, soft: false });

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

test('a member that was stopped reads what it missed from its position before start() resolves', async () => {
  const keys = new ClusterKeys(`catchup${++cluster}`);
  const a = member(keys, 'a');
  await a.start(async () => {});
  const state = new MemoryClusterState();
  const seenB: string[] = [];
  let gaps = 0;
  // First start with history but no position: it cannot vouch for what it holds.
  const b = member(keys, 'b', { state, hasHistory: () => true, onGap: () => void gaps++ });
  await b.start(async (p) => void seenB.push(p.value));
  assert.equal(gaps, 1);
  await a.publish(purge('before.test'));
  await until(() => seenB.length === 1, 'b to apply the first purge');
  await b.close();
  for (const v of ['missed1.test', 'missed2.test']) await a.publish(purge(v));
  const restarted = member(keys, 'b', { state, hasHistory: () => true, onGap: () => void gaps++ });
  const seen: string[] = [];
  await restarted.start(async (p) => void seen.push(p.value));
  assert.deepEqual(seen, ['missed1.test', 'missed2.test'], 'applied before start() resolved, in order, and nothing twice');
  assert.equal(gaps, 1, 'no gap: everything missed was still in the stream');
  await Promise.all([a.close(), restarted.close()]);
});

test('a position trimmed away, or a Redis that lost the stream, is a gap', async () => {
  const keys = new ClusterKeys(`gap${++cluster}`);
  const a = member(keys, 'a', { maxLen: 10 });
  await a.start(async () => {});
  const state = new MemoryClusterState();
  const gaps: string[] = [];
  const opts = { state, hasHistory: () => true, onGap: (reason: string) => void gaps.push(reason) };
  const b = member(keys, 'b', opts);
  await b.start(async () => {});
  gaps.length = 0;
  await b.close();
  // XADD MAXLEN ~ trims whole radix-tree nodes (100 entries by default): write past a few of them.
  for (let i = 0; i < 400; i++) await a.publish(purge(`h${i}.test`));
  const seen: string[] = [];
  const again = member(keys, 'b', opts);
  await again.start(async (p) => void seen.push(p.value));
  assert.equal(gaps.length, 1);
  assert.match(gaps[0]!, /trimmed/);
  assert.deepEqual(seen, [], 'nothing replayed: everything before now is distrusted instead');
  await again.close();

  // The stream and its epoch are lost (a Redis restarted without persistence).
  const admin = new Redis(redis.url);
  await admin.del(keys.purges, `${keys.prefix}epoch`);
  await admin.quit();
  const third = member(keys, 'b', opts);
  await third.start(async () => {});
  assert.equal(gaps.length, 2);
  assert.match(gaps[1]!, /new epoch/);
  await Promise.all([a.close(), third.close()]);
});

test('a member with nothing cached and no position starts at the end, without a gap', async () => {
  const keys = new ClusterKeys(`fresh${++cluster}`);
  const a = member(keys, 'a');
  await a.start(async () => {});
  await a.publish(purge('old.test'));
  let gaps = 0;
  const seen: string[] = [];
  const b = member(keys, 'b', { onGap: () => void gaps++ });
  await b.start(async (p) => void seen.push(p.value));
  assert.equal(gaps, 0);
  assert.deepEqual(seen, []);
  await Promise.all([a.close(), b.close()]);
});

// Keep the state type used (the file store has its own test through the edge).
export type { ClusterStateStore };

test('a member whose position is the empty stream catches up on the first purges, without a gap', async () => {
  const keys = new ClusterKeys(`empty${++cluster}`);
  const state = new MemoryClusterState();
  let gaps = 0;
  const opts = { state, hasHistory: () => true, onGap: () => void gaps++ };
  const b = member(keys, 'b', opts);
  await b.start(async () => {});
  gaps = 0; // its first start had history and no position
  await b.close();
  const a = member(keys, 'a');
  await a.start(async () => {});
  await a.publish(purge('first.test'));
  await a.publish(purge('second.test'));
  const seen: string[] = [];
  const again = member(keys, 'b', opts);
  await again.start(async (p) => void seen.push(p.value));
  assert.equal(gaps, 0);
  assert.deepEqual(seen, ['first.test', 'second.test']);
  await Promise.all([a.close(), again.close()]);
});
