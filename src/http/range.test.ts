import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ifRangeAllows, parseRange, planMultipart, type ByteRange, type RangeResult } from './range.js';

const ranges = (r: RangeResult): ByteRange[] => {
  assert.equal(r.kind, 'ranges');
  return (r as { kind: 'ranges'; ranges: ByteRange[] }).ranges;
};

describe('parseRange', () => {
  test('no Range header: none', () => {
    assert.deepEqual(parseRange(undefined, 1000), { kind: 'none' });
  });

  test('a single range', () => {
    assert.deepEqual(ranges(parseRange('bytes=0-99', 1000)), [{ start: 0, end: 99 }]);
    assert.deepEqual(ranges(parseRange('bytes=500-500', 1000)), [{ start: 500, end: 500 }]);
    assert.deepEqual(ranges(parseRange('bytes=0-999', 1000)), [{ start: 0, end: 999 }]);
  });

  test('the unit is case-insensitive and whitespace is tolerated', () => {
    assert.deepEqual(ranges(parseRange('Bytes = 10-19', 1000)), [{ start: 10, end: 19 }]);
    assert.deepEqual(ranges(parseRange('BYTES=10-19 , 30-39', 1000)), [{ start: 10, end: 19 }, { start: 30, end: 39 }]);
  });

  test('a suffix range is the last N bytes', () => {
    assert.deepEqual(ranges(parseRange('bytes=-100', 1000)), [{ start: 900, end: 999 }]);
    assert.deepEqual(ranges(parseRange('bytes=-1', 1000)), [{ start: 999, end: 999 }]);
  });

  test('a suffix longer than the object is the whole object', () => {
    assert.deepEqual(ranges(parseRange('bytes=-5000', 1000)), [{ start: 0, end: 999 }]);
  });

  test('an open-ended range runs to the end', () => {
    assert.deepEqual(ranges(parseRange('bytes=900-', 1000)), [{ start: 900, end: 999 }]);
    assert.deepEqual(ranges(parseRange('bytes=0-', 1000)), [{ start: 0, end: 999 }]);
  });

  test('an end beyond the object is clamped to its last byte', () => {
    assert.deepEqual(ranges(parseRange('bytes=990-5000', 1000)), [{ start: 990, end: 999 }]);
    assert.deepEqual(ranges(parseRange('bytes=0-99999999999999999999', 1000)), [{ start: 0, end: 999 }]);
  });

  test('several disjoint ranges are kept in request order', () => {
    assert.deepEqual(ranges(parseRange('bytes=500-599,0-99', 1000)), [
      { start: 500, end: 599 },
      { start: 0, end: 99 },
    ]);
  });

  test('overlapping ranges are coalesced', () => {
    assert.deepEqual(ranges(parseRange('bytes=0-50,40-100', 1000)), [{ start: 0, end: 100 }]);
    assert.deepEqual(ranges(parseRange('bytes=40-100,0-50,200-300', 1000)), [
      { start: 0, end: 100 },
      { start: 200, end: 300 },
    ]);
    assert.deepEqual(ranges(parseRange('bytes=0-999,10-20,30-40', 1000)), [{ start: 0, end: 999 }]);
  });

  test('adjacent ranges are coalesced', () => {
    assert.deepEqual(ranges(parseRange('bytes=0-9,10-19', 1000)), [{ start: 0, end: 19 }]);
  });

  test('many copies of the same range collapse into one', () => {
    const header = 'bytes=' + Array.from({ length: 50 }, () => '0-').join(',');
    assert.deepEqual(ranges(parseRange(header, 1000)), [{ start: 0, end: 999 }]);
  });

  test('a satisfiable range among unsatisfiable ones is kept', () => {
    assert.deepEqual(ranges(parseRange('bytes=5000-6000,0-9', 1000)), [{ start: 0, end: 9 }]);
  });

  test('closed ranges that all start beyond the object are unsatisfiable (416)', () => {
    assert.deepEqual(parseRange('bytes=1000-2000', 1000), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=2000-3000,5000-6000', 1000), { kind: 'unsatisfiable' });
  });

  test(
    'open-ended ranges that start beyond the object are unsatisfiable, not malformed (RFC 9110 §14.1.1)',
    () => {
      assert.deepEqual(parseRange('bytes=1000-', 1000), { kind: 'unsatisfiable' });
      assert.deepEqual(parseRange('bytes=2000-3000,5000-', 1000), { kind: 'unsatisfiable' });
      // and a satisfiable range beside one is still served
      assert.deepEqual(parseRange('bytes=0-9,5000-', 1000), { kind: 'ranges', ranges: [{ start: 0, end: 9 }] });
    },
  );

  test('a zero-length suffix is unsatisfiable', () => {
    assert.deepEqual(parseRange('bytes=-0', 1000), { kind: 'unsatisfiable' });
  });

  test('malformed ranges are ignored (none)', () => {
    for (const h of [
      'bytes=abc',
      'bytes=-',
      'bytes=5-1',
      'bytes=1-2-3',
      'bytes=0x10-20',
      'bytes=1.5-2',
      'bytes=--5',
      'items=0-10',
      'bytes 0-10',
      '0-10',
      'bytes=',
      'bytes=,',
      'bytes=0-10,abc',
    ]) {
      assert.deepEqual(parseRange(h, 1000), { kind: 'none' }, h);
    }
  });

  test('an empty element beside valid ones is skipped', () => {
    assert.deepEqual(ranges(parseRange('bytes=,0-9,', 1000)), [{ start: 0, end: 9 }]);
  });

  test('too many ranges are ignored (none)', () => {
    const many = (n: number) => 'bytes=' + Array.from({ length: n }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',');
    assert.equal(parseRange(many(64), 10_000).kind, 'ranges');
    assert.equal(ranges(parseRange(many(64), 10_000)).length, 64);
    assert.deepEqual(parseRange(many(65), 10_000), { kind: 'none' });
  });

  test('an empty object: ranges are ignored rather than refused', () => {
    assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'none' });
    assert.deepEqual(parseRange('bytes=0-10', 0), { kind: 'none' });
  });

  test(
    'an empty object: a suffix range never yields a range ending before it starts',
    () => {
      assert.deepEqual(parseRange('bytes=-5', 0), { kind: 'none' });
    },
  );
});

