// The one contract every purge bus carrier keeps (in-process, IPC, Redis). A carrier's test file
// calls purgeBusContract with a fixture that makes a fresh cluster per test and members in it; the
// same assertions then hold for each: delivery to everyone else, in order, never back to the
// sender; receipts that count who applied and report who did not in time; the member list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PurgeRequest } from '../cache/purge-target.js';
import type { ApplyPurge, PurgeBus, PurgeEvent } from './purge-bus.js';

export interface BusFixture {
  /** A new member of this fixture's cluster, not started, named `name` (two may share a name). */
  join(name: string): Promise<PurgeBus>;
  /** Closes what the fixture started (members are closed by the contract). */
  close(): Promise<void>;
}

interface Recorder {
  bus: PurgeBus;
  seen: PurgeEvent[];
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const purge = (value: string): PurgeRequest => ({ kind: 'host', value, soft: false });

export function purgeBusContract(carrier: string, fixture: () => Promise<BusFixture>): void {
  async function cluster(names: string[], t: { after(fn: () => Promise<void>): void }, apply?: (i: number) => ApplyPurge | undefined) {
    const f = await fixture();
    const members: Recorder[] = [];
    t.after(async () => {
      await Promise.all(members.map((m) => m.bus.close()));
      await f.close();
    });
    for (const [i, name] of names.entries()) {
      const bus = await f.join(name);
      const r: Recorder = { bus, seen: [] };
      const custom = apply?.(i);
      await bus.start(async (p, e) => {
        if (custom) await custom(p, e);
        r.seen.push(e);
      });
      members.push(r);
    }
    return members;
  }

  test(`${carrier} bus: a purge reaches every other member once, and never its sender`, async (t) => {
    const [a, b, c] = await cluster(['a', 'b', 'c'], t);
    const published = await a!.bus.publish(purge('one.test'));
    assert.equal(published.queued, false);
    await waitUntil(() => b!.seen.length === 1 && c!.seen.length === 1, 'b and c to apply the purge');
    for (const m of [b!, c!]) {
      assert.deepEqual(m.seen[0]!.purge, purge('one.test'));
      assert.equal(m.seen[0]!.from, a!.bus.id);
    }
    await b!.bus.publish(purge('two.test'));
    await waitUntil(() => a!.seen.length === 1 && c!.seen.length === 2, 'a and c to apply the second purge');
    assert.deepEqual(a!.seen.map((e) => e.purge.value), ['two.test'], 'the sender of one.test never got it back');
    assert.equal(b!.seen.length, 1);
  });

  test(`${carrier} bus: two processes with one node name are two members (they see each other's purges)`, async (t) => {
    const [a, b] = await cluster(['same-host', 'same-host'], t);
    assert.notEqual(a!.bus.id, b!.bus.id);
    await a!.bus.publish(purge('x.test'));
    await waitUntil(() => b!.seen.length === 1, 'the twin to apply it');
  });

  test(`${carrier} bus: purges arrive in the order they were published`, async (t) => {
    const [a, b] = await cluster(['a', 'b'], t);
    const values = Array.from({ length: 25 }, (_, i) => `h${i}.test`);
    for (const v of values) await a!.bus.publish(purge(v));
    await waitUntil(() => b!.seen.length === values.length, 'every purge');
    assert.deepEqual(b!.seen.map((e) => e.purge.value), values);
  });

  test(`${carrier} bus: a receipt counts every member that applied the purge`, async (t) => {
    const [a, b, c] = await cluster(['a', 'b', 'c'], t);
    const receipt = await (await a!.bus.publish(purge('r.test'))).receipt(10_000);
    assert.deepEqual({ acked: receipt.acked, nodes: receipt.nodes, missing: receipt.missing, queued: receipt.queued }, { acked: 3, nodes: 3, missing: [], queued: false });
    // An acknowledgement means applied: both had finished when the receipt was answered.
    assert.equal(b!.seen.length, 1);
    assert.equal(c!.seen.length, 1);
    assert.ok(receipt.ms >= 0);
  });

  test(`${carrier} bus: a member that does not apply in time is named missing at the deadline`, async (t) => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let failing = true;
    const members = await cluster(['a', 'b', 'slow', 'broken'], t, (i) =>
      i === 2 ? () => held : i === 3 ? async () => { if (failing) throw new Error('cannot apply'); } : undefined,
    );
    t.after(() => release());
    const [a, , slow, broken] = members;
    const receipt = await (await a!.bus.publish(purge('late.test'))).receipt(300);
    assert.equal(receipt.nodes, 4);
    assert.equal(receipt.acked, 2, 'a and b; the slow member had not finished, the broken one failed');
    assert.deepEqual(receipt.missing.sort(), [slow!.bus.id, broken!.bus.id].sort());
    release();
    failing = false;
    await waitUntil(() => slow!.seen.length === 1, 'the slow member to finish');
  });

  test(`${carrier} bus: the member list shows every started member, and a closed one leaves it`, async (t) => {
    const [a, b, c] = await cluster(['a', 'b', 'c'], t);
    const listed = await a!.bus.members();
    assert.deepEqual(listed.map((m) => m.id).sort(), [a!.bus.id, b!.bus.id, c!.bus.id].sort());
    assert.deepEqual(listed.filter((m) => m.self).map((m) => m.id), [a!.bus.id]);
    assert.deepEqual(listed.map((m) => m.name).sort(), ['a', 'b', 'c']);
    await c!.bus.close();
    assert.deepEqual((await a!.bus.members()).map((m) => m.id).sort(), [a!.bus.id, b!.bus.id].sort());
    const receipt = await (await a!.bus.publish(purge('after.test'))).receipt(10_000);
    assert.deepEqual([receipt.acked, receipt.nodes], [2, 2], 'a closed member is not waited for');
    assert.equal(c!.seen.length, 0, 'nor does it receive anything');
    assert.equal(a!.bus.status().up, true);
  });
}
