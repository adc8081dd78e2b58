// The canonical request path (RFC 3986 §6.2.2): one spelling for one resource, so a behavior, the
// cache key and the origin always agree on which resource a request names.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseRequestPath } from './request-target.js';

const norm = (p: string) => {
  const r = normaliseRequestPath(p);
  assert.ok(r.ok, `${p}: ${!r.ok && r.reason}`);
  return r.path;
};
const refused = (p: string) => assert.equal(normaliseRequestPath(p).ok, false, p);

describe('canonical request paths', () => {
  test('ordinary paths are left as they are', () => {
    for (const p of ['/', '/a', '/a/b.css', '/blog_0123/_thumbnails/x.png', '/a/', '/a-b_c~d', "/a(1)!$&'*+,;=:@", '/.well-known/acme-challenge/x', '/file.tar.gz']) assert.equal(norm(p), p);
  });

  test('dot segments are removed (RFC 3986 §5.2.4), raw or encoded', () => {
    assert.equal(norm('/echo/../live/feed'), '/live/feed');
    assert.equal(norm('/echo/%2e%2e/live/feed'), '/live/feed');
    assert.equal(norm('/echo/%2E%2E/live/feed'), '/live/feed');
    assert.equal(norm('/echo/.%2e/live/feed'), '/live/feed');
    assert.equal(norm('/a/./b'), '/a/b');
    assert.equal(norm('/a/b/..'), '/a/');
    assert.equal(norm('/a/b/.'), '/a/b/');
    assert.equal(norm('/../../etc/passwd'), '/etc/passwd', 'never above the root');
    assert.equal(norm('/..'), '/');
  });

  test('repeated slashes are merged', () => {
    assert.equal(norm('//live/feed'), '/live/feed');
    assert.equal(norm('/a//b///c'), '/a/b/c');
  });

  test('unreserved escapes are decoded, others upper-cased, encoded slashes stay opaque', () => {
    assert.equal(norm('/%61%62c'), '/abc');
    assert.equal(norm('/a%7eb'), '/a~b');
    assert.equal(norm('/a%2fb'), '/a%2Fb');
    assert.equal(norm('/a%2F..%2Fb'), '/a%2F..%2Fb', 'an encoded slash never becomes a separator, so no dot segment forms');
    assert.equal(norm('/caf%c3%a9'), '/caf%C3%A9');
    assert.equal(norm('/a%20b'), '/a%20b');
  });

  test('NUL, raw backslashes, control characters and broken escapes are refused', () => {
    for (const p of ['/a%00b', '/a\\b', '/a\u0001b', '/a b', '/a%', '/a%zz', '/a%4', 'a/b', '']) refused(p);
  });

  test('long and hostile paths take linear time (no backtracking)', () => {
    const long = '/' + 'a'.repeat(5000) + '/%2e%2e/'.repeat(500) + 'x';
    assert.equal(norm(long), '/x');
    assert.equal(norm('/blog_00112233445566778899aabbccddeeff/%2e%2e/%2e%2e/%2e%2e/etc/passwd'), '/etc/passwd');
    assert.equal(norm('/' + 'a.'.repeat(5000)), '/' + 'a.'.repeat(5000));
  });

  test('bytes above ASCII are percent-encoded', () => {
    assert.equal(norm('/caf\u00e9'), '/caf%E9');
  });
});
