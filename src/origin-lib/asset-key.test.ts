import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assetKey, encodeAssetPath, isBlogID, normaliseAssetPath, normaliseBlogID } from './asset-key.js';
import { AssetError } from './asset-error.js';

const PLATFORM = 'blog_0123456789abcdef0123456789abcdef';
const GUID = '6f1c2a9e-3b4d-4e5f-8a9b-0c1d2e3f4a5b';

const refused = (code: string, pattern?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof AssetError, `expected an AssetError, got ${String(err)}`);
  assert.equal(err.code, code);
  if (pattern) assert.match(err.message, pattern);
  return true;
};

test('blog ids: the platform form and GUIDs are accepted', () => {
  assert.equal(normaliseBlogID(PLATFORM), PLATFORM);
  assert.equal(normaliseBlogID(GUID), GUID);
  assert.ok(isBlogID(PLATFORM) && isBlogID(GUID));
});

test('blog ids: an upper-case GUID is the same blog, lower-cased; an upper-case blog_ id is refused', () => {
  assert.equal(normaliseBlogID(GUID.toUpperCase()), GUID);
  assert.equal(isBlogID(GUID.toUpperCase()), false);
  const upper = 'blog_' + '0123456789ABCDEF'.repeat(2);
  assert.throws(() => normaliseBlogID(upper), refused('invalid_blog_id', /lower-case.*blog_0123456789abcdef0123456789abcdef/));
  assert.throws(() => normaliseBlogID('BLOG_' + '0'.repeat(32)), refused('invalid_blog_id'));
});

test('blog ids: anything that could break a path is refused with a clear error', () => {
  const bad: unknown[] = [
    '', ' ', 'blog_', 'blog_123', `${PLATFORM}0`, `${PLATFORM}/x`, `../${PLATFORM}`, '..', '.', 'blog_../../etc',
    `${PLATFORM} `, ` ${PLATFORM}`, `${PLATFORM}\n`, `{${GUID}}`, GUID.replace(/-/g, ''), GUID.replace('6', 'g'),
    '443d398b03', 'blog_0123456789abcdef0123456789abcdeg', null, undefined, 42, {},
  ];
  for (const id of bad) assert.throws(() => normaliseBlogID(id), refused('invalid_blog_id', /neither blog_ \+ 32|lower-case/), `accepted ${String(id)}`);
});

test('paths: the leading slash is optional; repeated slashes and `.` segments are dropped', () => {
  assert.equal(normaliseAssetPath('/style.css'), 'style.css');
  assert.equal(normaliseAssetPath('style.css'), 'style.css');
  assert.equal(normaliseAssetPath('//templates//foo/./style.css'), 'templates/foo/style.css');
  assert.equal(normaliseAssetPath('./a/b.js'), 'a/b.js');
  assert.equal(normaliseAssetPath('/.well-known/x'), '.well-known/x');
  assert.equal(normaliseAssetPath('/a/..b/c..'), 'a/..b/c..', 'dots inside a name are not a dot segment');
});

test('paths: `..`, empty, folders, controls, backslashes and oversize paths are refused', () => {
  for (const p of ['../x', '/a/../b', 'a/..', '..']) assert.throws(() => normaliseAssetPath(p), refused('invalid_path', /"\.\." segment/));
  for (const p of ['', '/', '//', './', '/./.']) assert.throws(() => normaliseAssetPath(p), refused('invalid_path'));
  assert.throws(() => normaliseAssetPath('/templates/'), refused('invalid_path', /folder/));
  for (const p of ['a\u0000b', 'a\nb', 'a\tb', 'a\rb', '\u007f']) assert.throws(() => normaliseAssetPath(p), refused('invalid_path', /control/));
  assert.throws(() => normaliseAssetPath('..\\..\\etc\\passwd'), refused('invalid_path', /backslash/));
  assert.throws(() => normaliseAssetPath('a\uD800b'), refused('invalid_path', /Unicode/));
  assert.throws(() => normaliseAssetPath(undefined), refused('invalid_path'));
  assert.equal(normaliseAssetPath('/' + 'a'.repeat(1024)), 'a'.repeat(1024));
  assert.throws(() => normaliseAssetPath('a'.repeat(1025)), refused('invalid_path', /1025 bytes/));
  assert.throws(() => normaliseAssetPath('é'.repeat(600)), refused('invalid_path', /1200 bytes/));
});

test('paths: composed and decomposed Unicode (macOS sync) are one path', () => {
  const composed = 'caf\u00e9/men\u00fc.css';
  const decomposed = 'cafe\u0301/menu\u0308.css';
  assert.notEqual(composed, decomposed);
  assert.equal(normaliseAssetPath(decomposed), composed);
  assert.equal(normaliseAssetPath('/' + composed), composed);
});

test('paths are file paths, not URLs: %, ? and # are part of the name', () => {
  assert.equal(normaliseAssetPath('/my%20file.css'), 'my%20file.css');
  assert.equal(normaliseAssetPath('/a?b#c'), 'a?b#c');
  assert.equal(normaliseAssetPath('/Style.CSS'), 'Style.CSS', 'case is kept');
});

test('encoding: every segment is %-encoded as UTF-8, slashes kept, unreserved characters as they are', () => {
  assert.equal(encodeAssetPath('templates/foo/style.css'), 'templates/foo/style.css');
  assert.equal(encodeAssetPath('A-Z_a~z.0-9'), 'A-Z_a~z.0-9');
  assert.equal(encodeAssetPath('my file.css'), 'my%20file.css');
  assert.equal(encodeAssetPath('my%20file.css'), 'my%2520file.css');
  assert.equal(encodeAssetPath('a?b#c&d=e+f;g,h:i@j$k'), 'a%3Fb%23c%26d%3De%2Bf%3Bg%2Ch%3Ai%40j%24k');
  assert.equal(encodeAssetPath('café/ü.css'), 'caf%C3%A9/%C3%BC.css');
  assert.equal(encodeAssetPath('🎉.png'), '%F0%9F%8E%89.png');
});

test("encoding: ' ( ) ! * are encoded too, so a URL is safe in a quoted attribute and an unquoted CSS url()", () => {
  assert.equal(encodeAssetPath("it's (1)!*.png"), 'it%27s%20%281%29%21%2A.png');
});

test('encoding round-trips: decoding the URL path gives the canonical path back', () => {
  for (const path of ['a b/c d.css', 'café/ü.css', "x'y(z)/[1]{2}<3>.txt", '%41/%zz', '.hidden/файл.js', 'a?b#c']) {
    const canonical = normaliseAssetPath(path);
    const url = new URL(`https://cdn.example/${encodeAssetPath(canonical)}`);
    assert.equal(url.pathname, '/' + encodeAssetPath(canonical), 'the URL parser changed nothing');
    assert.equal(decodeURIComponent(url.pathname.slice(1)), canonical);
  }
});

test('assetKey normalises both halves', () => {
  assert.deepEqual(assetKey(GUID.toUpperCase(), '//a/./b.css'), { blogID: GUID, path: 'a/b.css' });
});