describe('ifRangeAllows', () => {
  const lm = 'Mon, 15 Jan 2024 12:00:00 GMT';

  test('no If-Range: the Range applies', () => {
    assert.equal(ifRangeAllows({}, '"a"', lm), true);
  });

  test('a matching strong entity tag allows', () => {
    assert.equal(ifRangeAllows({ 'if-range': '"a"' }, '"a"', lm), true);
    assert.equal(ifRangeAllows({ 'if-range': '  "a" ' }, '"a"', undefined), true);
  });

  test('a different entity tag does not', () => {
    assert.equal(ifRangeAllows({ 'if-range': '"b"' }, '"a"', lm), false);
  });

  test('a weak entity tag never matches (strong comparison)', () => {
    assert.equal(ifRangeAllows({ 'if-range': 'W/"a"' }, '"a"', lm), false);
    assert.equal(ifRangeAllows({ 'if-range': 'W/"a"' }, 'W/"a"', lm), false);
    assert.equal(ifRangeAllows({ 'if-range': '"a"' }, 'W/"a"', lm), false);
  });

  test('an entity tag when the object has none does not match', () => {
    assert.equal(ifRangeAllows({ 'if-range': '"a"' }, undefined, lm), false);
  });

  test('a date equal to Last-Modified allows', () => {
    assert.equal(ifRangeAllows({ 'if-range': lm }, '"a"', lm), true);
    // same instant, other accepted HTTP-date format (RFC 850)
    assert.equal(ifRangeAllows({ 'if-range': 'Monday, 15-Jan-24 12:00:00 GMT' }, undefined, lm), true);
  });

  test('a different date does not', () => {
    assert.equal(ifRangeAllows({ 'if-range': 'Mon, 15 Jan 2024 12:00:01 GMT' }, '"a"', lm), false);
    assert.equal(ifRangeAllows({ 'if-range': 'Sun, 14 Jan 2024 12:00:00 GMT' }, '"a"', lm), false);
  });

  test('a date when the object has no Last-Modified does not match', () => {
    assert.equal(ifRangeAllows({ 'if-range': lm }, '"a"', undefined), false);
  });

  test('an unparsable If-Range does not match', () => {
    assert.equal(ifRangeAllows({ 'if-range': 'garbage' }, '"a"', 'garbage'), false);
  });

  test('the first value of a repeated field is used', () => {
    assert.equal(ifRangeAllows({ 'if-range': ['"a"', '"b"'] }, '"a"', lm), true);
    assert.equal(ifRangeAllows({ 'if-range': ['"b"', '"a"'] }, '"a"', lm), false);
  });
});

