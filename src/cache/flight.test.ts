import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { Flight, type FlightHead } from './flight.js';

const head: FlightHead = { key: 'k', vary: [], status: 200, headers: ['content-type', 'text/plain'], length: 11 };

async function collect(gen: AsyncGenerator<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of gen) parts.push(chunk);
  return Buffer.concat(parts).toString();
}

/** A flight that has received "hello world" in three chunks. */
function filled(complete = true): Flight {
  const f = new Flight('k');
  f.start(head);
  f.push(Buffer.from('hello'));
  f.push(Buffer.from(' '));
  f.push(Buffer.from('world'));
  if (complete) f.end();
  return f;
}

/** Settles within a few event-loop turns, or reports that it is still pending. */
async function settledSoon<T>(p: Promise<T>): Promise<{ done: true; value: T } | { done: false }> {
  let result: { done: true; value: T } | { done: false } = { done: false };
  void p.then((value) => (result = { done: true, value }), () => (result = { done: true, value: undefined as T }));
  for (let i = 0; i < 5; i++) await tick();
  return result;
}

describe('Flight: state and head', () => {
  test('moves from pending to streaming to complete', () => {
    const f = new Flight('k');
    assert.equal(f.state, 'pending');
    assert.equal(f.head, undefined);
    f.start(head);
    assert.equal(f.state, 'streaming');
    assert.equal(f.head, head);
    f.push(Buffer.from('ab'));
    f.push(Buffer.alloc(0));
    assert.equal(f.received, 2);
    f.end();
    assert.equal(f.state, 'complete');
  });

  test('waitHead resolves at once when the head is known', async () => {
    const f = filled(false);
    assert.equal(await f.waitHead(), head);
  });

  test('waitHead resolves every waiter once the origin answers', async () => {
    const f = new Flight('k');
    const a = f.waitHead();
    const b = f.waitHead();
    assert.deepEqual(await settledSoon(a), { done: false });
    f.start(head);
    assert.equal(await a, head);
    assert.equal(await b, head);
  });

  test('waitHead rejects every waiter when the fetch fails before the head', async () => {
    const f = new Flight('k');
    const a = f.waitHead();
    const b = f.waitHead();
    const err = new Error('origin down');
    f.fail(err);
    await assert.rejects(a, (e) => e === err);
    await assert.rejects(b, (e) => e === err);
    assert.equal(f.state, 'failed');
    assert.equal(f.error, err);
  });

  test('waitHead after a failure without head rejects', async () => {
    const f = new Flight('k');
    const err = new Error('refused');
    f.fail(err);
    await assert.rejects(f.waitHead(), (e) => e === err);
  });

  test('waitHead after a failure mid-body still gives the head', async () => {
    const f = filled(false);
    f.fail(new Error('cut'));
    assert.equal(await f.waitHead(), head);
  });

  test('fail after end is ignored', async () => {
    const f = filled();
    f.fail(new Error('late'));
    assert.equal(f.state, 'complete');
    assert.equal(f.error, undefined);
    assert.equal(await collect(f.read()), 'hello world');
  });

  test('a second fail keeps the first error', () => {
    const f = new Flight('k');
    const first = new Error('first');
    f.fail(first);
    f.fail(new Error('second'));
    assert.equal(f.error, first);
  });
});

describe('Flight: reading a complete flight', () => {
  test('the whole body', async () => {
    assert.equal(await collect(filled().read()), 'hello world');
  });

  test('readers at different offsets', async () => {
    const f = filled();
    assert.equal(await collect(f.read(6)), 'world');
    assert.equal(await collect(f.read(5)), ' world');
    assert.equal(await collect(f.read(3)), 'lo world');
    assert.equal(await collect(f.read(10)), 'd');
  });

  test('inclusive ranges within and across chunks', async () => {
    const f = filled();
    assert.equal(await collect(f.read(0, 4)), 'hello');
    assert.equal(await collect(f.read(1, 3)), 'ell');
    assert.equal(await collect(f.read(2, 7)), 'llo wo');
    assert.equal(await collect(f.read(4, 4)), 'o');
    assert.equal(await collect(f.read(5, 5)), ' ');
    assert.equal(await collect(f.read(6, 10)), 'world');
  });

  test('an end beyond the body stops at the body', async () => {
    assert.equal(await collect(filled().read(6, 1000)), 'world');
  });

  test('a start at or beyond the end gives nothing', async () => {
    assert.equal(await collect(filled().read(11)), '');
    assert.equal(await collect(filled().read(50, 60)), '');
  });

  test('whole chunks are passed without copying', async () => {
    const f = new Flight('k');
    const a = Buffer.from('abc');
    f.push(a);
    f.end();
    const seen: Buffer[] = [];
    for await (const c of f.read()) seen.push(c);
    assert.equal(seen.length, 1);
    assert.equal(seen[0], a);
  });
});

