// Hostile: parsing and request smuggling. Raw bytes at the plain-HTTP listener; every ambiguous
// framing (CL.TE, TE.CL, TE.TE, duplicate lengths, obs-fold, bare CR/LF, chunk-size tricks) is
// refused with 400 and the connection closed before anything reaches the origin, and a request
// hidden in a body is never forwarded as a request. Where a case says `nginx`, that is what
// nginx 1.22.1 (Debian, proxy_pass to the same origin) answered to the same bytes; the edge is
// stricter where RFC 9112 lets a server choose, because a lenient parser in front of a strict one is
// how smuggling happens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get, rawCases, send, useStage, type RawCase } from './harness.js';
import { waitFor } from '../helpers/wait.js';

const stage = useStage();

/** A request hidden in a body: the origin must never receive it. */
const SMUGGLED = get('/SMUGGLED');

function post(path: string, fields: string[], body: string, version = 'HTTP/1.1'): string {
  return [`POST ${path} ${version}`, 'Host: a.test', ...fields, '', body].join('\r\n');
}

const refused = (path: string): RawCase['expect'] => ({ status: 400, closed: true, neverForwarded: [path, '/SMUGGLED'] });

const framing: RawCase[] = [
  { name: 'CL.TE: Content-Length and Transfer-Encoding together', guards: 'RFC 9112 §6.3 ¶3 (request smuggling, CL.TE)', bytes: post('/p/clte', ['Content-Length: 6', 'Transfer-Encoding: chunked'], '0\r\n\r\nG'), expect: refused('/p/clte'), nginx: '400' },
  { name: 'TE.CL: a smuggled request inside the chunk the back end would not read', guards: 'RFC 9112 §6.3 ¶3 (request smuggling, TE.CL)', bytes: post('/p/tecl', ['Transfer-Encoding: chunked', 'Content-Length: 4'], `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`), expect: refused('/p/tecl'), nginx: '400' },
  { name: 'CL.TE on a GET', guards: 'RFC 9112 §6.3 ¶3 (request smuggling, CL.TE)', bytes: get('/p/getclte', 'a.test', ['Content-Length: 4', 'Transfer-Encoding: chunked']) + '0\r\n\r\n', expect: refused('/p/getclte'), nginx: '400' },
  { name: 'TE.TE: a second Transfer-Encoding field with an unknown coding', guards: 'RFC 9112 §6.3 ¶4 (request smuggling, TE.TE obfuscation)', bytes: post('/p/tete', ['Transfer-Encoding: chunked', 'Transfer-Encoding: x'], '0\r\n\r\n'), expect: refused('/p/tete'), nginx: '400' },
  { name: 'Transfer-Encoding: xchunked', guards: 'RFC 9112 §6.3 ¶4 (TE.TE obfuscation)', bytes: post('/p/xch', ['Transfer-Encoding: xchunked'], '0\r\n\r\n'), expect: refused('/p/xch'), nginx: '501' },
  { name: 'chunked not the final coding', guards: 'RFC 9112 §6.3 ¶4 (a request must end in chunked, else 400)', bytes: post('/p/chid', ['Transfer-Encoding: chunked, identity'], '0\r\n\r\n'), expect: refused('/p/chid'), nginx: '501' },
  { name: 'Transfer-Encoding: identity with a Content-Length', guards: 'RFC 9112 §6.3 ¶4 (TE.TE obfuscation)', bytes: post('/p/teid', ['Transfer-Encoding: identity', 'Content-Length: 3'], 'abc'), expect: refused('/p/teid'), nginx: '501' },
  { name: 'whitespace between the field name and the colon', guards: 'RFC 9112 §5.1 (MUST 400: "Transfer-Encoding : chunked")', bytes: post('/p/tesp', ['Transfer-Encoding : chunked'], '0\r\n\r\n'), expect: refused('/p/tesp'), nginx: '400' },
  { name: 'a vertical tab before the coding', guards: 'RFC 9110 §5.6.3 (only SP and HTAB are whitespace; TE obfuscation)', bytes: post('/p/vt', ['Transfer-Encoding:\x0bchunked'], '0\r\n\r\n'), expect: refused('/p/vt'), nginx: '501' },
  { name: 'Transfer-Encoding folded onto a continuation line', guards: 'RFC 9112 §5.2 (obs-fold: reject, request smuggling)', bytes: post('/p/tefold', ['Transfer-Encoding:', ' chunked'], '0\r\n\r\n'), expect: refused('/p/tefold'), nginx: '400' },
  { name: 'an obs-fold continuation in any field', guards: 'RFC 9112 §5.2 (obs-fold)', bytes: get('/p/fold', 'a.test', ['X-A: one', ' two']), expect: refused('/p/fold'), nginx: '400' },
  { name: 'whitespace before the first field line', guards: 'RFC 9112 §2.2 (MUST reject or ignore that line; smuggling)', bytes: 'POST /p/lead HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a.test\r\n\r\n0\r\n\r\n', expect: refused('/p/lead'), nginx: '400' },
  { name: 'Content-Length twice with different values', guards: 'RFC 9112 §6.3 ¶5 (MUST 400; request smuggling, CL.CL)', bytes: post('/p/cldd', ['Content-Length: 3', 'Content-Length: 5'], 'abcde'), expect: refused('/p/cldd'), nginx: '400' },
  { name: 'Content-Length twice with the same value', guards: 'RFC 9112 §6.3 ¶5 (CL.CL; refusing is allowed, and safest)', bytes: post('/p/clds', ['Content-Length: 3', 'Content-Length: 3'], 'abc'), expect: refused('/p/clds'), nginx: '400' },
  { name: 'Content-Length as a list', guards: 'RFC 9110 §8.6 (CL.CL)', bytes: post('/p/cll', ['Content-Length: 3, 3'], 'abc'), expect: refused('/p/cll'), nginx: '400' },
  { name: 'Content-Length with a plus sign', guards: 'RFC 9110 §8.6 (1*DIGIT)', bytes: post('/p/clp', ['Content-Length: +3'], 'abc'), expect: refused('/p/clp'), nginx: '400' },
  { name: 'negative Content-Length', guards: 'RFC 9110 §8.6 (1*DIGIT)', bytes: post('/p/cln', ['Content-Length: -1'], 'abc'), expect: refused('/p/cln'), nginx: '400' },
  { name: 'hexadecimal Content-Length', guards: 'RFC 9110 §8.6 (1*DIGIT)', bytes: post('/p/clh', ['Content-Length: 0x3'], 'abc'), expect: refused('/p/clh'), nginx: '400' },
  { name: 'Content-Length past 2^64', guards: 'RFC 9110 §8.6 (integer overflow)', bytes: post('/p/clhuge', ['Content-Length: 99999999999999999999999'], 'abc'), expect: refused('/p/clhuge'), nginx: '400' },
  { name: 'empty Content-Length', guards: 'RFC 9110 §8.6', bytes: post('/p/cle', ['Content-Length: '], 'abc'), expect: refused('/p/cle'), nginx: '400' },
];

