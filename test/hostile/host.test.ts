// Hostile: Host and request-target. The edge routes, keys and forwards one canonical spelling of
// each: the host lower case without port or trailing dot (anything that is not a host name is 400,
// a host no site serves is 421), the absolute-form's authority over Host (RFC 9112 §3.2.2), and the
// path made canonical once (RFC 3986 §6.2.2: dot segments removed, unreserved escapes decoded, the
// rest upper-cased, repeated slashes merged; an encoded slash or backslash stays opaque; NUL, raw
// backslashes and broken escapes are 400). Deny rules and bypass behaviors see that same path, so no
// spelling walks around them, and every spelling of one URL is one cache object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escape, get, rawCases, send, useStage, type RawCase } from './harness.js';

const strict = useStage({
  config: (url) => ({
    originGroups: { main: { members: [{ url }] } },
    sites: [{ hosts: ['a.test', 'b.test', '*.blog.test', 'xn--bcher-kva.test', 'my_blog.test', '127.0.0.1'], originGroup: 'main' }],
  }),
});
const any = useStage({
  config: (url) => ({
    originGroups: { main: { members: [{ url }] } },
    sites: [{ hosts: ['*'], originGroup: 'main', deny: [{ path: '/admin/*', status: 403 }], behaviors: [{ path: '/live/*', bypass: true }] }],
  }),
});

/** The origin heard this host (and the edge's own listener port, never the client's). */
const heard = (host: string) => new RegExp(`^host: ${escape(host)}:\\d+$`, 'm');