describe('Flight: reading while the body streams', () => {
  test('a late joiner reads from byte 0', async () => {
    const f = new Flight('k');
    f.start(head);
    f.push(Buffer.from('hello'));
    f.push(Buffer.from(' '));
    const reader = collect(f.read());
    f.push(Buffer.from('world'));
    f.end();
    assert.equal(await reader, 'hello world');
  });

  test('a reader waits for data that arrives later', async () => {
    const f = new Flight('k');
    const it = f.read();
    const first = it.next();
    assert.deepEqual(await settledSoon(first), { done: false });
    f.start(head);
    assert.deepEqual(await settledSoon(first), { done: false });
    f.push(Buffer.from('abc'));
    const r = await first;
    assert.equal(r.done, false);
    assert.equal(r.value!.toString(), 'abc');
    const second = it.next();
    assert.deepEqual(await settledSoon(second), { done: false });
    f.end();
    assert.deepEqual(await second, { done: true, value: undefined });
  });

  test('a reader at an offset not yet received waits for it', async () => {
    const f = new Flight('k');
    f.push(Buffer.from('0123'));
    const reader = collect(f.read(6, 8));
    assert.deepEqual(await settledSoon(reader), { done: false });
    f.push(Buffer.from('45'));
    assert.deepEqual(await settledSoon(reader), { done: false });
    f.push(Buffer.from('6789'));
    assert.equal(await reader, '678');
  });

  test('a range reader finishes as soon as its last byte is in, before the flight ends', async () => {
    const f = filled(false);
    assert.equal(f.state, 'streaming');
    assert.deepEqual(await settledSoon(collect(f.read(0, 4))), { done: true, value: 'hello' });
  });

  test('many readers at their own pace all get every byte', async () => {
    const f = new Flight('k');
    const readers = [collect(f.read()), collect(f.read(3)), collect(f.read(0, 5)), collect(f.read(8, 9))];
    const text = 'abcdefghijklmnop';
    for (let i = 0; i < text.length; i += 3) {
      f.push(Buffer.from(text.slice(i, i + 3)));
      await tick();
    }
    f.end();
    assert.deepEqual(await Promise.all(readers), [text, text.slice(3), text.slice(0, 6), text.slice(8, 10)]);
  });
});

describe('Flight: failure mid-stream', () => {
  test('readers waiting for more bytes throw the fetch error', async () => {
    const f = new Flight('k');
    f.start(head);
    f.push(Buffer.from('abc'));
    const got: string[] = [];
    const reader = (async () => {
      for await (const c of f.read()) got.push(c.toString());
    })();
    const ranged = collect(f.read(1, 10));
    await tick();
    const err = new Error('origin reset');
    f.fail(err);
    await assert.rejects(reader, (e) => e === err);
    await assert.rejects(ranged, (e) => e === err);
    assert.deepEqual(got, ['abc']);
  });

  test('a reader that joins after the failure gets the bytes in, then the error', async () => {
    const f = filled(false);
    const err = new Error('cut');
    f.fail(err);
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const c of f.read()) got.push(c.toString());
      })(),
      (e) => e === err,
    );
    assert.equal(got.join(''), 'hello world');
  });

  test('a range already received does not throw', async () => {
    const f = filled(false);
    f.fail(new Error('cut'));
    assert.equal(await collect(f.read(0, 4)), 'hello');
    assert.equal(await collect(f.read(6, 10)), 'world');
  });

  test('a range that reaches past what was received throws', async () => {
    const f = filled(false);
    const err = new Error('cut');
    f.fail(err);
    await assert.rejects(collect(f.read(6, 11)), (e) => e === err);
  });

  test('a failure before any byte makes waiting readers throw', async () => {
    const f = new Flight('k');
    const reader = collect(f.read());
    await tick();
    const err = new Error('connect refused');
    f.fail(err);
    await assert.rejects(reader, (e) => e === err);
  });
});
