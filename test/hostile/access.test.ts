// Hostile: who may change what the cache holds. The admin API with a token (missing, wrong, a prefix,
// in the URL, in a cookie, the platform's purge secret where it does not belong), the dashboard's
// cookie and headers, the public listener (PURGE and BAN methods, the admin's routes and secret sent
// to it), warming as SSRF, and whose word about the client's address is believed (X-Forwarded-For,
// PROXY headers) when rate limits allow some addresses, and the admin guard against web pages (DNS
// rebinding, cross-site Origin, text/plain and form bodies, Sec-Fetch-Site).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { get, reflect, send, useStage, type Exchange, type Stage } from './harness.js';

const TOKEN = 'hostile-admin-token-0123';
const PURGE_TOKEN = 'hostile-purge-secret-0123';

/** The reflecting origin, except: unsafe methods on /acc/method-* are 405, /acc/locate answers with a Location. */
function origin(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  if (url.startsWith('/acc/method-') && req.method !== 'GET' && req.method !== 'HEAD') {
    req.resume();
    res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
    return void res.end();
  }
  if (url.startsWith('/acc/locate?to=')) {
    req.resume();
    res.writeHead(201, { location: decodeURIComponent(url.slice('/acc/locate?to='.length)), 'content-length': 0 });
    return void res.end();
  }
  reflect(req, res);
}

const withToken = useStage({
  handler: origin,
  config: (url) => ({
    admin: { listen: '127.0.0.1:0', token: TOKEN, purgeToken: PURGE_TOKEN },
    originGroups: { main: { members: [{ url }] } },
    sites: [{ hosts: ['*'], originGroup: 'main' }],
  }),
});
// Three requests per client address, then 429 (the bucket refills once an hour); 10.9.9.9 never limited.
const rateLimit = { perClient: { rate: '1/h', burst: 3 }, allow: ['10.9.9.9'] };
const limited = useStage({
  config: (url) => ({
    originGroups: { main: { members: [{ url }] } },
    sites: [{ hosts: ['*'], originGroup: 'main', rateLimit }],
  }),
});
const noToken = useStage({
  config: (url) => ({
    admin: { listen: '127.0.0.1:0' },
    originGroups: { main: { members: [{ url }] } },
    sites: [{ hosts: ['*'], originGroup: 'main' }],
  }),
});
// 127.0.0.1 is a trusted proxy here: its X-Forwarded-For and PROXY headers are believed.
const behindProxy = useStage({
  config: (url) => ({
    trustedProxies: ['127.0.0.1'],
    originGroups: { main: { members: [{ url }] } },
    sites: [{ hosts: ['*'], originGroup: 'main', rateLimit }],
  }),
});

const adminPort = (s: Stage) => s.edge.edge.admin!.address!.port;

/** One request to the admin listener on a connection of its own (it closes after answering). */
async function admin(s: Stage, method: string, path: string, fields: string[] = [], body = ''): Promise<Exchange> {
  const port = adminPort(s);
  const head = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', ...fields];
  if (body !== '' || method === 'POST') head.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return send(port, `${head.join('\r\n')}\r\n\r\n${body}`, { sentinel: false });
}

const bearer = (t: string) => `Authorization: Bearer ${t}`;
const json = 'Content-Type: application/json';
const status = (ex: Exchange) => ex.first?.status;
/** Refused for want of the right credentials: 401 (no or wrong token), or 403 where a guard says so first. */
const refusedStatus = (ex: Exchange) => assert.ok([401, 403].includes(status(ex)!), `answered ${status(ex)}: ${ex.raw.toString('latin1').slice(0, 200)}`);

/** Stores `path` on a.test through the public listener; returns a check that it is still the same hit. */
async function cached(s: Stage, path: string): Promise<() => Promise<void>> {
  const first = await send(s.port, get(path));
  assert.match(first.first?.headers['cache-status'] ?? '', /stored/, 'stored to begin with');
  return async () => {
    const again = await send(s.port, get(path));
    assert.match(again.first?.headers['cache-status'] ?? '', /^blotcdn; hit/, `${path} is still cached`);
    assert.equal(s.seen(path).filter((r) => r.url === path && r.method === 'GET').length, 1, 'the origin was asked for it once');
  };
}

// ---- the admin API with a token ----

