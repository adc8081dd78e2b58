import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareIds, idTime, infoFields } from './stream-id.js';

test('stream ids order by time, then sequence, numerically', () => {
  assert.equal(compareIds('999-0', '1000-0'), -1, 'not as strings');
  assert.equal(compareIds('1000-10', '1000-9'), 1);
  assert.equal(compareIds('1000-1', '1000-1'), 0);
  assert.equal(compareIds('0-0', '1-0'), -1);
  assert.equal(compareIds('1718000000000-0', '1718000000000'), 0);
  assert.equal(idTime('1718000000123-4'), 1718000000123);
  assert.throws(() => compareIds('x', '1-0'), /not a stream id/);
});

test('XINFO STREAM replies read as fields', () => {
  assert.deepEqual(infoFields(['length', 3, 'max-deleted-entry-id', '5-0']), { length: 3, 'max-deleted-entry-id': '5-0' });
});
