// The flight's memory bound: with a spill source, bytes already written leave memory and readers
// (late joiners included) read them back; without one, only what every reader has passed leaves,
// and the fetch is held back to the slowest reader.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Flight, type FlightHead } from './flight.js';

const head: FlightHead = { key: 'k', vary: [], status: 200, headers: [] };

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

function body(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => i % 256));
}

describe('Flight window with a spill source', () => {
  test('written bytes leave memory and are read back for a late joiner', async () => {
    const all = body(10_000);
    const spilled: [number, number][] = [];
    const f = new Flight('k');
    f.retainLimit = 2_000;
    f.start(head, async function* (start, end) {
      spilled.push([start, end]);
      yield all.subarray(start, end + 1);
    });
    for (let i = 0; i < 10; i++) {
      f.push(all.subarray(i * 1000, (i + 1) * 1000));
      f.markDurable((i + 1) * 1000);
    }
    f.end();
    assert.ok(f.windowStart >= 8_000, `window starts at ${f.windowStart}`);
    assert.equal(f.joinable, true);
    const got = await collect(f.read());
    assert.ok(got.equals(all));
    assert.deepEqual(spilled, [[0, f.windowStart - 1]]);
    assert.ok((await collect(f.read(500, 1499))).equals(all.subarray(500, 1500)), 'a range from the spilled part');
  });

  test('nothing unwritten leaves memory, whatever the limit', () => {
    const f = new Flight('k');
    f.retainLimit = 100;
    f.start(head, async function* () {});
    f.push(body(1000));
    f.push(body(1000));
    assert.equal(f.windowStart, 0, 'not durable yet');
    f.markDurable(1000);
    assert.equal(f.windowStart, 1000);
  });
});

describe('Flight window when the store gives up', () => {
  // A full disk: the file stops growing part-way. Bytes written before stay readable through the
  // spill source (a reader far behind once lost them: "bytes no longer held and no spill source").
  test('a reader far behind still reads what was written; the rest stays in memory until readers pass it', async () => {
    const all = body(10_000);
    const f = new Flight('k');
    f.retainLimit = 2_000;
    f.start(head, async function* (start, end) {
      assert.ok(end < 4_000, `read back ${start}-${end}, past what was written`);
      yield all.subarray(start, end + 1);
    });
    const behind = f.read()[Symbol.asyncIterator]();
    const next = behind.next();
    f.push(all.subarray(0, 1000));
    f.markDurable(1000);
    const first = await next; // the reader took the first 1000 bytes, then fell behind
    for (let i = 1; i < 4; i++) {
      f.push(all.subarray(i * 1000, (i + 1) * 1000));
      f.markDurable((i + 1) * 1000);
    }
    f.storeGaveUp();
    assert.ok(f.readersCaughtUp(1000), 'the fetch is held back to the reader from now on');
    for (let i = 4; i < 10; i++) f.push(all.subarray(i * 1000, (i + 1) * 1000));
    assert.ok(f.windowStart <= 4_000, `nothing unwritten was dropped (window ${f.windowStart})`);
    assert.equal(f.joinable, true);
    let idle = false;
    f.whenDone(() => (idle = true));
    f.end();
    assert.equal(idle, false, 'a reader is still reading');
    const rest: Buffer[] = [first.value];
    for (let r = await behind.next(); !r.done; r = await behind.next()) rest.push(r.value);
    assert.ok(Buffer.concat(rest).equals(all), 'every byte, in order');
    assert.equal(idle, true, 'told once the last reader is done');
  });
});

describe('Flight window without a spill source', () => {
  test('chunks every reader has passed are dropped; new readers can no longer join', async () => {
    const f = new Flight('k');
    f.retainLimit = 1_500;
    f.start(head);
    const reader = f.read()[Symbol.asyncIterator]();
    for (let i = 0; i < 4; i++) {
      f.push(body(1000));
      const next = await reader.next();
      assert.equal(next.value.length, 1000);
    }
    f.push(body(1000));
    assert.ok(f.windowStart > 0, `window ${f.windowStart}`);
    assert.equal(f.joinable, false);
    f.end();
    assert.equal((await reader.next()).value.length, 1000);
    assert.equal((await reader.next()).done, true);
  });

  test('readersCaughtUp holds the fetch back until the slowest reader catches up', async () => {
    const f = new Flight('k');
    f.start(head);
    const slow = f.read()[Symbol.asyncIterator]();
    f.push(body(1000));
    await slow.next(); // the reader is registered at offset 1000
    f.push(body(4000));
    const wait = f.readersCaughtUp(1000);
    assert.ok(wait, 'the reader is 4000 bytes behind');
    let released = false;
    void wait.then(() => (released = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(released, false);
    await slow.next();
    await new Promise((r) => setImmediate(r));
    assert.equal(released, true);
    assert.equal(f.readersCaughtUp(1000), undefined);
    await slow.return(undefined);
    assert.equal(f.readers, 0);
  });

  test('with a spill source the fetch is never held back by readers', () => {
    const f = new Flight('k');
    f.start(head, async function* () {});
    void f.read()[Symbol.asyncIterator]().next();
    f.push(body(10_000));
    assert.equal(f.readersCaughtUp(10), undefined);
  });
});

describe('Flight window compaction', () => {
  // Thousands of small chunks make the window compact its arrays (splice) while readers are in the
  // middle of them; a reader must keep its place (it once read past the end and was cut off).
  test('readers in the middle of the chunks keep their place when the arrays are compacted', async () => {
    const chunk = 100;
    const count = 6_000;
    const all = Buffer.alloc(chunk * count);
    for (let i = 0; i < all.length; i++) all[i] = (i * 7 + (i >> 8)) & 0xff;
    const f = new Flight('k');
    f.retainLimit = 50 * chunk;
    f.start(head, async function* (start, end) {
      yield all.subarray(start, end + 1);
    });
    const fast = f.read()[Symbol.asyncIterator]();
    const slow = f.read()[Symbol.asyncIterator]();
    const got = { fast: [] as Buffer[], slow: [] as Buffer[] };
    const take = async (it: AsyncIterator<Buffer>, into: Buffer[]) => {
      const r = await it.next();
      if (!r.done) into.push(r.value);
      return !r.done;
    };
    for (let i = 0; i < count; i++) {
      f.push(all.subarray(i * chunk, (i + 1) * chunk));
      f.markDurable((i + 1) * chunk);
      // The fast reader keeps up; the slow one reads one chunk for every three pushed.
      await take(fast, got.fast);
      if (i % 3 === 0) await take(slow, got.slow);
    }
    f.end();
    while (await take(fast, got.fast));
    while (await take(slow, got.slow));
    assert.ok(Buffer.concat(got.fast).equals(all), 'the fast reader got every byte');
    assert.ok(Buffer.concat(got.slow).equals(all), 'the slow reader got every byte');
  });
});
