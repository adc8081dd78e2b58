// Hostile: web cache poisoning and deception. Each case is an attacker's request to an origin that
// reflects whatever it is sent into a cacheable page, then a clean reader's request for the same
// URL: the reader must get a page nothing of the attacker's reached. Covered: every unkeyed field an
// origin framework may believe (removed before forwarding unless a behavior keys on it), the edge's
// own X-Forwarded-*, hop-by-hop nomination, host spellings, fat GETs, query rules (allow-lists,
// cloaking, fragments), Vary abuse, conditionals, ranges and encodings on a miss, personal responses
// behind static-looking paths (web cache deception), Set-Cookie and private responses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { get, reflect, send, useStage, type Response } from './harness.js';
import { UNKEYED_REFLECTED } from '../../src/http/headers.js';

/** Reflecting origin, with paths that answer the ways poisoning needs. */
function origin(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  const page = (body: string, headers: Record<string, string>, status = 200) => {
    req.resume();
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
  if (url.startsWith('/vary-lang/')) return page(`lang=${req.headers['accept-language'] ?? 'default'}`, { vary: 'Accept-Language', 'cache-control': 'max-age=300' });
  if (url.startsWith('/vary-x/')) return page(`x=${req.headers['x-evil'] ?? 'none'}`, { vary: 'X-Evil', 'cache-control': 'max-age=300' });
  if (url.startsWith('/vary-star/')) return page(`x=${req.headers['x-evil'] ?? 'none'}`, { vary: '*', 'cache-control': 'max-age=300' });
  if (url.startsWith('/keyed/')) return page(`port=${req.headers['x-forwarded-port'] ?? 'none'}`, { 'cache-control': 'max-age=300' });
  if (url.startsWith('/me/')) {
    // A personal page with no freshness of its own, behind a path that looks static.
    const who = /session=(\w+)/.exec(req.headers.cookie ?? '')?.[1] ?? (req.headers.authorization ? `auth:${req.headers.authorization}` : 'nobody');
    return page(`account of ${who}`, { 'content-type': 'text/css' });
  }
  if (url.startsWith('/set-cookie/')) return page('page', { 'set-cookie': `sid=${req.headers['x-session'] ?? 'none'}`, 'cache-control': 'max-age=300' });
  if (url.startsWith('/private/')) return page(`for ${req.headers['x-session'] ?? 'none'}`, { 'cache-control': 'private, max-age=300' });
  if (url.startsWith('/redir/')) return page('', { location: url, 'cache-control': 'max-age=300' }, 302);
  reflect(req, res);
}

const stage = useStage({
  handler: origin,
  config: (url) => ({
    originGroups: { main: { members: [{ url }] } },
    sites: [
      {
        hosts: ['*'],
        originGroup: 'main',
        behaviors: [
          { path: '/qa/*', query: { allow: ['a'] } },
          { path: '/qn/*', query: 'none' },
          { path: '/keyed/*', keyHeaders: ['x-forwarded-port'] },
          { path: '*.css', ttl: { default: '1h' } },
        ],
      },
    ],
  }),
});

/** The attacker's request, then a clean reader's; both answers (the reader's is the second). */
async function attackThenRead(attack: string, read = attack.split('\r\n')[0]!.split(' ')[1]!, readFields: string[] = []): Promise<[Response, Response]> {
  const s = stage();
  const first = await send(s.port, attack);
  const second = await send(s.port, get(read, 'a.test', readFields));
  assert.ok(first.first && second.first, 'both answered');
  return [first.first, second.first];
}

const hit = (r: Response) => /^blotcdn; hit/.test(r.headers['cache-status'] ?? '');

// ---- every field an origin may reflect that no key names (Param Miner's list) ----

for (const field of UNKEYED_REFLECTED) {
  test(`web cache poisoning (unkeyed ${field}) — removed before forwarding; the reader gets a clean hit`, async () => {
    const marker = `poison-${field.replace(/[^a-z]/g, '')}`;
    const path = `/u/${field}`;
    const [attacker, reader] = await attackThenRead(get(path, 'a.test', [`${field}: ${marker}`]));
    assert.doesNotMatch(attacker.text, new RegExp(marker), 'the origin never saw it');
    assert.ok(hit(reader), reader.headers['cache-status']);
    assert.doesNotMatch(reader.text, new RegExp(marker));
    assert.equal(stage().seen(path).filter((r) => r.url === path).length, 1);
  });
}

test('web cache poisoning (X-Forwarded-Host) — the edge writes its own; the client’s never reaches the origin', async () => {
  const [attacker, reader] = await attackThenRead(get('/u/xfh', 'a.test', ['X-Forwarded-Host: evil.test']));
  assert.match(attacker.text, /^x-forwarded-host: a\.test:\d+$/m);
  assert.ok(hit(reader));
  assert.doesNotMatch(reader.text, /evil/);
});

test('web cache poisoning (X-Forwarded-Proto) — the edge writes the scheme it was reached by', async () => {
  const [attacker] = await attackThenRead(get('/u/xfp', 'a.test', ['X-Forwarded-Proto: https']));
  assert.match(attacker.text, /^x-forwarded-proto: http$/m);
});

test('web cache poisoning (keyHeaders) — a field a behavior keys on goes through, and each value is its own object', async () => {
  const [attacker, reader] = await attackThenRead(get('/keyed/p', 'a.test', ['X-Forwarded-Port: 6666']));
  assert.equal(attacker.text, 'port=6666');
  assert.equal(reader.text, 'port=none', 'the reader without the field is another object');
  assert.equal(stage().seen('/keyed/p').length, 2);
});

test('hop-by-hop abuse (Connection: x-forwarded-port) — a keyed field nominated as hop-by-hop is keyed as absent', async () => {
  const [attacker, reader] = await attackThenRead(get('/keyed/hop', 'a.test', ['X-Forwarded-Port: 6666', 'Connection: x-forwarded-port']), '/keyed/hop', ['X-Forwarded-Port: 6666']);
  assert.equal(attacker.text, 'port=none', 'the origin was not sent the nominated field');
  assert.equal(reader.text, 'port=6666', 'a reader who sends 6666 gets the page built for 6666');
});

test('hop-by-hop abuse (Connection: accept-language) — a Vary field the origin was not sent does not key the copy as if it were', async () => {
  const [attacker, reader] = await attackThenRead(get('/vary-lang/p', 'a.test', ['Accept-Language: de', 'Connection: accept-language']), '/vary-lang/p', ['Accept-Language: de']);
  assert.equal(attacker.text, 'lang=default');
  assert.equal(reader.text, 'lang=de', 'German readers get the German page');
});

test('hop-by-hop abuse (Connection: x-forwarded-host) — the edge’s own fields cannot be nominated away', async () => {
  const [attacker] = await attackThenRead(get('/u/hop-xfh', 'a.test', ['Connection: x-forwarded-host, x-forwarded-for, via, cdn-loop']));
  assert.match(attacker.text, /^x-forwarded-host: a\.test:\d+$/m);
  assert.match(attacker.text, /^x-forwarded-for: 127\.0\.0\.1$/m);
  assert.match(attacker.text, /^cdn-loop: blotcdn; node=/m);
});

// ---- host, target and method ----

test('host header poisoning (absolute-form) — the page for a.test is built for a.test, whatever Host says', async () => {
  const [attacker, reader] = await attackThenRead('GET http://a.test/u/abs HTTP/1.1\r\nHost: evil.test\r\n\r\n', '/u/abs');
  assert.match(attacker.text, /^host: a\.test:\d+$/m);
  assert.ok(hit(reader));
  assert.doesNotMatch(reader.text, /evil/);
});

test('fat GET (a body on a GET) — never forwarded with a cache fill', async () => {
  const [attacker, reader] = await attackThenRead(get('/u/fat', 'a.test', ['Content-Length: 12']) + 'param=poison', '/u/fat');
  assert.match(attacker.text, /^body: 0 bytes$/m);
  assert.doesNotMatch(attacker.text, /content-length: 12/);
  assert.ok(hit(reader));
  assert.deepEqual(stage().bodies('/u/fat').map((b) => b.body.length), [0]);
});

test('fat GET (chunked) — never forwarded with a cache fill', async () => {
  const [attacker] = await attackThenRead(get('/u/fatch', 'a.test', ['Transfer-Encoding: chunked']) + 'c\r\nparam=poison\r\n0\r\n\r\n', '/u/fatch');
  assert.match(attacker.text, /^body: 0 bytes$/m);
  assert.doesNotMatch(attacker.text, /transfer-encoding/);
});

test('method override (?_method=POST) — the query is in the key: another object, not the reader’s', async () => {
  const [attacker, reader] = await attackThenRead(get('/u/m?_method=POST'), '/u/m');
  assert.match(attacker.text, /^GET \/u\/m\?_method=POST$/m);
  assert.match(reader.text, /^GET \/u\/m$/m);
});

test('HEAD on a miss fills the cache with the whole GET', async () => {
  const s = stage();
  const head = await send(s.port, 'HEAD /u/head HTTP/1.1\r\nHost: a.test\r\n\r\n', { endAfter: 1 });
  assert.equal(head.first?.status, 200);
  const reader = (await send(s.port, get('/u/head'))).first!;
  assert.ok(hit(reader));
  assert.equal(reader.body.length, Number(reader.headers['content-length']));
  assert.match(reader.text, /^GET \/u\/head$/m, 'the origin was asked for a GET');
});

test('RFC 9111 §4 (a POST answer is not a GET answer) — a reader’s GET after a cacheable POST is not served the POST’s page', async () => {
  const [attacker, reader] = await attackThenRead('POST /u/post HTTP/1.1\r\nHost: a.test\r\nContent-Length: 6\r\n\r\npoison', '/u/post');
  assert.match(attacker.text, /^POST \/u\/post$/m);
  assert.match(reader.text, /^GET \/u\/post$/m);
  assert.match(reader.text, /^body: 0 bytes$/m);
});

test('response splitting (CRLF in the path) — stays encoded; no header is injected', async () => {
  const [attacker] = await attackThenRead(get('/redir/x%0d%0aSet-Cookie:%20evil=1'));
  assert.equal(attacker.status, 302);
  assert.equal(attacker.headers['set-cookie'], undefined);
  assert.equal(attacker.headers['location'], '/redir/x%0D%0ASet-Cookie:%20evil=1');
});

test('CDN-Loop spoofing — the 508 it earns is not stored; the reader gets the page', async () => {
  const [attacker, reader] = await attackThenRead(get('/u/loop', 'a.test', [`CDN-Loop: blotcdn; node=${stage().edge.edge.nodeId}`]), '/u/loop');
  assert.equal(attacker.status, 508);
  assert.equal(reader.status, 200);
});

// ---- query rules ----

test('cache key confusion (query allow-list) — parameters the key drops are not sent to the origin either', async () => {
  const [attacker, reader] = await attackThenRead(get('/qa/p?utm=poison&a=1'), '/qa/p?a=1');
  assert.match(attacker.text, /^GET \/qa\/p\?a=1$/m);
  assert.ok(hit(reader));
  assert.doesNotMatch(reader.text, /poison/);
});

test('parameter cloaking (";" as a separator) — a=1;utm=x is one value, keyed and sent whole', async () => {
  const [attacker, reader] = await attackThenRead(get('/qa/c?a=1;utm=poison'), '/qa/c?a=1');
  assert.match(attacker.text, /^GET \/qa\/c\?a=1;utm=poison$/m);
  assert.ok(!hit(reader), 'another key');
  assert.doesNotMatch(reader.text, /poison/);
});

test('cache key confusion (repeated parameter) — both values are kept, keyed and sent', async () => {
  const [attacker, reader] = await attackThenRead(get('/qa/d?a=1&a=poison'), '/qa/d?a=1');
  assert.match(attacker.text, /^GET \/qa\/d\?a=1&a=poison$/m);
  assert.doesNotMatch(reader.text, /poison/);
});

test('cache key confusion (query: none) — the query is neither keyed nor sent', async () => {
  const [attacker, reader] = await attackThenRead(get('/qn/p?poison=1'), '/qn/p');
  assert.match(attacker.text, /^GET \/qn\/p$/m);
  assert.ok(hit(reader));
});

test('cache key confusion (fragment) — a fragment sent by a client is dropped from key and origin', async () => {
  const [attacker, reader] = await attackThenRead(get('/u/frag#poison'), '/u/frag');
  assert.match(attacker.text, /^GET \/u\/frag$/m);
  assert.ok(hit(reader));
});

test('cache key confusion (encoded query) — ?%61=1 and ?a=1 are different objects, each built from what it names', async () => {
  const [attacker, reader] = await attackThenRead(get('/u/enc?%61=poison'), '/u/enc?a=1');
  assert.match(attacker.text, /^GET \/u\/enc\?%61=poison$/m);
  assert.match(reader.text, /^GET \/u\/enc\?a=1$/m);
});

// ---- Vary ----

test('Vary abuse (a field the origin varies on) — the attacker’s value is its own variant', async () => {
  const [attacker, reader] = await attackThenRead(get('/vary-x/p', 'a.test', ['X-Evil: poison']), '/vary-x/p');
  assert.equal(attacker.text, 'x=poison');
  assert.equal(reader.text, 'x=none');
});

test('Vary abuse (Vary: *) — never stored', async () => {
  const [, reader] = await attackThenRead(get('/vary-star/p', 'a.test', ['X-Evil: poison']), '/vary-star/p');
  assert.equal(reader.text, 'x=none');
  assert.match(reader.headers['cache-status'] ?? '', /fwd=/);
});

// ---- conditionals, ranges, encodings on a miss ----

test('RFC 9111 §4.3.2 (conditional on a miss) — If-None-Match is not sent to the origin; the reader gets the full page', async () => {
  const [attacker, reader] = await attackThenRead(get('/u/inm', 'a.test', ['If-None-Match: *']), '/u/inm');
  assert.ok(attacker.status === 304 || attacker.status === 200, String(attacker.status));
  assert.equal(reader.status, 200);
  assert.ok(reader.body.length > 0);
  assert.doesNotMatch(reader.text, /if-none-match/);
});

test('RFC 9110 §14.2 (Range on a miss) — the origin is asked for the whole object; the reader gets it whole', async () => {
  const [attacker, reader] = await attackThenRead(get('/u/range', 'a.test', ['Range: bytes=0-3']), '/u/range');
  assert.equal(attacker.status, 206);
  assert.equal(reader.status, 200);
  assert.doesNotMatch(reader.text, /^range:/m);
  assert.equal(reader.body.length, Number(reader.headers['content-length']));
});

test('RFC 9110 §12.5.3 (Accept-Encoding on a miss) — the origin is asked for identity; a reader without br gets identity', async () => {
  const [attacker, reader] = await attackThenRead(get('/u/ae', 'a.test', ['Accept-Encoding: br']), '/u/ae');
  assert.match(attacker.text + reader.text, /^accept-encoding: identity$/m);
  assert.equal(reader.headers['content-encoding'], undefined);
});

// ---- personal responses (web cache deception) ----

for (const path of ['/me/account.css', '/me/account;x.css', '/me/account%2Fx.css', '/me/x/..%2Fy.css']) {
  test(`web cache deception (${path} with a session cookie) — not stored by a default TTL`, async () => {
    const [victim, reader] = await attackThenRead(get(path, 'a.test', ['Cookie: session=alice']), path);
    assert.equal(victim.text, 'account of alice');
    assert.match(victim.headers['cache-status'] ?? '', /detail=personal/);
    assert.equal(reader.text, 'account of nobody');
  });
}

test('web cache deception (Authorization) — a response to a request with credentials is not stored', async () => {
  const [victim, reader] = await attackThenRead(get('/me/auth.css', 'a.test', ['Authorization: Bearer alice']), '/me/auth.css');
  assert.equal(victim.text, 'account of auth:Bearer alice');
  assert.equal(reader.text, 'account of nobody');
});

test('session fixation through the cache (Set-Cookie) — a response setting a cookie is not stored', async () => {
  const [attacker, reader] = await attackThenRead(get('/set-cookie/p', 'a.test', ['X-Session: attacker']), '/set-cookie/p');
  assert.equal(attacker.headers['set-cookie'], 'sid=attacker');
  assert.notEqual(reader.headers['set-cookie'], 'sid=attacker');
});

test('RFC 9111 §5.2.2.7 (private) — never stored by a shared cache', async () => {
  const [, reader] = await attackThenRead(get('/private/p', 'a.test', ['X-Session: attacker']), '/private/p');
  assert.equal(reader.text, 'for none');
});