const hostCases: RawCase[] = [
  { name: 'a listed host is served, and the origin hears it with the listener port', guards: 'RFC 9110 §7.2 (Host)', bytes: get('/h/plain', 'a.test'), expect: { status: 200, body: heard('a.test') } },
  { name: 'upper case is the same host', guards: 'RFC 3986 §6.2.2.1 (host case; host header poisoning)', bytes: get('/h/upper', 'A.TEST'), expect: { status: 200, body: heard('a.test'), bodyNot: /A\.TEST/ } },
  { name: 'a trailing dot is the same host', guards: 'RFC 1034 §3.1 (absolute names; host header poisoning)', bytes: get('/h/dot', 'a.test.'), expect: { status: 200, body: heard('a.test'), bodyNot: /a\.test\.:/ } },
  { name: "the client's port never reaches the origin", guards: 'host header poisoning (port reflected into links)', bytes: get('/h/port', 'a.test:1337'), expect: { status: 200, body: heard('a.test'), bodyNot: /1337/ } },
  { name: 'a port that is not a number', guards: 'RFC 3986 §3.2.3 (port = *DIGIT)', bytes: get('/h/badport', 'a.test:abc'), expect: { status: 400, neverForwarded: '/h/badport' } },
  { name: 'an empty port', guards: 'RFC 3986 §3.2.3 (refused rather than guessed)', bytes: get('/h/emptyport', 'a.test:'), expect: { status: 400, neverForwarded: '/h/emptyport' } },
  { name: 'two trailing dots', guards: 'RFC 1034 §3.1 (empty label)', bytes: get('/h/dots', 'a.test..'), expect: { status: 400, neverForwarded: '/h/dots' } },
  { name: 'a leading dot', guards: 'RFC 1034 §3.1 (empty label)', bytes: get('/h/lead', '.a.test'), expect: { status: 400, neverForwarded: '/h/lead' } },
  { name: 'an empty label in the middle', guards: 'RFC 1034 §3.1 (empty label)', bytes: get('/h/mid', 'a..test'), expect: { status: 400, neverForwarded: '/h/mid' } },
  { name: 'userinfo before the host', guards: 'RFC 9110 §4.2.4 (userinfo; "@" host confusion)', bytes: get('/h/at', 'evil.test@a.test'), expect: { status: 400, neverForwarded: '/h/at' } },
  { name: 'a slash in the host', guards: 'RFC 9110 §7.2 (host header injection)', bytes: get('/h/slash', 'a.test/evil'), expect: { status: 400, neverForwarded: '/h/slash' } },
  { name: 'a backslash in the host', guards: 'WHATWG URL "\\" as "/" (host confusion)', bytes: get('/h/bslash', 'a.test\\evil.test'), expect: { status: 400, neverForwarded: '/h/bslash' } },
  { name: 'a fragment in the host', guards: 'RFC 9110 §7.2 (host header injection)', bytes: get('/h/frag', 'a.test#evil'), expect: { status: 400, neverForwarded: '/h/frag' } },
  { name: 'a query in the host', guards: 'RFC 9110 §7.2 (host header injection)', bytes: get('/h/query', 'a.test?evil'), expect: { status: 400, neverForwarded: '/h/query' } },
  { name: 'a space inside the host', guards: 'RFC 9110 §7.2 (host header injection)', bytes: get('/h/space', 'a .test'), expect: { status: 400, neverForwarded: '/h/space' } },
  { name: 'a percent-encoded dot in the host', guards: 'RFC 3986 §3.2.2 (reg-name escapes refused)', bytes: get('/h/pct', 'a%2etest'), expect: { status: 400, neverForwarded: '/h/pct' } },
  { name: 'raw UTF-8 in the host', guards: 'RFC 5890 (IDN homographs: only A-labels)', bytes: get('/h/idn', 'b\xc3\xbccher.test'), expect: { status: 400, neverForwarded: '/h/idn' } },
  { name: 'an A-label (punycode) host is served', guards: 'RFC 5890 (A-labels)', bytes: get('/h/puny', 'xn--bcher-kva.test'), expect: { status: 200, body: heard('xn--bcher-kva.test') } },
  { name: 'an underscore in a label is served', guards: 'RFC 2181 §11 (any octet in DNS labels)', bytes: get('/h/under', 'my_blog.test'), expect: { status: 200, body: heard('my_blog.test') } },
  { name: 'a 300-character host', guards: 'RFC 1035 §2.3.4 (255 octets)', bytes: get('/h/long', `${'a'.repeat(290)}.test`), expect: { status: 400, neverForwarded: '/h/long' } },
  { name: 'an empty Host', guards: 'RFC 9112 §3.2 (MUST 400)', bytes: 'GET /h/empty HTTP/1.1\r\nHost:\r\n\r\n', expect: { status: 400, body: /missing_host/, neverForwarded: '/h/empty' } },
  { name: 'no Host in HTTP/1.1', guards: 'RFC 9112 §3.2 (MUST 400)', bytes: 'GET /h/none HTTP/1.1\r\n\r\n', expect: { status: 400, neverForwarded: '/h/none' } },
  { name: 'a host no site serves is 421, never forwarded', guards: 'RFC 9110 §15.5.20 (Host header attacks, open proxy)', bytes: get('/h/unknown', 'evil.test'), expect: { status: 421, body: /unknown_host/, neverForwarded: '/h/unknown' }, nginx: 'the default server answers' },
  { name: 'a wildcard covers one label', guards: 'RFC 6125 §6.4.3 (one-label wildcards)', bytes: get('/h/wild', 'x.blog.test'), expect: { status: 200, body: heard('x.blog.test') } },
  { name: 'a wildcard does not cover two labels', guards: 'RFC 6125 §6.4.3 (one-label wildcards)', bytes: get('/h/wild2', 'x.y.blog.test'), expect: { status: 421, neverForwarded: '/h/wild2' } },
  { name: 'a wildcard does not cover its parent', guards: 'RFC 6125 §6.4.3', bytes: get('/h/apex', 'blog.test'), expect: { status: 421, neverForwarded: '/h/apex' } },
  { name: 'a listed IPv4 address is served', guards: 'RFC 3986 §3.2.2 (IP literals)', bytes: get('/h/ip', '127.0.0.1'), expect: { status: 200, body: heard('127.0.0.1') } },
  { name: 'IPv4 shorthand is not the listed address', guards: 'RFC 3986 §7.4 (IP address spellings)', bytes: get('/h/ipshort', '127.1'), expect: { status: 421, neverForwarded: '/h/ipshort' } },
  { name: 'a hexadecimal IPv4 spelling is not the listed address', guards: 'RFC 3986 §7.4 (IP address spellings)', bytes: get('/h/iphex', '0x7f.0.0.1'), expect: { status: 421, neverForwarded: '/h/iphex' } },
  { name: "the absolute-form's authority wins over Host", guards: 'RFC 9112 §3.2.2 (absolute-form; host header poisoning)', bytes: 'GET http://b.test/h/abs HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: { status: 200, body: heard('b.test'), bodyNot: /^host: a\.test/m } },
  { name: 'an absolute-form naming an unknown host is 421 whatever Host says', guards: 'RFC 9112 §3.2.2 (absolute-form; routing confusion)', bytes: 'GET http://evil.test/h/absevil HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: { status: 421, neverForwarded: '/h/absevil' } },
  { name: 'an absolute-form with upper case and the default port is the canonical host', guards: 'RFC 3986 §6.2.3 (scheme-based normalisation)', bytes: 'GET http://A.TEST:80/h/abscase HTTP/1.1\r\nHost: evil.test\r\n\r\n', expect: { status: 200, body: heard('a.test') } },
  { name: 'an absolute-form with userinfo', guards: 'RFC 9110 §4.2.4 (userinfo refused)', bytes: 'GET http://evil@a.test/h/absuser HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: { status: 400, neverForwarded: '/h/absuser' }, nginx: '400' },
  { name: 'an absolute-form with another scheme', guards: 'RFC 9112 §3.2.2 (http and https only)', bytes: 'GET ftp://a.test/h/absftp HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: { status: 400, neverForwarded: '/h/absftp' }, nginx: '200 (forwarded)' },
  { name: 'an absolute-form with an empty authority', guards: 'RFC 9110 §4.2.1 (MUST NOT be empty)', bytes: 'GET http:///h/absempty HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: { status: 400, neverForwarded: '/h/absempty' } },
  { name: "an absolute-form's https scheme does not change the listener's (no scheme confusion)", guards: 'RFC 9112 §3.2.2 (X-Forwarded-Proto honesty)', bytes: 'GET https://a.test/h/absscheme HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: { status: 200, body: /^x-forwarded-proto: http$/m } },
];

rawCases(strict, hostCases);

rawCases(any, [
  { name: 'an IPv6 literal', guards: 'RFC 3986 §3.2.2 (IP-literal)', bytes: get('/h6/plain', '[::1]'), expect: { status: 200, body: heard('[::1]') } },
  { name: 'an IPv6 literal with a port', guards: 'RFC 3986 §3.2.2 (IP-literal, port dropped)', bytes: get('/h6/port', '[::1]:8080'), expect: { status: 200, body: heard('[::1]'), bodyNot: /8080/ } },
  { name: 'an unclosed IPv6 literal', guards: 'RFC 3986 §3.2.2', bytes: get('/h6/open', '[::1'), expect: { status: 400, neverForwarded: '/h6/open' } },
  { name: 'an IPv6 literal with letters past f', guards: 'RFC 3986 §3.2.2', bytes: get('/h6/zz', '[zz::1]'), expect: { status: 400, neverForwarded: '/h6/zz' } },
  { name: 'junk after an IPv6 literal', guards: 'RFC 3986 §3.2.2', bytes: get('/h6/junk', '[::1]x'), expect: { status: 400, neverForwarded: '/h6/junk' } },
  { name: 'an IPv6 zone identifier', guards: 'RFC 6874 (zone ids are not for Host)', bytes: get('/h6/zone', '[fe80::1%25eth0]'), expect: { status: 400, neverForwarded: '/h6/zone' } },
  { name: 'an unbracketed IPv6 address', guards: 'RFC 3986 §3.2.2 (IP-literal needs brackets)', bytes: get('/h6/bare', '::1'), expect: { status: 400, neverForwarded: '/h6/bare' } },
]);

/** [sent, what the origin must be sent] — RFC 3986 §6.2.2 and §5.2.4. */
const CANONICAL: [string, string][] = [
  ['/t/a/./b', '/t/a/b'],
  ['/t/a/../b', '/t/b'],
  ['/t/../../../b', '/b'],
  ['/t/a/%2e%2e/b', '/t/b'],
  ['/t/a/%2E/b', '/t/a/b'],
  ['/t/a/.%2e/b', '/t/b'],
  ['/t/%7euser', '/t/~user'],
  ['/t/%41%42', '/t/AB'],
  ['/t/%5f', '/t/_'],
  ['/t/a%2fb', '/t/a%2Fb'],
  ['/t/a%2f..%2fb', '/t/a%2F..%2Fb'],
  ['/t/%2e%2e%2fb', '/t/..%2Fb'],
  ['/t/a%5cb', '/t/a%5Cb'],
  ['/t/a%20b', '/t/a%20b'],
  ['/t/caf%c3%a9', '/t/caf%C3%A9'],
  ['/t/%252e%252e/x', '/t/%252e%252e/x'],
  ['/t//a///b', '/t/a/b'],
  ['/t/a/b/', '/t/a/b/'],
  ['/t/a/..', '/t/'],
  ['/t/.', '/t/'],
  ['/t/...', '/t/...'],
  ['/t/a;b=c', '/t/a;b=c'],
  ['/t/a?x=../y', '/t/a?x=../y'],
  ['/t/frag#part', '/t/frag'],
];

rawCases(
  any,
  CANONICAL.map(([sent, canonical]): RawCase => ({
    name: `${JSON.stringify(sent)} reaches the origin as ${JSON.stringify(canonical)}`,
    guards: 'RFC 3986 §6.2.2 (path normalisation; path confusion)',
    bytes: get(sent),
    expect: { status: 200, originSaw: `GET ${canonical}` },
  })),
);

rawCases(any, [
  { name: 'an encoded NUL', guards: 'RFC 3986 §7.3 (NUL truncation)', bytes: get('/t/nul%00.css'), expect: { status: 400, neverForwarded: '/t/nul' } },
  { name: 'a lone percent sign', guards: 'RFC 3986 §2.1 (broken escape)', bytes: get('/t/pct%'), expect: { status: 400, neverForwarded: '/t/pct%' } },
  { name: 'a percent sign before non-hex', guards: 'RFC 3986 §2.1 (broken escape)', bytes: get('/t/pctg%g1'), expect: { status: 400, neverForwarded: '/t/pctg%g1' } },
  { name: "IIS's %u escape", guards: 'RFC 3986 §2.1 (%u unicode escapes, IIS path confusion)', bytes: get('/t/%u002e%u002e/x'), expect: { status: 400, neverForwarded: '/t/%u002e%u002e/x' } },
  { name: 'a raw backslash', guards: 'WHATWG URL "\\" as "/" (path confusion)', bytes: get('/t/a\\..\\admin'), expect: { status: 400, neverForwarded: '/t/a\\..\\admin' } },
  ...['/x/../admin/a', '/%61dmin/a', '//admin/a', '/ADMIN/a', '/./admin/a', '/x/%2e%2e/admin/a'].map(
    (path): RawCase => ({ name: `${JSON.stringify(path)} is denied like /admin/a`, guards: 'RFC 3986 §6.2.2 (access control bypass by path spelling)', bytes: get(path), expect: { status: 403, body: /denied/, neverForwarded: '/admin/a' } }),
  ),
  ...['/x/../live/feed', '/%6Cive/feed', '//live/feed', '/live/./feed'].map(
    (path): RawCase => ({ name: `${JSON.stringify(path)} is bypassed like /live/feed, never cached`, guards: 'RFC 3986 §6.2.2 (bypass escape by path spelling; issue 12 §2)', bytes: get(path), expect: { status: 200, originSaw: 'GET /live/feed', cacheStatus: /fwd=bypass/ } }),
  ),
]);

test('RFC 3986 §6.2.2 (cache key confusion) — every spelling of one URL is one object: the origin is asked once', async () => {
  const s = any();
  const spellings = ['/k/a/./b', '/k/x/../a/b', '/k//a//b', '/%6B/a/%62', '/k/a/%2e/b'];
  assert.equal((await send(s.port, get('/k/a/b'))).first?.status, 200);
  const ex = await send(s.port, spellings.map((p) => get(p)));
  const answers = ex.responses.filter((r) => r.headers['x-sentinel'] === undefined);
  assert.equal(answers.length, spellings.length);
  assert.ok(answers.every((r) => /^blotcdn; hit/.test(r.headers['cache-status'] ?? '')), answers.map((r) => r.headers['cache-status']).join(' | '));
  assert.deepEqual(s.seen('/k/').map((r) => r.url), ['/k/a/b']);
});

test('RFC 3986 §6.2.2.1 (cache key confusion) — lower- and upper-case escapes and host spellings are one object', async () => {
  const s = any();
  assert.equal((await send(s.port, get('/k/caf%c3%a9', 'c.test'))).first?.status, 200);
  const ex = await send(s.port, [get('/k/caf%C3%A9', 'C.TEST.'), get('/k/caf%C3%a9', 'c.test:9999')]);
  const answers = ex.responses.filter((r) => r.headers['x-sentinel'] === undefined);
  assert.deepEqual(answers.map((r) => /^blotcdn; (hit|fwd=miss)/.exec(r.headers['cache-status'] ?? '')?.[1]), ['hit', 'hit']);
  assert.equal(s.seen('/k/caf').length, 1);
});

test('issue 12 §2 (bypass escape) — the bypassed paths above stored nothing', () => {
  const s = any();
  assert.ok(s.seen('/live/feed').length >= 4, 'each one went to the origin');
  const store = s.edge.edge.store;
  assert.equal(store.varyOf('http://a.test/live/feed'), undefined, 'no object (of any variant) under the bypassed URL');
  assert.equal(store.variantCount('http://a.test/live/feed'), 0);
  assert.equal(store.variantCount('http://a.test/k/a/b'), 1, 'the same lookup finds an object a cacheable path stored');
});
