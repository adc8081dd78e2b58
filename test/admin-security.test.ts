// The admin API cannot be reached from a web page. Without a token it listens on loopback only, but
// a browser is on loopback too: a page on attacker.example (a real Chromium, the name mapped to
// 127.0.0.1) posts a purge as text/plain and as a JSON-shaped text/plain form, and a DNS-rebinding
// page (its own name as the Host) asks for stats. Each must be refused with its code, nothing
// purged; IP addresses, localhost and configured names still work, and bodies must be JSON.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, type TestEdge } from './helpers/edge.js';
import { get, request } from './helpers/client.js';
import { launchChromium } from './helpers/browser.js';

let origin: TestOrigin;
let edge: TestEdge;
let admin: string;
let adminPort: number;

before(async () => {
  origin = await startOrigin((req, res) => {
    const body = `page ${req.url}`;
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  edge = await startEdge({
    // No token: what a single-node install runs with, and what the attack aims at.
    admin: { listen: '127.0.0.1:0', tokenEnv: 'BLOTCDN_TEST_UNSET_TOKEN', allowedHosts: ['edge-1.internal'] },
    originGroups: { app: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'app' }],
  });
  admin = edge.adminUrl!;
  adminPort = edge.edge.admin!.address!.port;
});

after(async () => {
  await edge.stop();
  await origin.close();
});

const code = (r: { text: string }) => (JSON.parse(r.text) as { code: string }).code;

async function cachedVictim(path: string): Promise<void> {
  await get(`${edge.url}${path}`, { host: 'victim.test' });
  assert.match(String((await get(`${edge.url}${path}`, { host: 'victim.test' })).headers['cache-status']), /^blotcdn; hit/);
}

test('a rebinding page (its own name as Host) is refused; IP addresses, localhost and configured names answer', async () => {
  for (const host of [`rebind.attacker.example:${adminPort}`, 'attacker.example', `127.0.0.1.nip.io:${adminPort}`]) {
    const stats = await request(`${admin}/stats`, { headers: { host } });
    assert.equal(stats.status, 403, host);
    assert.equal(code(stats), 'admin_host');
    const dashboard = await request(`${admin}/dashboard`, { headers: { host } });
    assert.equal(dashboard.status, 403, `${host}: not even the dashboard`);
  }
  await cachedVictim('/rebind');
  const purge = await request(`${admin}/purge`, { method: 'POST', headers: { host: `rebind.attacker.example:${adminPort}`, 'content-type': 'application/json' }, body: '{"host":"victim.test"}' });
  assert.equal(purge.status, 403);
  for (const host of [`127.0.0.1:${adminPort}`, `localhost:${adminPort}`, 'ops.localhost', `[::1]:${adminPort}`, `edge-1.internal:${adminPort}`, 'EDGE-1.internal']) {
    assert.equal((await request(`${admin}/stats`, { headers: { host } })).status, 200, host);
  }
  assert.match(String((await get(`${edge.url}/rebind`, { host: 'victim.test' })).headers['cache-status']), /^blotcdn; hit/, 'nothing was purged');
});

test('bodies must be JSON; an Origin other than the listener is refused; the listener itself is not', async () => {
  await cachedVictim('/types');
  const asText = await request(`${admin}/purge`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"url":"http://victim.test/types"}' });
  assert.equal(asText.status, 415);
  assert.equal(code(asText), 'admin_content_type');
  const asForm = await request(`${admin}/warm`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'urls=x' });
  assert.equal(asForm.status, 415);
  const foreign = await request(`${admin}/purge`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://attacker.example' }, body: '{"url":"http://victim.test/types"}' });
  assert.equal(foreign.status, 403);
  assert.equal(code(foreign), 'admin_cross_origin');
  const nullOrigin = await request(`${admin}/stats`, { headers: { origin: 'null' } });
  assert.equal(nullOrigin.status, 403);
  const crossSite = await request(`${admin}/stats`, { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' } });
  assert.equal(crossSite.status, 403, 'an <img> or <script> from another site');
  assert.match(String((await get(`${edge.url}/types`, { host: 'victim.test' })).headers['cache-status']), /^blotcdn; hit/, 'nothing was purged');

  const own = await request(`${admin}/purge`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', origin: `http://127.0.0.1:${adminPort}` }, body: '{"url":"http://victim.test/types"}' });
  assert.equal(own.status, 200, own.text);
  assert.equal(JSON.parse(own.text).purged, 1);
});

test('in Chromium, a page on another site cannot purge through the tokenless admin API', async (t) => {
  await cachedVictim('/csrf');
  const body = JSON.stringify({ url: 'http://victim.test/csrf' });
  // The attacker's page: a no-cors fetch (text/plain needs no preflight), and a text/plain form
  // whose one field makes a JSON-shaped body, posted into a frame whose answer the test reads.
  const attacker: Server = createServer((_req, res) => {
    const name = `${body.slice(0, -1)},"x":"`; // + `=` + the value `"}` → {"url":…,"x":"="}
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><body>
<iframe name="result"></iframe>
<form id="f" method="post" enctype="text/plain" target="result" action="http://127.0.0.1:${adminPort}/purge"><input name='${name}' value='"}'></form>
<script>
fetch('http://127.0.0.1:${adminPort}/purge', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(body)} })
  .finally(() => { document.body.dataset.fetched = 'yes'; document.getElementById('f').submit(); });
</script></body>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => attacker.close(() => resolve())));
  const browser = await launchChromium({ hostMap: ['attacker.example'] });
  t.after(() => browser.close());
  const page = await (await browser.newContext()).newPage();
  await page.goto(`http://attacker.example:${(attacker.address() as AddressInfo).port}/`);
  await page.waitForSelector('body[data-fetched="yes"]');
  const frame = page.frame({ name: 'result' })!;
  await frame.waitForURL(/\/purge$/);
  await frame.waitForLoadState();
  const answer = JSON.parse((await frame.textContent('body')) ?? '') as { code: string; message: string };
  assert.equal(answer.code, 'admin_cross_origin', answer.message);
  assert.match(answer.message, /Origin: "http:\/\/attacker\.example:\d+"/);

  assert.match(String((await get(`${edge.url}/csrf`, { host: 'victim.test' })).headers['cache-status']), /^blotcdn; hit/, 'still cached: nothing was purged');
  const purges = JSON.parse((await request(`${admin}/purges`)).text) as { value: string }[];
  assert.equal(purges.filter((p) => p.value.includes('/csrf')).length, 0, 'no purge was carried out');
});
