import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DELTA_SECONDS_MAX, deltaSeconds, parseDirectives, parseSurrogateControl } from './cache-control.js';

const entries = (d: Map<string, string | true>) => [...d.entries()];

test('parseDirectives: undefined and empty input give no directives', () => {
  assert.equal(parseDirectives(undefined).size, 0);
  assert.equal(parseDirectives('').size, 0);
  assert.equal(parseDirectives([]).size, 0);
  assert.equal(parseDirectives(' ,, ,\t').size, 0);
});

test('parseDirectives: bare names, token values and whitespace', () => {
  const d = parseDirectives('public,  max-age=60 ,\tno-transform , s-maxage = 30');
  assert.deepEqual(entries(d), [
    ['public', true],
    ['max-age', '60'],
    ['no-transform', true],
    ['s-maxage', '30'],
  ]);
});

test('parseDirectives: directive names are case-insensitive, values keep their case', () => {
  const d = parseDirectives('Max-Age=60, NO-STORE, Private="X-Foo"');
  assert.equal(d.get('max-age'), '60');
  assert.equal(d.get('no-store'), true);
  assert.equal(d.get('private'), 'X-Foo');
  assert.equal(d.has('Max-Age'), false);
});

test('parseDirectives: a quoted value may contain commas', () => {
  const d = parseDirectives('no-cache="set-cookie, x-foo", max-age=5');
  assert.equal(d.get('no-cache'), 'set-cookie, x-foo');
  assert.equal(d.get('max-age'), '5');
  assert.equal(d.size, 2);
});

test('parseDirectives: quoted-pair escapes are unescaped', () => {
  const d = parseDirectives('a="x\\"y", b="back\\\\slash", c=1');
  assert.equal(d.get('a'), 'x"y');
  assert.equal(d.get('b'), 'back\\slash');
  assert.equal(d.get('c'), '1');
});

test('parseDirectives: a quoted numeric value reads like the token form', () => {
  assert.equal(deltaSeconds(parseDirectives('max-age="60"'), 'max-age'), 60);
});

test('parseDirectives: an unterminated quoted string takes the rest of the field', () => {
  const d = parseDirectives('max-age=1, private="a, b');
  assert.equal(d.get('max-age'), '1');
  assert.equal(d.get('private'), 'a, b');
});

test('parseDirectives: the first occurrence of a directive wins', () => {
  const d = parseDirectives('max-age=10, MAX-AGE=20, max-age=30');
  assert.equal(d.get('max-age'), '10');
  assert.equal(d.size, 1);
});

test('parseDirectives: several field lines are one list, first line first', () => {
  const d = parseDirectives(['max-age=10, public', 'max-age=99, no-cache']);
  assert.equal(d.get('max-age'), '10');
  assert.equal(d.get('public'), true);
  assert.equal(d.get('no-cache'), true);
  assert.equal(d.size, 3);
});

test('parseDirectives: an empty value is kept as an empty string', () => {
  const d = parseDirectives('max-age=, public');
  assert.equal(d.get('max-age'), '');
  assert.equal(d.get('public'), true);
});

test('deltaSeconds: absent directive is undefined', () => {
  assert.equal(deltaSeconds(parseDirectives('public'), 'max-age'), undefined);
});

test('deltaSeconds: valid integers are returned as numbers', () => {
  assert.equal(deltaSeconds(parseDirectives('max-age=0'), 'max-age'), 0);
  assert.equal(deltaSeconds(parseDirectives('max-age=3600'), 'max-age'), 3600);
  assert.equal(deltaSeconds(parseDirectives('max-age=007'), 'max-age'), 7);
});

test('deltaSeconds: non-integers, negatives, empty and bare values are invalid', () => {
  for (const v of ['max-age', 'max-age=', 'max-age=-1', 'max-age=1.5', 'max-age=abc', 'max-age=1e3', 'max-age=+5', 'max-age="6 0"']) {
    assert.equal(deltaSeconds(parseDirectives(v), 'max-age'), 'invalid', v);
  }
});

test('deltaSeconds: values above 2^31 are capped at 2^31', () => {
  assert.equal(DELTA_SECONDS_MAX, 2 ** 31);
  assert.equal(deltaSeconds(parseDirectives('max-age=2147483647'), 'max-age'), 2147483647);
  assert.equal(deltaSeconds(parseDirectives('max-age=2147483648'), 'max-age'), 2 ** 31);
  assert.equal(deltaSeconds(parseDirectives('max-age=2147483649'), 'max-age'), 2 ** 31);
  assert.equal(deltaSeconds(parseDirectives('max-age=99999999999999999999999999'), 'max-age'), 2 ** 31);
});

test('parseSurrogateControl: max-age=N+M is max-age N and stale-while-revalidate M', () => {
  const d = parseSurrogateControl('max-age=60+30');
  assert.equal(d.get('max-age'), '60');
  assert.equal(d.get('stale-while-revalidate'), '30');
  assert.equal(deltaSeconds(d, 'max-age'), 60);
  assert.equal(deltaSeconds(d, 'stale-while-revalidate'), 30);
});

test('parseSurrogateControl: plain max-age and no-store pass through', () => {
  const d = parseSurrogateControl('max-age=120, no-store');
  assert.equal(d.get('max-age'), '120');
  assert.equal(d.get('no-store'), true);
  assert.equal(d.has('stale-while-revalidate'), false);
});

test('parseSurrogateControl: an earlier explicit stale-while-revalidate is kept', () => {
  const d = parseSurrogateControl('stale-while-revalidate=5, max-age=60+30');
  assert.equal(d.get('max-age'), '60');
  assert.equal(d.get('stale-while-revalidate'), '5');
});

test('parseSurrogateControl: empty input is empty', () => {
  assert.equal(parseSurrogateControl(undefined).size, 0);
  assert.equal(parseSurrogateControl('').size, 0);
});
