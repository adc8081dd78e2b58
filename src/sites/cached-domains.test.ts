// CachedDomainSource: answers kept for their TTLs, errors, bounds. Time is the edge's clock,
// moved by each test, so nothing here sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CachedDomainSource } from './cached-domains.js';
import type { DomainSource } from './domain-source.js';
import { manualClock } from '../../test/helpers/clock.js';

function fakeSource(answer: (host: string) => boolean | Error) {
  const calls: string[] = [];
  const source: DomainSource = {
    name: 'fake',
    lookup: async (host) => {
      calls.push(host);
      await new Promise((r) => setImmediate(r)); // answered later, so concurrent questions overlap
      const a = answer(host);
      if (a instanceof Error) throw a;
      return a;
    },
  };
  return { source, calls };
}

test('answers are reused for their TTL, positive and negative apart; concurrent questions share one', async (t) => {
  const clock = manualClock(t);
  const { source, calls } = fakeSource((h) => h.startsWith('yes'));
  const cached = new CachedDomainSource(source, { positiveTtlMs: 200, negativeTtlMs: 50 });
  const answers = await Promise.all([cached.lookup('yes.example'), cached.lookup('yes.example'), cached.lookup('no.example'), cached.lookup('no.example')]);
  assert.deepEqual(answers, [true, true, false, false]);
  assert.deepEqual(calls, ['yes.example', 'no.example']);
  clock.advance(49);
  await cached.lookup('no.example');
  assert.deepEqual(calls, ['yes.example', 'no.example'], 'the negative answer holds for its 50 ms');
  clock.advance(31);
  await cached.lookup('yes.example');
  await cached.lookup('no.example');
  assert.deepEqual(calls, ['yes.example', 'no.example', 'no.example'], 'the negative answer expired first');
});

test('errors: a recent yes stands, otherwise no — and the source is asked again soon', async (t) => {
  const clock = manualClock(t);
  let down = false;
  const { source, calls } = fakeSource((h) => (down ? new Error('ask endpoint down') : h === 'kept.example'));
  const errors: string[] = [];
  const cached = new CachedDomainSource(source, { positiveTtlMs: 20, errorTtlMs: 30, staleIfErrorMs: 10_000, onError: (_e, h) => errors.push(h) });
  assert.equal(await cached.lookup('kept.example'), true);
  down = true;
  clock.advance(30);
  assert.equal(await cached.lookup('kept.example'), true, 'stale yes through the outage');
  assert.equal(await cached.lookup('new.example'), false, 'unknown host: no');
  assert.deepEqual(errors, ['kept.example', 'new.example']);
  const before = calls.length;
  assert.equal(await cached.lookup('new.example'), false);
  assert.equal(calls.length, before, 'the error is remembered briefly');
  clock.advance(40);
  down = false;
  assert.equal(await cached.lookup('new.example'), false);
  assert.equal(calls.length, before + 1, '…then asked again');
  assert.equal(cached.stats().errors, 2);
});

test('the cache is bounded', async () => {
  const { source } = fakeSource(() => false);
  const cached = new CachedDomainSource(source, { maxEntries: 3 });
  for (let i = 0; i < 10; i++) await cached.lookup(`h${i}.example`);
  assert.equal(cached.stats().size, 3);
});

test('forget: the next question asks the source, and an answer already on its way is not kept', async () => {
  let listed = false;
  const releases: (() => void)[] = [];
  const calls: string[] = [];
  const source: DomainSource = {
    name: 'gated',
    lookup: async (host) => {
      calls.push(host);
      const answer = listed;
      await new Promise<void>((r) => releases.push(r));
      return answer;
    },
  };
  const cached = new CachedDomainSource(source, { negativeTtlMs: 60_000 });
  const early = cached.lookup('new.example'); // asked before the platform added the host
  listed = true;
  cached.forget('new.example'); // the platform's notification
  const late = cached.lookup('new.example');
  assert.equal(calls.length, 2, 'asked again, not joined to the question from before the change');
  releases[1]!(); // the fresh answer arrives first…
  assert.equal(await late, true);
  releases[0]!(); // …the stale one after it
  assert.equal(await early, false, 'its own caller gets what the source said then');
  assert.equal(cached.peek('new.example'), true, 'the fresh answer is the one kept');
});
