import { test } from 'node:test';
import assert from 'node:assert/strict';
import { negotiateEncoding, normaliseFieldValue, parseVary, secondaryKey } from './vary.js';

test('parseVary: absent and empty give no names', () => {
  assert.deepEqual(parseVary(undefined), []);
  assert.deepEqual(parseVary(''), []);
  assert.deepEqual(parseVary(' , ,'), []);
});

test('parseVary: names are lower-cased, sorted and de-duplicated', () => {
  assert.deepEqual(parseVary('Accept-Language, accept-encoding, ACCEPT-ENCODING'), ['accept-encoding', 'accept-language']);
});

test('parseVary: several field lines are one list', () => {
  assert.deepEqual(parseVary(['Origin', 'Accept-Encoding, origin']), ['accept-encoding', 'origin']);
});

test('parseVary: `*` anywhere makes the whole value `*`', () => {
  assert.equal(parseVary('*'), '*');
  assert.equal(parseVary('accept-encoding, * '), '*');
  assert.equal(parseVary(['accept', '*']), '*');
});

test('negotiateEncoding: absent or empty Accept-Encoding means identity', () => {
  assert.equal(negotiateEncoding(undefined), 'identity');
  assert.equal(negotiateEncoding(''), 'identity');
});

test('negotiateEncoding: br is preferred, then gzip', () => {
  assert.equal(negotiateEncoding('gzip, deflate, br'), 'br');
  assert.equal(negotiateEncoding('br;q=1, gzip'), 'br');
  assert.equal(negotiateEncoding('gzip, deflate'), 'gzip');
  assert.equal(negotiateEncoding('deflate'), 'identity');
});

test('negotiateEncoding: coding names are case-insensitive', () => {
  assert.equal(negotiateEncoding('GZIP'), 'gzip');
  assert.equal(negotiateEncoding('Br'), 'br');
});

test('negotiateEncoding: q=0 refuses a coding', () => {
  assert.equal(negotiateEncoding('br;q=0, gzip'), 'gzip');
  assert.equal(negotiateEncoding('br;q=0, gzip;q=0'), 'identity');
  assert.equal(negotiateEncoding('br; q=0.0, gzip; Q=0.5'), 'gzip');
  assert.equal(negotiateEncoding('gzip;q=0.000'), 'identity');
});

test('negotiateEncoding: a small but positive q still accepts', () => {
  assert.equal(negotiateEncoding('br;q=0.001'), 'br');
});

test('negotiateEncoding: an unparsable q-value counts as 0', () => {
  assert.equal(negotiateEncoding('br;q=., gzip'), 'gzip');
});

test('negotiateEncoding: `*` stands for every coding not listed', () => {
  assert.equal(negotiateEncoding('*'), 'br');
  assert.equal(negotiateEncoding('br;q=0, *'), 'gzip');
  assert.equal(negotiateEncoding('*;q=0'), 'identity');
  assert.equal(negotiateEncoding('gzip, *;q=0'), 'gzip');
  assert.equal(negotiateEncoding('br;q=0, gzip;q=0, *'), 'identity');
});

test('negotiateEncoding: x-gzip is gzip', () => {
  assert.equal(negotiateEncoding('x-gzip'), 'gzip');
  assert.equal(negotiateEncoding('x-gzip;q=0'), 'identity');
});

test('negotiateEncoding: identity alone, or identity refused, still gives identity', () => {
  assert.equal(negotiateEncoding('identity'), 'identity');
  assert.equal(negotiateEncoding('identity;q=0'), 'identity');
});

test('negotiateEncoding: several field lines are joined', () => {
  assert.equal(negotiateEncoding(['deflate', 'gzip']), 'gzip');
});

test('normaliseFieldValue: absent is empty', () => {
  assert.equal(normaliseFieldValue('accept-language', undefined), '');
});

test('normaliseFieldValue: whitespace around commas and inside members is folded, lines joined', () => {
  assert.equal(normaliseFieldValue('accept-language', ' en-GB ,  fr;q=0.5 '), 'en-GB,fr;q=0.5');
  assert.equal(normaliseFieldValue('accept-language', ['en-GB', 'fr;q=0.5']), 'en-GB,fr;q=0.5');
  assert.equal(normaliseFieldValue('x-thing', 'a   b,\tc'), 'a b,c');
  assert.equal(normaliseFieldValue('x-thing', 'a,,b, ,'), 'a,b');
});

test('normaliseFieldValue: values keep their case and order', () => {
  assert.equal(normaliseFieldValue('x-thing', 'B, a'), 'B,a');
  assert.notEqual(normaliseFieldValue('x-thing', 'b, a'), normaliseFieldValue('x-thing', 'a, b'));
});

test('normaliseFieldValue: Accept-Encoding is reduced to the served encoding', () => {
  assert.equal(normaliseFieldValue('accept-encoding', 'gzip, deflate, br'), 'br');
  assert.equal(normaliseFieldValue('accept-encoding', 'br;q=1, gzip'), 'br');
  assert.equal(normaliseFieldValue('accept-encoding', 'gzip'), 'gzip');
  assert.equal(normaliseFieldValue('accept-encoding', undefined), '');
});

test('secondaryKey: one line per name, in the given order', () => {
  const key = secondaryKey(['accept-encoding', 'accept-language'], {
    'accept-encoding': 'gzip, br',
    'accept-language': 'en , fr',
  });
  assert.equal(key, '\naccept-encoding:br\naccept-language:en,fr');
});

test('secondaryKey: no names gives an empty key', () => {
  assert.equal(secondaryKey([], { 'accept-encoding': 'gzip' }), '');
});

test('secondaryKey: equivalent requests share a key, different ones do not', () => {
  const names = ['accept-encoding', 'origin'];
  const a = secondaryKey(names, { 'accept-encoding': 'gzip, deflate, br', origin: 'https://a.example' });
  const b = secondaryKey(names, { 'accept-encoding': 'br;q=1, gzip', origin: ' https://a.example ' });
  const c = secondaryKey(names, { 'accept-encoding': 'gzip', origin: 'https://a.example' });
  const d = secondaryKey(names, { 'accept-encoding': 'br', origin: 'https://b.example' });
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.notEqual(a, d);
});

test('secondaryKey: a missing field differs from a present one', () => {
  assert.notEqual(secondaryKey(['origin'], {}), secondaryKey(['origin'], { origin: 'https://a.example' }));
});

test(
  'secondaryKey: an absent field does not match a field present with an empty value (RFC 9111 §4.1)',
  () => {
    assert.notEqual(secondaryKey(['x-variant'], {}), secondaryKey(['x-variant'], { 'x-variant': '' }));
  },
);

test('secondaryKey: a field the Connection field names is keyed as absent (the origin is never sent it)', () => {
  const plain = secondaryKey(['accept-language'], {});
  assert.equal(secondaryKey(['accept-language'], { 'accept-language': 'de', connection: 'Accept-Language' }), plain);
  assert.equal(secondaryKey(['accept-language'], { 'accept-language': 'de', connection: 'keep-alive, x-a , accept-language' }), plain);
  assert.notEqual(secondaryKey(['accept-language'], { 'accept-language': 'de', connection: 'keep-alive' }), plain);
  assert.equal(secondaryKey(['accept-encoding'], { 'accept-encoding': 'br', connection: 'accept-encoding' }), secondaryKey(['accept-encoding'], {}));
});