const refusals: [string, string, string[]][] = [
  ['no Authorization', 'OWASP API2 (broken authentication)', []],
  ['a wrong token of the same length', 'OWASP API2 (broken authentication)', [bearer(TOKEN.replace(/.$/, 'X'))]],
  ['a prefix of the token', 'CWE-1254 (incomplete comparison)', [bearer(TOKEN.slice(0, 8))]],
  ['the token followed by more', 'CWE-1254 (incomplete comparison)', [bearer(`${TOKEN}x`)]],
  ['an empty Bearer', 'OWASP API2 (broken authentication)', ['Authorization: Bearer ']],
  ['the token as Basic credentials', 'RFC 6750 §2.1 (the Bearer scheme only)', [`Authorization: Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`]],
  ['the platform purge secret as a Bearer token', 'least privilege (two secrets, two powers)', [bearer(PURGE_TOKEN)]],
  ['the platform purge secret in X-Blot-Purge-Token', 'least privilege (the purge secret opens GET /purge only)', [`X-Blot-Purge-Token: ${PURGE_TOKEN}`]],
  ['a wrong dashboard cookie', 'OWASP API2 (broken authentication)', ['Cookie: blotcdn_admin=not-the-token']],
];
for (const [name, guards, fields] of refusals) {
  test(`${guards} — GET /stats with ${name} is 401`, async () => {
    const ex = await admin(withToken(), 'GET', '/stats', fields);
    assert.equal(status(ex), 401, ex.raw.toString('latin1').slice(0, 300));
    assert.equal(ex.first?.headers['www-authenticate'], 'Bearer');
    assert.doesNotMatch(ex.first?.text ?? '', /hitRatio/);
  });
}

test('RFC 6750 §5.3 (tokens in URLs leak into logs) — ?token= and ?access_token= are not credentials', async () => {
  for (const q of [`token=${TOKEN}`, `access_token=${TOKEN}`]) assert.equal(status(await admin(withToken(), 'GET', `/stats?${q}`)), 401, q);
});

test('control — the right token, as Bearer or as the dashboard cookie, is let in', async () => {
  assert.equal(status(await admin(withToken(), 'GET', '/stats', [bearer(TOKEN)])), 200);
  assert.equal(status(await admin(withToken(), 'GET', '/stats', [`Cookie: other=1; blotcdn_admin=${encodeURIComponent(TOKEN)}`])), 200);
});

test('CSRF (cross-site text/plain POST /purge, no credentials) — refused, and the object stays cached', async () => {
  const s = withToken();
  const still = await cached(s, '/acc/csrf');
  const ex = await admin(s, 'POST', '/purge', ['Content-Type: text/plain', 'Origin: http://attacker.example'], '{"url":"http://a.test/acc/csrf"}');
  refusedStatus(ex);
  await still();
});

test('OWASP API2 — POST /purge and POST /warm without the token do nothing', async () => {
  const s = withToken();
  const still = await cached(s, '/acc/nopurge');
  assert.equal(status(await admin(s, 'POST', '/purge', [json], '{"host":"a.test"}')), 401);
  assert.equal(status(await admin(s, 'POST', '/warm', [json], '{"urls":["http://a.test/acc/warm-unauth"]}')), 401);
  await still();
  assert.deepEqual(s.seen('/acc/warm-unauth'), [], 'nothing was warmed');
});

test("the platform's GET /purge with a wrong X-Blot-Purge-Token is refused and purges nothing", async () => {
  const s = withToken();
  const still = await cached(s, '/acc/platform');
  const ex = await admin(s, 'GET', '/purge?host=a.test', ['X-Blot-Purge-Token: wrong-secret-0123']);
  refusedStatus(ex);
  await still();
});

test('control — the right X-Blot-Purge-Token purges, so the refusals above are not an accident', async () => {
  const s = withToken();
  await cached(s, '/acc/platform-ok');
  const ex = await admin(s, 'GET', '/purge?host=a.test', [`X-Blot-Purge-Token: ${PURGE_TOKEN}`]);
  assert.equal(status(ex), 200);
  assert.match(ex.first!.text, /^a\.test: [1-9]\d*$/m);
  const after = await send(s.port, get('/acc/platform-ok'));
  assert.match(after.first?.headers['cache-status'] ?? '', /fwd=miss/);
});

test('memory exhaustion (admin body) — a 2 MiB POST /purge is 413, not parsed', async () => {
  const ex = await admin(withToken(), 'POST', '/purge', [bearer(TOKEN), json], `{"url":"${'a'.repeat(2 * 1024 * 1024)}"}`);
  assert.equal(status(ex), 413);
});

test('SSRF through warming — a URL naming an internal address is fetched from the site’s origin group, never from that address', async () => {
  const s = withToken();
  // An "internal service" on loopback: warming its URL must not make the edge connect to it.
  let connections = 0;
  const internal = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
  try {
    const port = (internal.address() as { port: number }).port;
    const body = JSON.stringify({ urls: [`http://127.0.0.1:${port}/acc/internal-secret`] });
    const ex = await admin(s, 'POST', '/warm', [bearer(TOKEN), json], body);
    assert.equal(status(ex), 200);
    assert.equal(connections, 0, 'the internal address was never connected to');
    assert.equal(s.seen('/acc/internal-secret').length, 1, 'the configured origin was asked instead');
  } finally {
    await new Promise((resolve) => internal.close(resolve));
  }
});

