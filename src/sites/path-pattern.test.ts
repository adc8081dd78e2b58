import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePathPattern } from './path-pattern.js';

function check(pattern: string, yes: string[], no: string[]) {
  const t = compilePathPattern(pattern);
  for (const p of yes) assert.equal(t(p), true, `${pattern} should match ${JSON.stringify(p)}`);
  for (const p of no) assert.equal(t(p), false, `${pattern} should not match ${JSON.stringify(p)}`);
}

test('`*` matches every path', () => {
  check('*', ['', '/', '/a/b/c.css', '/?x', '/\n'], []);
});

test('an exact path matches only itself', () => {
  check('/about', ['/about'], ['/about/', '/About', '/aboutx', '/x/about', '']);
});

test('a prefix pattern matches everything under it, slashes included', () => {
  check('/static/*', ['/static/', '/static/a.css', '/static/a/b/c.js'], ['/static', '/stati', '/x/static/a', '/STATIC/a']);
});

test('a suffix pattern matches the extension at any depth', () => {
  check('*.css', ['/a.css', '/x/y/z.css', '.css'], ['/a.css.map', '/a.CSS', '/acss']);
});

test('`*` in the middle matches any run of characters, including none and slashes', () => {
  check('/a/*/b', ['/a//b', '/a/x/b', '/a/x/y/b'], ['/a/b', '/a/x/c', '/a/x/b/']);
});

test('several stars', () => {
  check('/img/*/*.png', ['/img/a/b.png', '/img/a/b/c.png', '/img//.png'], ['/img/b.png', '/img/a/b.jpg']);
  check('*foo*', ['foo', '/foo', '/a/foo/b', 'xfoox'], ['/fo/o', '/bar']);
});

test('`?` matches exactly one character', () => {
  check('/v?/api', ['/v1/api', '/v2/api', '/v//api'], ['/v/api', '/v10/api']);
  check('/file?', ['/file1', '/files'], ['/file', '/file12']);
});

test('`?` with a trailing star', () => {
  check('/v?/*', ['/v1/', '/v2/x/y'], ['/v/', '/v12/x']);
});

test('regular expression characters are literal', () => {
  check('/a.b', ['/a.b'], ['/axb']);
  check('/a.b*', ['/a.b', '/a.bc'], ['/axb', '/axbc']);
  check('/a+(b)|c[d]$^{2}\\?', ['/a+(b)|c[d]$^{2}\\x'], ['/aa(b)|c[d]$^{2}\\x', '/a+b', '/c']);
  check('/price/$*', ['/price/$5'], ['/price/5']);
  check('*.min.js', ['/x.min.js'], ['/xxminxjs']);
});

test('matching is anchored at both ends', () => {
  check('/a?c', ['/abc'], ['x/abc', '/abcd']);
  check('/a*c', ['/abc'], ['x/abc', '/abcd']);
});

test('a path with a newline is still matched by the whole-pattern test', () => {
  check('/a/*/z', ['/a/\n/z'], []);
  check('/a?z', ['/a\nz'], []);
});
