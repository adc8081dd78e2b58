// The compact object index against a plain Map model: random adds, replacements and removals keep
// every lookup, LRU order, variant chain and purge selection right, through growth and table
// rebuilds; and the memory it reports per entry stays within the documented figure.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keyDigest } from './hash.js';
import { ObjectIndex } from './object-index.js';
import type { IndexedFields } from './index-record.js';

function fields(host: string, path: string, extra: Partial<IndexedFields> = {}): IndexedFields {
  return { primary: `https://${host}${path}`, host, path, tags: [], vary: [], ...extra };
}

function add(index: ObjectIndex, key: string, f: IndexedFields, size = 100): number {
  return index.apply(index.encode(keyDigest(key), f, size)!);
}

/** A seeded pseudo-random generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('ObjectIndex', () => {
  test('random adds, replacements and removals agree with a Map, through growth', () => {
    const index = new ObjectIndex(1_000_000, 16);
    const model = new Map<string, { host: string; size: number }>();
    const rnd = random(42);
    for (let i = 0; i < 30_000; i++) {
      const key = `k${Math.floor(rnd() * 8000)}`;
      if (rnd() < 0.3 && model.has(key)) {
        index.remove(index.find(keyDigest(key)));
        model.delete(key);
      } else {
        const host = `h${Math.floor(rnd() * 20)}.test`;
        const size = Math.floor(rnd() * 1000);
        add(index, key, fields(host, `/${key}`), size);
        model.set(key, { host, size });
      }
    }
    assert.equal(index.count, model.size);
    assert.equal(index.bytes, [...model.values()].reduce((n, v) => n + v.size, 0));
    for (let i = 0; i < 8000; i++) assert.equal(index.find(keyDigest(`k${i}`)) >= 0, model.has(`k${i}`), `k${i}`);
    for (let h = 0; h < 20; h++) {
      const host = `h${h}.test`;
      const expected = [...model].filter(([, v]) => v.host === host).length;
      assert.equal(index.select({ kind: 'host', host, skipImmutable: false }).length, expected, host);
    }
    // LRU order: walking from the oldest visits every entry once.
    let n = 0;
    for (let s = index.head; s >= 0; s = index.next[s]!) n++;
    assert.equal(n, model.size);
  });

  test('least recently used first; touching moves an entry to the end', () => {
    const index = new ObjectIndex(100);
    const a = add(index, 'a', fields('x.test', '/a'));
    const b = add(index, 'b', fields('x.test', '/b'));
    add(index, 'c', fields('x.test', '/c'));
    assert.equal(index.head, a);
    index.touch(a);
    assert.equal(index.head, b);
    assert.equal(index.tail, a);
  });

  test('variants of a URL: the newest identity object names the Vary list; copies do not count', () => {
    const index = new ObjectIndex(100);
    const primary = 'https://v.test/page';
    assert.equal(index.varyOf(primary), undefined);
    add(index, primary, fields('v.test', '/page'));
    assert.deepEqual(index.varyOf(primary), []);
    add(index, `${primary}\naccept-language:en`, fields('v.test', '/page', { vary: ['accept-language'] }));
    add(index, `${primary}\naccept-language:fr`, fields('v.test', '/page', { vary: ['accept-language'] }));
    add(index, `${primary}\naccept-language:fr\u0000br`, fields('v.test', '/page', { vary: ['accept-language'], encoding: 'br' }));
    assert.deepEqual(index.varyOf(primary), ['accept-language']);
    assert.equal(index.variantCount(primary), 3);
    assert.equal(index.select({ kind: 'url', primaries: [primary] }).length, 4, 'every variant and copy');
    // The URL stops varying: storing its plain object again makes it the current one.
    add(index, primary, fields('v.test', '/page'));
    assert.deepEqual(index.varyOf(primary), []);
    index.remove(index.find(keyDigest(primary)));
    assert.deepEqual(index.varyOf(primary), ['accept-language']);
    assert.equal(index.select({ kind: 'url', primaries: [primary] }).length, 3);
  });

  test('tags (beyond the two kept inline too), prefixes and permanent URLs select what they name', () => {
    const index = new ObjectIndex(100);
    const s1 = add(index, '1', fields('t.test', '/blog/one', { tags: ['a', 'b', 'c', 'd'] }));
    const s2 = add(index, '2', fields('t.test', '/blog/two/x', { tags: ['d'] }));
    const s3 = add(index, '3', fields('t.test', '/about', { immutable: true, tags: ['d'] }));
    const s4 = add(index, '4', fields('u.test', '/blog/one', { tags: ['a'] }));
    const sel = (q: Parameters<ObjectIndex['select']>[0]) => index.select(q).sort();
    assert.deepEqual(sel({ kind: 'tag', tag: 'd', skipImmutable: true }), [s1, s2].sort());
    assert.deepEqual(sel({ kind: 'tag', tag: 'd', skipImmutable: false }), [s1, s2, s3].sort());
    assert.deepEqual(sel({ kind: 'tag', tag: 'a', skipImmutable: true }), [s1, s4].sort());
    assert.deepEqual(sel({ kind: 'host', host: 't.test', skipImmutable: true }), [s1, s2].sort());
    assert.deepEqual(sel({ kind: 'prefix', host: 't.test', path: '/blog/' }), [s1, s2].sort());
    assert.deepEqual(sel({ kind: 'prefix', host: 't.test', path: '/blog/two/' }), [s2]);
    // Not at a segment boundary: candidates by the whole segments it holds (checked by the caller).
    assert.deepEqual(sel({ kind: 'prefix', host: 't.test', path: '/blog/tw' }), [s1, s2].sort());
    assert.deepEqual(sel({ kind: 'prefix', host: 't.test', path: '/' }), [s1, s2, s3].sort());
  });

  test('clear empties it; the Vary table is bounded', () => {
    const index = new ObjectIndex(100);
    add(index, 'x', fields('c.test', '/x', { vary: ['a'] }));
    index.clear();
    assert.equal(index.count, 0);
    assert.equal(index.find(keyDigest('x')), -1);
    let refused = 0;
    for (let i = 0; i < 5000; i++) if (index.encode(keyDigest(`v${i}`), fields('c.test', '/v', { vary: [`x-${i}`] }), 1) === undefined) refused++;
    assert.ok(refused > 0 && refused < 5000, `refused ${refused}`);
  });

  test('memory per entry stays within the documented ~100 bytes at 200,000 entries', () => {
    const index = new ObjectIndex(200_000);
    for (let i = 0; i < 200_000; i++) add(index, `https://h${i % 500}.test/p/${i}?${'q'.repeat(i % 300)}`, fields(`h${i % 500}.test`, `/p/${i}`));
    const perEntry = index.memoryBytes() / index.count;
    assert.ok(perEntry <= 120, `bytes per entry ${perEntry.toFixed(1)}`);
    assert.equal(index.select({ kind: 'host', host: 'h7.test', skipImmutable: false }).length, 400);
  });
});
