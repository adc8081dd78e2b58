// The access log: one JSON line per request, written asynchronously, with the fields an operator
// greps for — host, path, status, bytes, cache status, origin member, timings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigin, respond } from './helpers/origin.js';
import { startEdge } from './helpers/edge.js';
import { get } from './helpers/client.js';

test('one JSON line per request, with host, path, status, bytes, cache status, member and timings', async (t) => {
  const origin = await startOrigin(respond('hello world', { 'cache-control': 'max-age=60' }));
  const file = join(await mkdtemp(join(tmpdir(), 'blotcdn-log-')), 'access.log');
  const edge = await startEdge({
    log: { access: file },
    originGroups: { g: { members: [{ name: 'app', url: origin.url }] } },
    sites: [{ hosts: ['log.test'], originGroup: 'g' }],
  });
  t.after(() => origin.close());
  await get(`${edge.url}/page?x=1`, { host: 'log.test' });
  await get(`${edge.url}/page?x=1`, { host: 'log.test' });
  await get(`${edge.url}/`, { host: 'unknown.test' });
  await edge.stop(); // flushes the log

  const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  const [miss, hit, refused] = lines;
  assert.equal(miss.host, 'log.test');
  assert.equal(miss.path, '/page?x=1');
  assert.equal(miss.status, 200);
  assert.equal(miss.bytes, 'hello world'.length);
  assert.equal(miss.cache, 'fwd=miss; stored');
  assert.equal(miss.outcome, 'miss');
  assert.equal(miss.member, 'app');
  assert.ok(typeof miss.ms === 'number' && miss.ms >= 0);
  assert.ok(typeof miss.originMs === 'number' && miss.originMs <= miss.ms);
  assert.ok(!Number.isNaN(Date.parse(miss.time)));
  assert.match(hit.cache, /^hit; ttl=\d+$/);
  assert.equal(hit.outcome, 'hit');
  assert.equal(hit.originMs, undefined, 'a hit never waited on the origin');
  assert.equal(refused.status, 421);
  assert.equal(refused.error, 'unknown_host');
});
