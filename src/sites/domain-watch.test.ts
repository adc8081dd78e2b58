import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingKeyspaceFlags } from './domain-watch.js';

test('keyspace notifications need K, $, g and x; A stands for the classes', () => {
  assert.equal(missingKeyspaceFlags(''), 'K$gx');
  assert.equal(missingKeyspaceFlags('Ex'), 'K$g');
  assert.equal(missingKeyspaceFlags('KA'), '');
  assert.equal(missingKeyspaceFlags('AE'), 'K');
  assert.equal(missingKeyspaceFlags('gxK$'), '');
});
