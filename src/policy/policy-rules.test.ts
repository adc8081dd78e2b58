// The config's policy rules on their own: status lists, header rules and their variables, deny
// matching, token buckets, address lists and the client address behind trusted proxies.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { parseStatusSpec, StatusTable } from './status-spec.js';
import { parseRate } from './rate.js';
import { compileTemplate, HeaderRules } from './header-rules.js';
import { DenyRules } from './deny-rules.js';
import { RateLimiter } from './rate-limiter.js';
import { AddressList, parseRange } from './address-list.js';
import { ClientIp } from './client-ip.js';

const vars = { clientIp: '203.0.113.9', requestId: 'req-1', host: 'blog.test', scheme: 'https' };

describe('status specs', () => {
  test('lists, ranges and classes', () => {
    assert.deepEqual(parseStatusSpec('200 301 404'), [200, 301, 404]);
    assert.deepEqual(parseStatusSpec('200,302'), [200, 302]);
    assert.equal((parseStatusSpec('500-599') as number[]).length, 100);
    assert.equal((parseStatusSpec('4xx') as number[])[0], 400);
    for (const bad of ['', 'abc', '600', '599-500', '20', '2xx3']) assert.equal(typeof parseStatusSpec(bad), 'string', bad);
  });

  test('a table answers by status; the first key naming a status wins', () => {
    const t = new StatusTable<number>([
      [[404], 1],
      [parseStatusSpec('400-499') as number[], 2],
    ]);
    assert.equal(t.get(404), 1);
    assert.equal(t.get(410), 2);
    assert.equal(t.get(200), undefined);
    assert.equal(t.get(999), undefined);
  });
});

describe('rates', () => {
  test('per second, minute and hour', () => {
    assert.equal(parseRate('20/s'), 0.02);
    assert.equal(parseRate('600/m'), 0.01);
    assert.equal(parseRate('3600 / h'), 0.001);
    for (const bad of ['20', '0/s', '-1/s', '5/d', 'x/s']) assert.equal(parseRate(bad), undefined, bad);
  });
});

describe('header rules', () => {
  test('variables in values; unknown ones are refused', () => {
    const t = compileTemplate('{client_ip} via {scheme}://{host} #{request_id}');
    assert.equal(typeof t === 'function' ? t(vars) : t, '203.0.113.9 via https://blog.test #req-1');
    assert.equal(compileTemplate('plain'), 'plain');
    assert.throws(() => compileTemplate('{cookie}'), /unknown variable \{cookie\}/);
  });

  test("a site's rules, then a behavior's: later set and remove replace, add appends", () => {
    const rules = HeaderRules.compile([
      { set: { 'X-Frame-Options': 'DENY', 'x-site': 'a' }, add: { link: '</a.css>' }, remove: ['server'] },
      { remove: ['x-site'], add: { link: '</b.css>' }, set: { 'x-powered-by': 'nothing' } },
    ])!;
    const out = rules.applyFlat(['server', 'nginx', 'x-frame-options', 'SAMEORIGIN', 'link', '</origin.css>', 'x-powered-by', 'PHP'], vars);
    assert.deepEqual(out, ['link', '</origin.css>', 'x-frame-options', 'DENY', 'link', '</a.css>', 'link', '</b.css>', 'x-powered-by', 'nothing']);
    assert.equal(HeaderRules.compile([undefined, {}]), undefined, 'nothing to do: no rules object at all');
  });

  test('on request header maps', () => {
    const rules = HeaderRules.compile([{ set: { 'x-real-ip': '{client_ip}' }, add: { 'x-tag': 'one' }, remove: ['cookie'] }])!;
    const headers: Record<string, string | string[] | undefined> = { cookie: 'a=1', 'x-real-ip': 'forged', 'x-tag': 'zero' };
    rules.applyMap(headers, vars);
    assert.deepEqual(headers, { 'x-real-ip': '203.0.113.9', 'x-tag': ['zero', 'one'] });
  });
});