const chunks: RawCase[] = [
  { name: 'a chunk-size line ended by a bare LF', guards: 'RFC 9112 §7.1 ("funky chunks" smuggling)', bytes: post('/p/chlf', ['Transfer-Encoding: chunked'], '3\nabc\r\n0\r\n\r\n'), expect: refused('/p/chlf'), nginx: '200 (accepted)' },
  { name: 'a chunk size with a 0x prefix', guards: 'RFC 9112 §7.1 (chunk-size = 1*HEXDIG)', bytes: post('/p/ch0x', ['Transfer-Encoding: chunked'], '0x3\r\nabc\r\n0\r\n\r\n'), expect: refused('/p/ch0x'), nginx: '400' },
  { name: 'a chunk size after a space', guards: 'RFC 9112 §7.1 (chunk-size = 1*HEXDIG)', bytes: post('/p/chsp', ['Transfer-Encoding: chunked'], ' 3\r\nabc\r\n0\r\n\r\n'), expect: refused('/p/chsp'), nginx: '400' },
  { name: 'a chunk size followed by a space', guards: 'RFC 9112 §7.1 ("funky chunks")', bytes: post('/p/chtsp', ['Transfer-Encoding: chunked'], '3 \r\nabc\r\n0\r\n\r\n'), expect: refused('/p/chtsp'), nginx: '200 (accepted)' },
  { name: 'a negative chunk size', guards: 'RFC 9112 §7.1', bytes: post('/p/chneg', ['Transfer-Encoding: chunked'], '-3\r\nabc\r\n0\r\n\r\n'), expect: refused('/p/chneg'), nginx: '400' },
  { name: 'a chunk size past 2^64', guards: 'RFC 9112 §7.1 (integer overflow)', bytes: post('/p/chovf', ['Transfer-Encoding: chunked'], 'ffffffffffffffffff\r\nabc\r\n0\r\n\r\n'), expect: refused('/p/chovf'), nginx: '400' },
  { name: 'a chunk extension with a bare LF', guards: 'RFC 9112 §7.1.1 ("funky chunks" TERM.EXT smuggling)', bytes: post('/p/chextlf', ['Transfer-Encoding: chunked'], '3;x\nabc\r\n0\r\n\r\n'), expect: refused('/p/chextlf'), nginx: '200 (accepted)' },
  { name: '70 KB of chunk extensions', guards: 'RFC 9112 §7.1.1 (CVE-2024-22019: unbounded chunk extensions)', bytes: post('/p/chexth', ['Transfer-Encoding: chunked'], `3;${'a'.repeat(70_000)}\r\nabc\r\n0\r\n\r\n`), expect: refused('/p/chexth'), nginx: '200 (accepted)' },
  { name: 'a chunk extension is allowed and the body arrives whole', guards: 'RFC 9112 §7.1.1', bytes: post('/p/chext', ['Transfer-Encoding: chunked'], '3;name=value\r\nabc\r\n0\r\n\r\n'), expect: { status: 200, closed: false, originSaw: 'POST /p/chext', body: /^body: 3 bytes$/m }, nginx: '200' },
  { name: 'a trailer section is read and not forwarded as a field', guards: 'RFC 9112 §7.1.2', bytes: post('/p/trailer', ['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\nX-Trailer: v\r\n\r\n'), expect: { status: 200, closed: false, originSaw: 'POST /p/trailer', bodyNot: /x-trailer/i }, nginx: '200' },
  { name: 'Transfer-Encoding: CHUNKED (codings are case-insensitive)', guards: 'RFC 9112 §7', bytes: post('/p/tecase', ['Transfer-Encoding: CHUNKED'], '3\r\nabc\r\n0\r\n\r\n'), expect: { status: 200, closed: false, originSaw: 'POST /p/tecase', body: /^body: 3 bytes$/m }, nginx: '200' },
  { name: 'a tab before the coding is optional whitespace', guards: 'RFC 9110 §5.6.3 (OWS)', bytes: post('/p/tetab', ['Transfer-Encoding:\tchunked'], '3\r\nabc\r\n0\r\n\r\n'), expect: { status: 200, closed: false, body: /^body: 3 bytes$/m }, nginx: '501' },
  { name: 'Content-Length followed by whitespace', guards: 'RFC 9110 §5.5 (OWS around field values)', bytes: post('/p/clw', ['Content-Length: 3 '], 'abc'), expect: { status: 200, closed: false, body: /^body: 3 bytes$/m }, nginx: '200' },
  { name: 'HTTP/1.0 with Transfer-Encoding: answered, then the connection is closed', guards: 'RFC 9112 §6.1 (faulty framing in HTTP/1.0: close after processing)', bytes: post('/p/te10', ['Transfer-Encoding: chunked'], '0\r\n\r\n', 'HTTP/1.0'), expect: { closed: true, neverForwarded: '/SMUGGLED' }, nginx: '400' },
  { name: 'a GET whose Content-Length body is a request', guards: 'RFC 9112 §6.3 (a body is never a request; fat GET smuggling)', bytes: get('/p/fat', 'a.test', [`Content-Length: ${SMUGGLED.length}`]) + SMUGGLED, expect: { status: 200, closed: false, answers: 1, neverForwarded: '/SMUGGLED' }, nginx: '200' },
  { name: 'a GET whose chunked body is a request', guards: 'RFC 9112 §6.3 (fat GET smuggling)', bytes: get('/p/fatch', 'a.test', ['Transfer-Encoding: chunked']) + `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`, expect: { status: 200, closed: false, answers: 1, neverForwarded: '/SMUGGLED' }, nginx: '200' },
];

const lines: RawCase[] = [
  { name: 'bare LF line endings', guards: 'RFC 9112 §2.2 (a recipient MAY accept; refusing closes a smuggling door)', bytes: 'GET /p/lf HTTP/1.1\nHost: a.test\n\n', expect: refused('/p/lf'), nginx: '200 (accepted)' },
  { name: 'a bare LF inside the field section', guards: 'RFC 9112 §2.2', bytes: 'GET /p/lf2 HTTP/1.1\r\nHost: a.test\nX-A: b\r\n\r\n', expect: refused('/p/lf2'), nginx: '200 (accepted)' },
  { name: 'a bare CR inside a field value', guards: 'RFC 9112 §2.2 (MUST reject or replace a bare CR)', bytes: get('/p/cr', 'a.test', ['X-A: b\rX-B: c']), expect: refused('/p/cr'), nginx: '400' },
  { name: 'CR-only line endings', guards: 'RFC 9112 §2.2', bytes: 'GET /p/cronly HTTP/1.1\rHost: a.test\r\r', expect: refused('/p/cronly'), nginx: '400' },
  { name: 'empty lines before the request line are skipped', guards: 'RFC 9112 §2.2 (SHOULD ignore at least one empty line)', bytes: '\r\n\r\n' + get('/p/leadcrlf'), expect: { status: 200, closed: false, originSaw: 'GET /p/leadcrlf' }, nginx: '200' },
  { name: 'a lower-case method', guards: 'RFC 9110 §9.1 (methods are case-sensitive)', bytes: 'get /p/lower HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: refused('/p/lower'), nginx: '400' },
  { name: 'a method that is not a token', guards: 'RFC 9110 §9.1 (method = token)', bytes: 'G@T /p/inv HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: refused('/p/inv'), nginx: '400' },
  { name: 'an unknown method', guards: 'RFC 9110 §9.1 (501/400 for unknown methods)', bytes: 'FOO /p/foo HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: refused('/p/foo'), nginx: '400' },
  { name: "Varnish's BAN method", guards: 'cache invalidation by method (cache abuse)', bytes: 'BAN /p/ban HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: refused('/p/ban'), nginx: '400' },
  { name: 'PURGE is not a purge of this cache: it is passed on like any unsafe method', guards: 'RFC 9111 §4.4 (cache abuse: purges go through the admin API only)', bytes: 'PURGE /p/purge HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: { status: 200, originSaw: 'PURGE /p/purge' }, nginx: '200 (passed on)' },
  { name: 'two spaces between method and target', guards: 'RFC 9112 §3 (MAY parse on whitespace boundaries)', bytes: 'GET  /p/2sp HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: { status: 200, originSaw: 'GET /p/2sp' }, nginx: '200' },
  { name: 'a tab between method and target', guards: 'RFC 9112 §3', bytes: 'GET\t/p/tab HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: refused('/p/tab'), nginx: '400' },
  { name: 'an HTTP/0.9 request line (no version)', guards: 'RFC 9112 §2.3 (HTTP/0.9 is not spoken; issue 12 §4)', bytes: 'GET /p/09\r\n\r\n', expect: { status: 505, closed: true, neverForwarded: '/p/09' }, nginx: 'forwarded as HTTP/0.9' },
  { name: 'a token after the version', guards: 'RFC 9112 §3 (request-line grammar)', bytes: 'GET /p/extra HTTP/1.1 x\r\nHost: a.test\r\n\r\n', expect: refused('/p/extra'), nginx: '400' },
  { name: 'a space after the version', guards: 'RFC 9112 §3 (request-line grammar)', bytes: 'GET /p/sp HTTP/1.1 \r\nHost: a.test\r\n\r\n', expect: refused('/p/sp'), nginx: '200 (accepted)' },
  { name: 'a lower-case protocol name', guards: 'RFC 9112 §2.3 (HTTP-name is case-sensitive)', bytes: 'GET /p/vl http/1.1\r\nHost: a.test\r\n\r\n', expect: refused('/p/vl'), nginx: '400' },
  { name: 'HTTP/1.10', guards: 'RFC 9112 §2.3 (HTTP-version = DIGIT "." DIGIT)', bytes: 'GET /p/v110 HTTP/1.10\r\nHost: a.test\r\n\r\n', expect: refused('/p/v110'), nginx: '200 (as 1.1)' },
  { name: 'HTTP/01.1', guards: 'RFC 9112 §2.3 (HTTP-version = DIGIT "." DIGIT)', bytes: 'GET /p/v011 HTTP/01.1\r\nHost: a.test\r\n\r\n', expect: refused('/p/v011'), nginx: '400' },
  ...['2.0', '1.2', '0.9', '3.0', '9.9'].map(
    (v): RawCase => ({ name: `HTTP/${v} on the HTTP/1 listener`, guards: 'RFC 9110 §15.6.6 (505; issue 12 §4)', bytes: `GET /p/v${v} HTTP/${v}\r\nHost: a.test\r\n\r\n`, expect: { status: 505, closed: true, neverForwarded: `/p/v${v}` }, nginx: v === '1.2' ? '200 (as 1.1)' : v === '0.9' ? '400' : '505' }),
  ),
  { name: 'the HTTP/2 connection preface on the HTTP/1 listener', guards: 'RFC 9113 §3.3 (no cleartext HTTP/2 here)', bytes: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', expect: { status: [400, 505], closed: true }, nginx: '400' },
  { name: 'NUL in the request-target', guards: 'RFC 9112 §3.2 (NUL truncation)', bytes: 'GET /p/nul\x00 HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: refused('/p/nul'), nginx: '400' },
  { name: 'NUL in a field value', guards: 'RFC 9110 §5.5 (MUST reject or replace NUL)', bytes: get('/p/nulv', 'a.test', ['X-A: a\x00b']), expect: refused('/p/nulv'), nginx: '400' },
  { name: 'NUL in a field name', guards: 'RFC 9110 §5.1 (field-name = token)', bytes: get('/p/nuln', 'a.test', ['X\x00A: b']), expect: refused('/p/nuln'), nginx: '400' },
  { name: 'DEL in the request-target', guards: 'RFC 9112 §3.2 (CTL in target)', bytes: 'GET /p/del\x7f HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: refused('/p/del'), nginx: '400' },
  { name: 'raw UTF-8 bytes in the request-target', guards: 'RFC 9112 §3.2 / RFC 3986 §2 (targets are ASCII)', bytes: 'GET /p/caf\xc3\xa9 HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: refused('/p/caf'), nginx: '400' },
  { name: 'a space inside a field name', guards: 'RFC 9110 §5.1 (field-name = token)', bytes: get('/p/spn', 'a.test', ['Bad Header: x']), expect: refused('/p/spn'), nginx: '400' },
  { name: 'parentheses in a field name', guards: 'RFC 9110 §5.1 (field-name = token)', bytes: get('/p/parn', 'a.test', ['X(Y): x']), expect: refused('/p/parn'), nginx: '200 (field ignored)' },
  { name: 'an empty field name', guards: 'RFC 9110 §5.1', bytes: get('/p/emn', 'a.test', [': x']), expect: refused('/p/emn'), nginx: '400' },
  { name: 'a field line without a colon', guards: 'RFC 9112 §5', bytes: get('/p/noc', 'a.test', ['JustText']), expect: refused('/p/noc'), nginx: '200 (line ignored)' },
  { name: 'Host with a space before the colon', guards: 'RFC 9112 §5.1 (MUST 400)', bytes: 'GET /p/hsc HTTP/1.1\r\nHost : a.test\r\n\r\n', expect: refused('/p/hsc'), nginx: '400' },
  { name: 'two Host fields', guards: 'RFC 9112 §3.2 (MUST 400 for more than one Host)', bytes: get('/p/twoh', 'a.test', ['Host: b.test']), expect: { status: 400, neverForwarded: '/p/twoh' }, nginx: '400' },
];

const connection: RawCase[] = [
  { name: 'two pipelined requests get two answers, in order', guards: 'RFC 9112 §9.3.2 (pipelining)', bytes: get('/p/pipe1') + get('/p/pipe2'), expect: { status: 200, answers: 2, closed: false, originSaw: 'GET /p/pipe1' }, nginx: 'same' },
  { name: 'a request then garbage: the request is answered first, then 400, then close', guards: 'RFC 9112 §9.3.2 (response order; a refusal never inside another answer)', bytes: get('/p/pipeg') + 'GARBAGE\r\n\r\n', expect: { status: 200, answers: 2, closed: true, originSaw: 'GET /p/pipeg' }, nginx: 'same' },
  { name: 'CONNECT: no tunnel, nothing forwarded', guards: 'RFC 9110 §9.3.6 (open proxy abuse)', bytes: 'CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n', expect: { closed: true, neverForwarded: ['a.test:443', '/'] }, nginx: '400' },
  { name: 'OPTIONS * is not forwarded', guards: 'RFC 9112 §3.2.4 (asterisk-form)', bytes: 'OPTIONS * HTTP/1.1\r\nHost: a.test\r\n\r\n', expect: { status: 400, neverForwarded: '*' }, nginx: '400' },
  { name: 'Upgrade: h2c is not taken up; the origin sees no Upgrade or HTTP2-Settings', guards: 'RFC 9110 §7.8 / RFC 9113 §3.2 (h2c smuggling)', bytes: get('/p/h2c', 'a.test', ['Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA']), options: { endAfter: 1 }, expect: { status: 200, originSaw: 'GET /p/h2c', bodyNot: /^(upgrade|http2-settings):/im }, nginx: '200' },
  { name: 'Upgrade: websocket is not taken up; the origin sees no Upgrade', guards: 'RFC 9110 §7.8 (WebSocket smuggling through a proxy)', bytes: get('/p/ws', 'a.test', ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13']), options: { endAfter: 1 }, expect: { status: 200, originSaw: 'GET /p/ws', bodyNot: /^upgrade:/im }, nginx: '200' },
  { name: 'Expect: 100-continue is answered by the edge and not forwarded', guards: 'RFC 9110 §10.1.1', bytes: get('/p/expect', 'a.test', ['Expect: 100-continue']), expect: { status: 200, originSaw: 'GET /p/expect', bodyNot: /^expect:/im }, nginx: '200' },
  { name: 'an unknown expectation gets 417', guards: 'RFC 9110 §10.1.1 (MAY 417)', bytes: get('/p/expectb', 'a.test', ['Expect: 200-ok']), expect: { status: 417, neverForwarded: '/p/expectb' }, nginx: '200 (ignored)' },
];

rawCases(stage, [...framing, ...chunks, ...lines, ...connection]);

test('RFC 9112 §7.1 (a body cut by a framing error) — a chunk longer than its size: 400, and the origin sees its copy of the request cut off, never complete', async () => {
  const s = stage();
  const ex = await send(s.port, post('/p/chlong', ['Transfer-Encoding: chunked'], '3\r\nabcdef\r\n0\r\n\r\n'));
  assert.equal(ex.first?.status, 400);
  assert.equal(ex.sentinel, false);
  // The edge streams request bodies (nginx buffers them first): the origin may have seen the start.
  await waitFor(() => s.bodies('/p/chlong').every((b) => b.closed), 'the origin to see the request end');
  assert.deepEqual(s.bodies('/p/chlong').filter((b) => b.complete).map((b) => b.body.toString()), [], 'no complete request reached the origin');
});
