// The access log: one JSON line per request, written in batches, with the fields an operator greps
// for (what Caddy's and nginx's JSON logs carry) — and nothing a client sent can break a line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigin, respond } from './helpers/origin.js';
import { startEdge } from './helpers/edge.js';
import { get } from './helpers/client.js';

test('one JSON line per request, with the fields operators grep for', async (t) => {
  const origin = await startOrigin(respond('hello world', { 'cache-control': 'max-age=60' }));
  const file = join(await mkdtemp(join(tmpdir(), 'blotcdn-log-')), 'access.log');
  const edge = await startEdge({
    log: { access: file },
    originGroups: { g: { members: [{ name: 'app', url: origin.url }] } },
    sites: [{ hosts: ['log.test'], originGroup: 'g' }],
  });
  t.after(() => origin.close());
  await get(`${edge.url}/page?x=1`, { host: 'log.test', 'user-agent': 'Feedly/1.0 "quoted"\\', referer: 'https://ref.example/' });
  await get(`${edge.url}/page?x=1`, { host: 'log.test' });
  await get(`${edge.url}/`, { host: 'unknown.test' });
  await edge.stop(); // flushes the log

  const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  const [miss, hit, refused] = lines;
  assert.equal(miss.host, 'log.test');
  assert.equal(miss.uri, '/page?x=1');
  assert.equal(miss.method, 'GET');
  assert.equal(miss.scheme, 'http');
  assert.equal(miss.proto, 'HTTP/1.1');
  assert.equal(miss.client, '127.0.0.1');
  assert.match(miss.id, /^[0-9a-f-]{36}$/);
  assert.notEqual(miss.id, hit.id);
  assert.equal(miss.ua, 'Feedly/1.0 "quoted"\\', 'a client-controlled value is escaped, not a broken line');
  assert.equal(miss.referer, 'https://ref.example/');
  assert.equal(miss.tls, null);
  assert.equal(miss.sni, null);
  assert.equal(miss.status, 200);
  assert.equal(miss.bytes, 'hello world'.length);
  assert.equal(miss.cache, 'fwd=miss; stored');
  assert.equal(miss.outcome, 'miss');
  assert.equal(miss.member, 'app');
  assert.ok(typeof miss.ms === 'number' && miss.ms >= 0);
  assert.ok(typeof miss.origin_ms === 'number' && miss.origin_ms <= miss.ms);
  assert.ok(!Number.isNaN(Date.parse(miss.time)));
  assert.match(hit.cache, /^hit; ttl=\d+$/);
  assert.equal(hit.outcome, 'hit');
  assert.equal(hit.origin_ms, null, 'a hit never waited on the origin');
  assert.equal(refused.status, 421);
  assert.equal(refused.error, 'unknown_host');
});