describe('deny rules', () => {
  const deny = new DenyRules([
    { path: '/wp-admin/*', status: 403 },
    { path: '*.php', status: 444 },
    { path: '/.env', status: 404 },
    { methods: ['TRACE'], status: 405 },
    { path: '/api/*', methods: ['DELETE'], status: 403 },
  ]);
  test('paths (without case), methods, and both', () => {
    assert.equal(deny.match('GET', '/wp-admin/install')?.status, 403);
    assert.equal(deny.match('GET', '/x/y.PHP')?.status, 444);
    assert.equal(deny.match('GET', '/.Env')?.status, 404);
    assert.equal(deny.match('TRACE', '/')?.status, 405);
    assert.equal(deny.match('DELETE', '/api/posts/1')?.status, 403);
    assert.equal(deny.match('GET', '/api/posts/1'), undefined);
    assert.equal(deny.match('GET', '/posts/php'), undefined);
    assert.equal(deny.match('GET', '/.envy'), undefined);
  });
});

describe('rate limiter', () => {
  test('a bucket of `burst` tokens refilled at `rate`; the wait until the next token', () => {
    const limiter = new RateLimiter({ ratePerMs: 1 / 1000, burst: 2, maxKeys: 10 });
    assert.equal(limiter.take('a', 0), 0);
    assert.equal(limiter.take('a', 0), 0);
    assert.equal(limiter.take('a', 0), 1000);
    assert.equal(limiter.take('b', 0), 0, 'buckets are per key');
    assert.equal(limiter.take('a', 400), 600);
    assert.equal(limiter.take('a', 1000), 0, 'a token came back after a second');
  });

  test('a flood of distinct keys keeps at most maxKeys buckets', () => {
    const limiter = new RateLimiter({ ratePerMs: 1, burst: 1, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`, 0);
    assert.equal(limiter.size, 100);
  });
});

describe('addresses and the client behind proxies', () => {
  test('networks and single addresses, v4, v6 and v4-mapped', () => {
    const list = new AddressList(['10.0.0.0/8', '::1', '192.0.2.7']);
    assert.equal(list.has('10.1.2.3'), true);
    assert.equal(list.has('::ffff:10.1.2.3'), true);
    assert.equal(list.has('::1'), true);
    assert.equal(list.has('192.0.2.7'), true);
    assert.equal(list.has('192.0.2.8'), false);
    assert.equal(list.has('not an ip'), false);
    assert.equal(typeof parseRange('10.0.0.0/33'), 'string');
    assert.equal(typeof parseRange('1.2.3'), 'string', 'no shorthand addresses');
  });

  const socket = (remoteAddress: string) => ({ remoteAddress }) as Socket;
  test('X-Forwarded-For is read only from trusted peers, from the right, past trusted hops', () => {
    const ip = new ClientIp(new AddressList(['10.0.0.0/8']));
    assert.equal(ip.of(socket('198.51.100.1'), { 'x-forwarded-for': '1.1.1.1' }), '198.51.100.1');
    assert.equal(ip.of(socket('10.0.0.2'), { 'x-forwarded-for': '1.1.1.1' }), '1.1.1.1');
    assert.equal(ip.of(socket('10.0.0.2'), { 'x-forwarded-for': '6.6.6.6, 1.1.1.1, 10.0.0.9' }), '1.1.1.1');
    assert.equal(ip.of(socket('10.0.0.2'), { 'x-forwarded-for': ['6.6.6.6', '1.1.1.1'] }), '1.1.1.1');
    assert.equal(ip.of(socket('10.0.0.2'), { 'x-forwarded-for': 'bogus, 1.1.1.1' }), '1.1.1.1');
    assert.equal(ip.of(socket('10.0.0.2'), { 'x-forwarded-for': '1.1.1.1, bogus' }), '10.0.0.2');
    assert.equal(ip.of(socket('10.0.0.2'), {}), '10.0.0.2');
    const none = new ClientIp(new AddressList([]));
    assert.equal(none.of(socket('10.0.0.2'), { 'x-forwarded-for': '1.1.1.1' }), '10.0.0.2');
  });
});
