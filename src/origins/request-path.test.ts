import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRequestPath, FILE_PATH_RULES, KEY_PATH_RULES, type DecodedPath } from './request-path.js';

const segments = (d: DecodedPath): string[] => {
  assert.equal(d.ok, true, JSON.stringify(d));
  return (d as { segments: string[] }).segments;
};
const status = (d: DecodedPath): number => (d.ok ? 200 : d.status);

describe('decodeRequestPath for files', () => {
  test('plain, encoded and unicode names decode to segments; the query is ignored', () => {
    assert.deepEqual(segments(decodeRequestPath('/a/b.css?v=1', FILE_PATH_RULES)), ['a', 'b.css']);
    assert.deepEqual(segments(decodeRequestPath('/with%20space/%C3%BC.txt', FILE_PATH_RULES)), ['with space', 'ü.txt']);
    assert.deepEqual(segments(decodeRequestPath('/a+b', FILE_PATH_RULES)), ['a+b']);
    assert.deepEqual(segments(decodeRequestPath('/', FILE_PATH_RULES)), []);
  });

  test('repeated slashes are merged and a trailing slash is reported', () => {
    const d = decodeRequestPath('//a//b/', FILE_PATH_RULES);
    assert.deepEqual(segments(d), ['a', 'b']);
    assert.equal(d.ok && d.trailingSlash, true);
  });

  test('every way of writing a dot segment is refused with 400', () => {
    for (const p of ['/..', '/../etc/passwd', '/a/../../b', '/a/./b', '/%2e%2e/x', '/%2E%2E/x', '/.%2e/x', '/%2e./x', '/a/%2e']) {
      assert.equal(status(decodeRequestPath(p, FILE_PATH_RULES)), 400, p);
    }
  });

  test('NUL bytes, backslashes and encoded slashes are refused with 400', () => {
    for (const p of ['/a%00.txt', '/a\0b', '/..%5c..%5cetc', '/a\\b', '/..%2f..%2fetc%2fpasswd', '/a%2Fb', '/%5c']) {
      assert.equal(status(decodeRequestPath(p, FILE_PATH_RULES)), 400, p);
    }
  });

  test('broken percent-encoding, including overlong UTF-8 dots, is refused with 400', () => {
    for (const p of ['/%', '/%zz', '/%c0%ae%c0%ae/etc', '/%e0%80%ae', '/%ff']) {
      assert.equal(status(decodeRequestPath(p, FILE_PATH_RULES)), 400, p);
    }
  });

  test('names that only look like dots are ordinary names (they cannot climb)', () => {
    assert.deepEqual(segments(decodeRequestPath('/%252e%252e/x', FILE_PATH_RULES)), ['%2e%2e', 'x']);
    assert.deepEqual(segments(decodeRequestPath('/...', FILE_PATH_RULES)), ['...']);
    assert.deepEqual(segments(decodeRequestPath('/..;/x', FILE_PATH_RULES)), ['..;', 'x']);
    assert.deepEqual(segments(decodeRequestPath('/%EF%BC%8E%EF%BC%8E', FILE_PATH_RULES)), ['．．']);
  });

  test('a path that does not start with / is refused', () => {
    assert.equal(status(decodeRequestPath('a/b', FILE_PATH_RULES)), 400);
    assert.equal(status(decodeRequestPath('', FILE_PATH_RULES)), 400);
  });

  test('over-long paths and segments are 404: nothing that long can be in the folder', () => {
    assert.equal(status(decodeRequestPath('/' + 'a'.repeat(256), FILE_PATH_RULES)), 404);
    assert.equal(status(decodeRequestPath('/' + 'a'.repeat(255), FILE_PATH_RULES)), 200);
    assert.equal(status(decodeRequestPath(('/' + 'a'.repeat(200)).repeat(6), FILE_PATH_RULES)), 404);
    assert.equal(status(decodeRequestPath('/' + '%41'.repeat(5000), FILE_PATH_RULES)), 404);
    // A segment's limit is in bytes: 128 two-byte characters are 256 bytes.
    assert.equal(status(decodeRequestPath('/' + 'ü'.repeat(128), FILE_PATH_RULES)), 404);
  });
});

describe('decodeRequestPath for object keys', () => {
  test('empty segments are kept and encoded slashes split, since keys are literal', () => {
    assert.deepEqual(segments(decodeRequestPath('/a//b/', KEY_PATH_RULES)), ['a', '', 'b', '']);
    assert.deepEqual(segments(decodeRequestPath('/a%2Fb', KEY_PATH_RULES)), ['a', 'b']);
    assert.deepEqual(segments(decodeRequestPath('/a%5Cb', KEY_PATH_RULES)), ['a\\b']);
  });

  test('dot segments (even hidden behind %2F) and NUL are refused all the same', () => {
    for (const p of ['/a/../b', '/a%2F..%2Fb', '/%2e%2e', '/a%00']) assert.equal(status(decodeRequestPath(p, KEY_PATH_RULES)), 400, p);
  });

  test('a key longer than 1024 bytes is 404', () => {
    assert.equal(status(decodeRequestPath('/' + 'k'.repeat(1024), KEY_PATH_RULES)), 200);
    assert.equal(status(decodeRequestPath('/' + 'k'.repeat(1025), KEY_PATH_RULES)), 404);
  });
});