describe('planMultipart', () => {
  /** Builds the body the plan describes, from a real object. */
  function assemble(plan: ReturnType<typeof planMultipart>, rs: ByteRange[], data: Buffer): Buffer {
    const parts: Buffer[] = [];
    rs.forEach((r, i) => {
      parts.push(Buffer.from(plan.heads[i]!));
      parts.push(data.subarray(r.start, r.end + 1));
    });
    parts.push(Buffer.from(plan.tail));
    return Buffer.concat(parts);
  }

  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

  test('length equals the bytes of heads, bodies and tail', () => {
    const rs = [
      { start: 0, end: 99 },
      { start: 500, end: 999 },
      { start: 200, end: 200 },
    ];
    const plan = planMultipart(rs, data.length, 'text/plain; charset=utf-8');
    const body = assemble(plan, rs, data);
    assert.equal(plan.length, body.length);
    assert.equal(plan.heads.length, 3);
  });

  test('length is right without a content type and with non-ASCII in it', () => {
    const rs = [{ start: 1, end: 2 }, { start: 10, end: 19 }];
    for (const ct of [undefined, 'text/plain; name="é"']) {
      const plan = planMultipart(rs, data.length, ct);
      assert.equal(plan.length, assemble(plan, rs, data).length, String(ct));
    }
  });

  test('parts carry Content-Range and the content type, framed by the boundary', () => {
    const rs = [{ start: 0, end: 9 }, { start: 20, end: 29 }];
    const plan = planMultipart(rs, 1000, 'image/png');
    assert.match(plan.boundary, /^[0-9a-f]{24}$/);
    assert.equal(plan.heads[0], `--${plan.boundary}\r\ncontent-type: image/png\r\ncontent-range: bytes 0-9/1000\r\n\r\n`);
    assert.equal(plan.heads[1], `\r\n--${plan.boundary}\r\ncontent-type: image/png\r\ncontent-range: bytes 20-29/1000\r\n\r\n`);
    assert.equal(plan.tail, `\r\n--${plan.boundary}--\r\n`);
  });

  test('no content-type line without a content type', () => {
    const plan = planMultipart([{ start: 0, end: 0 }], 10, undefined);
    assert.ok(!plan.heads[0]!.includes('content-type'));
  });

  test('each plan has its own boundary', () => {
    const a = planMultipart([{ start: 0, end: 0 }], 10, undefined);
    const b = planMultipart([{ start: 0, end: 0 }], 10, undefined);
    assert.notEqual(a.boundary, b.boundary);
  });

  test('the boundary does not occur in the body it frames (assembled body splits into its parts)', () => {
    const rs = [{ start: 0, end: 99 }, { start: 300, end: 399 }];
    const plan = planMultipart(rs, data.length, 'application/octet-stream');
    const body = assemble(plan, rs, data).toString('latin1');
    const delimiters = body.split(`--${plan.boundary}`).length - 1;
    assert.equal(delimiters, rs.length + 1);
  });
});