test('session theft (dashboard cookie) — a wrong token sets no cookie; the right one sets it HttpOnly, SameSite=Strict', async () => {
  const s = withToken();
  const form = 'Content-Type: application/x-www-form-urlencoded';
  const wrong = await admin(s, 'POST', '/login', [form], 'token=nope-nope-nope');
  assert.equal(wrong.first?.headers['set-cookie'], undefined);
  const right = await admin(s, 'POST', '/login', [form], `token=${encodeURIComponent(TOKEN)}`);
  assert.equal(status(right), 303);
  assert.match(right.first?.headers['set-cookie'] ?? '', /^blotcdn_admin=[^;]+; HttpOnly; SameSite=Strict; Path=\/$/);
});

test("clickjacking (the dashboard in another site's frame) — frame-ancestors 'none', nosniff, no-store", async () => {
  const ex = await admin(withToken(), 'GET', '/dashboard', [bearer(TOKEN)]);
  assert.equal(status(ex), 200);
  assert.match(ex.first?.headers['content-security-policy'] ?? '', /frame-ancestors 'none'/);
  assert.equal(ex.first?.headers['x-content-type-options'], 'nosniff');
  assert.equal(ex.first?.headers['cache-control'], 'no-store');
});

test('information exposure — /healthz and /metrics need the token unless publicHealth says otherwise', async () => {
  for (const path of ['/healthz', '/readyz', '/metrics', '/certs', '/origins', '/tasks']) assert.equal(status(await admin(withToken(), 'GET', path)), 401, path);
});

// ---- the admin API without a token (loopback only) ----

test('control — a same-origin JSON POST /purge from the admin listener itself is served', async () => {
  const s = noToken();
  const ex = await admin(s, 'POST', '/purge', [json, `Origin: http://127.0.0.1:${adminPort(s)}`], '{"url":"http://a.test/acc/none"}');
  assert.equal(status(ex), 200);
});

test('DNS rebinding (Host: attacker.example on the admin listener) — refused', async () => {
  const s = noToken();
  const ex = await send(adminPort(s), 'GET /stats HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n', { sentinel: false });
  assert.ok([403, 421].includes(status(ex)!), `answered ${status(ex)}`);
  assert.doesNotMatch(ex.first?.text ?? '', /hitRatio/);
});

const csrf: [string, string, number][] = [
  ['cross-site Origin, JSON body', 'Origin: http://attacker.example', 403],
  ['text/plain body: a simple request with no preflight', 'Content-Type: text/plain', 415],
  ['a form POST', 'Content-Type: application/x-www-form-urlencoded', 415],
];
for (const [what, field, refusal] of csrf) {
  test(`CSRF (${what}) — POST /purge refused; the object stays cached`, async () => {
    const s = noToken();
    const path = `/acc/csrf-${refusal}-${what.length}`;
    const still = await cached(s, path);
    const fields = field.startsWith('Origin') ? [json, field] : [field];
    const ex = await admin(s, 'POST', '/purge', fields, JSON.stringify({ url: `http://a.test${path}` }));
    assert.equal(status(ex), refusal);
    await still();
  });
}

test('CSRF (Sec-Fetch-Site: cross-site without Origin) — refused', async () => {
  const ex = await admin(noToken(), 'POST', '/purge', [json, 'Sec-Fetch-Site: cross-site'], '{"url":"http://a.test/acc/fetch-site"}');
  assert.equal(status(ex), 403);
});

// ---- the public listener never acts for the admin ----

test('unauthenticated purge (the PURGE method, as Varnish and Squid setups take it) — not the edge’s: passed on, and an origin that refuses it leaves the object cached', async () => {
  const s = withToken();
  const still = await cached(s, '/acc/method-purge');
  const ex = await send(s.port, 'PURGE /acc/method-purge HTTP/1.1\r\nHost: a.test\r\n\r\n');
  assert.equal(status(ex), 405, 'the origin’s answer');
  assert.match(ex.first?.headers['cache-status'] ?? '', /fwd=method/);
  await still();
});

test('RFC 9111 §4.4 (control) — an unsafe method the origin answers with success does invalidate the URL', async () => {
  const s = withToken();
  await cached(s, '/acc/post-ok');
  assert.equal(status(await send(s.port, 'POST /acc/post-ok HTTP/1.1\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n')), 200);
  assert.match((await send(s.port, get('/acc/post-ok'))).first?.headers['cache-status'] ?? '', /fwd=miss/);
});

