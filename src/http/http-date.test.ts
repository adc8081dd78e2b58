// HTTP-date (RFC 9110 §5.6.7): the three forms exactly, and nothing else.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHttpDate, parseHttpDateValue, rfc850Year } from './http-date.js';
import { decideStorage } from '../cache/policy.js';

const T = Date.UTC(1994, 10, 6, 8, 49, 37);
const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const invalid = (v: string) => assert.ok(Number.isNaN(parseHttpDateValue(v, NOW)), `${JSON.stringify(v)} must be invalid`);

describe('HTTP-date', () => {
  test('the three forms of the same instant', () => {
    assert.equal(parseHttpDateValue('Sun, 06 Nov 1994 08:49:37 GMT', NOW), T);
    assert.equal(parseHttpDateValue('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2000, 0, 1)), T);
    assert.equal(parseHttpDateValue('Sun Nov  6 08:49:37 1994', NOW), T);
    assert.equal(parseHttpDateValue('Sun Nov 16 08:49:37 1994', NOW), Date.UTC(1994, 10, 16, 8, 49, 37));
  });

  test('RFC 850 two-digit years: more than 50 years ahead means the past century', () => {
    assert.equal(rfc850Year(50, NOW), 2050, '2050 is within 50 years of 2026');
    assert.equal(rfc850Year(76, NOW), 2076, 'exactly 50 years ahead is not more than 50');
    assert.equal(rfc850Year(77, NOW), 1977);
    assert.equal(rfc850Year(94, NOW), 1994);
    assert.equal(rfc850Year(0, NOW), 2000);
    assert.equal(parseHttpDateValue('Friday, 31-Dec-99 23:59:59 GMT', NOW), Date.UTC(1999, 11, 31, 23, 59, 59));
    assert.equal(parseHttpDateValue('Saturday, 01-Jan-50 00:00:00 GMT', NOW), Date.UTC(2050, 0, 1));
  });

  test('UTC instead of GMT, or no zone, is no HTTP-date', () => {
    invalid('Sun, 06 Nov 1994 08:49:37 UTC');
    invalid('Sun, 06 Nov 1994 08:49:37 +0000');
    invalid('Sun, 06 Nov 1994 08:49:37');
    invalid('Sunday, 06-Nov-94 08:49:37 UTC');
  });

  test('a missing comma, doubled spaces, dashes in an IMF-fixdate', () => {
    invalid('Sun 06 Nov 1994 08:49:37 GMT');
    invalid('Sun,  06 Nov 1994 08:49:37 GMT');
    invalid('Sun, 06 Nov  1994 08:49:37 GMT');
    invalid('Sun, 06-Nov-1994 08:49:37 GMT');
    invalid(' Sun, 06 Nov 1994 08:49:37 GMT');
    invalid('Sun, 06 Nov 1994 08:49:37 GMT ');
    invalid('Sunday 06-Nov-94 08:49:37 GMT');
    invalid('Sun Nov 6 08:49:37 1994');
  });

  test('one-digit hours, days or seconds; out-of-range fields; wrong case', () => {
    invalid('Sun, 06 Nov 1994 8:49:37 GMT');
    invalid('Sun, 6 Nov 1994 08:49:37 GMT');
    invalid('Sun, 06 Nov 1994 08:49:7 GMT');
    invalid('Sun, 06 Nov 1994 24:00:00 GMT');
    invalid('Sun, 06 Nov 1994 08:60:00 GMT');
    invalid('Tue, 31 Feb 2026 08:00:00 GMT');
    invalid('Sun, 00 Nov 1994 08:49:37 GMT');
    invalid('sun, 06 nov 1994 08:49:37 gmt');
    invalid('Sun, 06 November 1994 08:49:37 GMT');
    invalid('Sun, 06 Nov 94 08:49:37 GMT');
  });

  test('a leap second is a date', () => {
    assert.equal(parseHttpDateValue('Wed, 31 Dec 2008 23:59:60 GMT', NOW), Date.UTC(2009, 0, 1));
  });

  test('values that are no date at all', () => {
    for (const v of ['0', '-1', '', '2099', 'never', '1735689600', '2026-11-30T12:00:00Z']) invalid(v);
  });

  test('several field lines are no date', () => {
    assert.ok(Number.isNaN(parseHttpDate(['Sun, 06 Nov 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 08:49:37 GMT'])));
    assert.ok(Number.isNaN(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT')));
    assert.equal(parseHttpDate(['Sun, 06 Nov 1994 08:49:37 GMT']), T);
    assert.ok(Number.isNaN(parseHttpDate(undefined)));
  });
});

describe('an invalid Expires means already expired (RFC 9111 §5.3)', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const decide = (expires: string | string[]) =>
    decideStorage({
      method: 'GET',
      status: 200,
      requestHeaders: {},
      responseHeaders: { date: 'Thu, 01 Jan 2026 12:00:00 GMT', expires, 'last-modified': 'Mon, 01 Dec 2025 12:00:00 GMT' },
      requestTime: now,
      responseTime: now,
    });

  test('a valid Expires gives the lifetime', () => {
    assert.equal(decide('Thu, 01 Jan 2026 13:00:00 GMT').lifetimeMs, 3_600_000);
  });

  test('UTC, a missing comma, or several Expires lines: stale at once (never a heuristic lifetime)', () => {
    for (const bad of ['Thu, 01 Jan 2026 13:00:00 UTC', 'Thu 01 Jan 2026 13:00:00 GMT', ['Thu, 01 Jan 2026 13:00:00 GMT', 'Thu, 01 Jan 2026 14:00:00 GMT']]) {
      const d = decide(bad);
      assert.equal(d.lifetimeMs, 0, JSON.stringify(bad));
    }
  });
});
