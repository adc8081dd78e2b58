import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseSize } from './units.js';

test('parseDuration: plain numbers are seconds', () => {
  assert.equal(parseDuration(30), 30_000);
  assert.equal(parseDuration(0), 0);
  assert.equal(parseDuration(1.5), 1500);
  assert.equal(parseDuration('30'), 30_000);
  assert.equal(parseDuration(' 2.5 '), 2500);
});

test('parseDuration: units', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('5s'), 5_000);
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('1d'), 86_400_000);
  assert.equal(parseDuration('1w'), 604_800_000);
  assert.equal(parseDuration('1y'), 31_557_600_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration(' 10 minutes '), 600_000);
  assert.equal(parseDuration('5S'), 5_000);
});

test('parseDuration: negative, non-finite and unknown values are refused', () => {
  for (const v of [-1, Number.NaN, Infinity, -Infinity]) assert.equal(parseDuration(v), undefined, String(v));
  for (const v of ['-5s', '-5', 'forever', '5 parsecs', '5s5', 'abc', '1e3', '0x10', 's']) {
    assert.equal(parseDuration(v), undefined, v);
  }
});

test(
  'parseDuration: an empty or blank string is undefined, not an exception',
  () => {
    assert.equal(parseDuration(''), undefined);
    assert.equal(parseDuration('   '), undefined);
  },
);

test('parseSize: plain numbers are bytes', () => {
  assert.equal(parseSize(0), 0);
  assert.equal(parseSize(4096), 4096);
  assert.equal(parseSize('4096'), 4096);
  assert.equal(parseSize(' 4096 '), 4096);
  assert.equal(parseSize('10b'), 10);
});

test('parseSize: KB/MB/GB are powers of 1024, and so are KiB/MiB/GiB', () => {
  assert.equal(parseSize('1KB'), 1024);
  assert.equal(parseSize('1kb'), 1024);
  assert.equal(parseSize('1KiB'), 1024);
  assert.equal(parseSize('256MB'), 256 * 1024 * 1024);
  assert.equal(parseSize('256MiB'), 256 * 1024 * 1024);
  assert.equal(parseSize('256 MiB'), 256 * 1024 * 1024);
  assert.equal(parseSize('2gib'), 2 * 1024 ** 3);
  assert.equal(parseSize('1TB'), 1024 ** 4);
  assert.equal(parseSize('1PiB'), 1024 ** 5);
});

test('parseSize: fractions of a unit are rounded down to whole bytes', () => {
  assert.equal(parseSize('1.5GB'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('1.5KB'), 1536);
  assert.equal(parseSize('0.3KB'), 307);
});

test('parseSize: negative, fractional numbers and unknown units are refused', () => {
  for (const v of [-1, 1.5, Number.NaN, Infinity]) assert.equal(parseSize(v), undefined, String(v));
  for (const v of ['', '  ', '-1', '-1MB', '10xb', '10 bytes', 'MB', '1e3', '0x10', '256MiBs', '1 2MB', '1.MB', '1KIB B']) {
    assert.equal(parseSize(v), undefined, JSON.stringify(v));
  }
});