test('RFC 9111 §4.4 (invalidation as denial of service) — a Location naming another host invalidates nothing there', async () => {
  const s = withToken();
  const still = await cached(s, '/acc/other-host');
  const ex = await send(s.port, 'POST /acc/locate?to=http://a.test/acc/other-host HTTP/1.1\r\nHost: evil.test\r\nContent-Length: 0\r\n\r\n');
  assert.equal(ex.first?.headers['location'], 'http://a.test/acc/other-host', 'the origin named the other host');
  await still();
});

test('unauthenticated purge (BAN, a method the HTTP parser does not know) — 400 at the edge, never forwarded', async () => {
  const s = withToken();
  const still = await cached(s, '/acc/method-ban');
  const ex = await send(s.port, 'BAN /acc/method-ban HTTP/1.1\r\nHost: a.test\r\n\r\n');
  assert.equal(status(ex), 400);
  assert.deepEqual(s.seen('/acc/method-ban').map((r) => r.method), ['GET']);
  await still();
});

test('unauthenticated purge (the admin route and secret on the public listener) — the object stays cached', async () => {
  const s = withToken();
  const still = await cached(s, '/acc/public-purge');
  const ex = await send(s.port, get('/purge?host=a.test', 'a.test', [`X-Blot-Purge-Token: ${PURGE_TOKEN}`, bearer(TOKEN)]));
  assert.doesNotMatch(ex.first?.text ?? '', /^a\.test: \d+$/m, 'the origin answered, not the purge route');
  await still();
});

test('information exposure — /stats on the public listener is whatever the origin has there, never the admin figures', async () => {
  const ex = await send(withToken().port, get('/stats', 'a.test', [bearer(TOKEN)]));
  assert.match(ex.first!.text, /^GET \/stats$/m, 'the reflecting origin answered');
  assert.doesNotMatch(ex.first!.text, /hitRatio|"memory"/);
});

// ---- whose word about the client's address is believed ----

/**
 * Sends `n` requests for new URLs with the given fields (and `before` ahead of each), each on its
 * own connection and without the sentinel, which would spend a token too; their statuses.
 */
async function burst(s: Stage, prefix: string, n: number, fields: (i: number) => string[], before = ''): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(status(await send(s.port, before + get(`${prefix}${i}`, 'a.test', ['Connection: close', ...fields(i)]), { sentinel: false }))!);
  return out;
}

test('CWE-348 (X-Forwarded-For from an untrusted peer) — an allowed address in XFF does not lift the limit', async () => {
  assert.deepEqual(await burst(limited(), '/acc/xff-allow-', 5, () => ['X-Forwarded-For: 10.9.9.9']), [200, 200, 200, 429, 429]);
});

test('CWE-348 (rotating X-Forwarded-For) — a new made-up address per request is not a new bucket', async () => {
  // The stage's bucket for 127.0.0.1 is empty by now: every request is limited.
  assert.deepEqual(await burst(limited(), '/acc/xff-rotate-', 3, (i) => [`X-Forwarded-For: 10.1.0.${i}`]), [429, 429, 429]);
});

test('control — behind a trusted proxy the same XFF is believed: the allowed address is never limited', async () => {
  assert.deepEqual(await burst(behindProxy(), '/acc/xff-trusted-', 5, () => ['X-Forwarded-For: 10.9.9.9']), [200, 200, 200, 200, 200]);
});

test('CWE-348 (leftmost X-Forwarded-For spoofing) — behind a trusted proxy the address it saw counts, not the one the client wrote first', async () => {
  assert.deepEqual(await burst(behindProxy(), '/acc/xff-left-', 5, () => ['X-Forwarded-For: 10.9.9.9, 10.2.2.2']), [200, 200, 200, 429, 429]);
});

test('PROXY protocol v1 from an untrusted peer — not read: the connection is refused as bad HTTP, nothing forwarded', async () => {
  const s = noToken();
  const ex = await send(s.port, ['PROXY TCP4 10.9.9.9 127.0.0.1 5555 80\r\n', get('/acc/proxy-untrusted')]);
  assert.equal(status(ex), 400);
  assert.deepEqual(s.seen('/acc/proxy-untrusted'), []);
});

test('control — PROXY protocol v1 from a trusted peer names the client', async () => {
  const statuses = await burst(behindProxy(), '/acc/proxy-trusted-', 5, () => [], 'PROXY TCP4 10.9.9.9 127.0.0.1 5555 80\r\n');
  assert.deepEqual(statuses, [200, 200, 200, 200, 200], 'the allowed address the PROXY header names is never limited');
});
