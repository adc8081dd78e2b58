import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseHost } from './host.js';

test('plain names are returned as they are', () => {
  assert.equal(normaliseHost('example.com'), 'example.com');
  assert.equal(normaliseHost('a.b.example.com'), 'a.b.example.com');
  assert.equal(normaliseHost('localhost'), 'localhost');
  assert.equal(normaliseHost('my_host-1.example'), 'my_host-1.example');
});

test('upper case is folded', () => {
  assert.equal(normaliseHost('Example.COM'), 'example.com');
});

test('the port is dropped', () => {
  assert.equal(normaliseHost('example.com:8080'), 'example.com');
  assert.equal(normaliseHost('Example.COM:80'), 'example.com');
  assert.equal(normaliseHost('127.0.0.1:3000'), '127.0.0.1');
});

test('an empty, non-numeric or over-long port is refused', () => {
  for (const h of ['example.com:', 'example.com:http', 'example.com:123456', 'example.com:80:80', 'example.com:-1', 'example.com: 80']) {
    assert.equal(normaliseHost(h), undefined, h);
  }
});

test('a trailing dot is dropped', () => {
  assert.equal(normaliseHost('example.com.'), 'example.com');
  assert.equal(normaliseHost('example.com.:443'), 'example.com');
});

test('IPv4 literals are kept', () => {
  assert.equal(normaliseHost('192.0.2.1'), '192.0.2.1');
});

test('IPv6 literals keep their brackets and lose the port', () => {
  assert.equal(normaliseHost('[::1]'), '[::1]');
  assert.equal(normaliseHost('[::1]:80'), '[::1]');
  assert.equal(normaliseHost('[2001:DB8::1]:8443'), '[2001:db8::1]');
  assert.equal(normaliseHost('[::ffff:192.0.2.1]'), '[::ffff:192.0.2.1]');
});

test('malformed IPv6 literals are refused', () => {
  for (const h of ['[::1', '[]', '[::g]', '[::1]x', '[::1]:', '[::1]:port', '[::1]:123456', '[a b]', '[::1%eth0]', '[::1]]']) {
    assert.equal(normaliseHost(h), undefined, h);
  }
});

test('a bare IPv6 address without brackets is refused', () => {
  assert.equal(normaliseHost('::1'), undefined);
  assert.equal(normaliseHost('2001:db8::1'), undefined);
});

test('hostile values are refused', () => {
  for (const h of [
    'a/b',
    'a b',
    'a@b',
    'user@example.com',
    'example.com/../x',
    'a\\b',
    'a\tb',
    'a\r\nX-Injected: 1',
    'a\u0000b',
    'exa%6dple.com',
    'a?b',
    'a#b',
    'a,b',
    'a;b',
    '"a"',
    'ex\u00e4mple.com',
  ]) {
    assert.equal(normaliseHost(h), undefined, JSON.stringify(h));
  }
});

test('empty and dot-only names are refused', () => {
  for (const h of [undefined, '', '.', '..', ':80', '.:80', '.example.com', 'a..b', 'example..com']) {
    assert.equal(normaliseHost(h), undefined, JSON.stringify(h));
  }
});

test('names longer than 255 characters are refused', () => {
  const label = 'a'.repeat(50);
  const long = Array.from({ length: 6 }, () => label).join('.'); // 305 chars
  assert.equal(long.length > 255, true);
  assert.equal(normaliseHost(long), undefined);
  assert.equal(normaliseHost('a'.repeat(300)), undefined);
  assert.equal(normaliseHost('a'.repeat(256)), undefined);
});

test(
  'a name ending in two dots is refused (it has an empty label), not returned with a trailing dot',
  () => {
    assert.equal(normaliseHost('example.com..'), undefined);
    assert.equal(normaliseHost('a..:80'), undefined);
  },
);
