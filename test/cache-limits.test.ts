// The cache's limits per key, as a client and an operator see them: past `maxVariants` variants of
// one URL, or past `maxKeyLength`, the response is still served but not stored — Cache-Status says
// why, the admin API counts it — and what was within the limits stays cached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './helpers/origin.js';
import { startEdge, simpleConfig } from './helpers/edge.js';
import { get, request } from './helpers/client.js';

test('variants past maxVariants and keys past maxKeyLength are served, not stored, and counted', async (t) => {
  const origin = await startOrigin((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=300', vary: 'Accept-Language' });
    res.end(`${req.url} in ${req.headers['accept-language']}`);
  });
  const edge = await startEdge({ ...simpleConfig(origin.url), admin: { listen: '127.0.0.1:0' }, cache: { limits: { maxVariants: 2, maxKeyLength: 120 } } });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  const page = (lang: string, path = '/page') => get(`${edge.url}${path}`, { host: 'limits.test', 'accept-language': lang });
  const status = (r: { headers: Record<string, unknown> }) => String(r.headers['cache-status']);

  for (const lang of ['en', 'fr']) assert.match(status(await page(lang)), /stored/, lang);
  const third = await page('de');
  assert.equal(third.text, '/page in de', 'served all the same');
  assert.match(status(third), /detail=too-many-variants/);
  assert.match(status(await page('de')), /fwd=vary-miss/, 'and not stored');
  for (const lang of ['en', 'fr']) assert.match(status(await page(lang)), /^blotcdn; hit/, `${lang} stays cached`);

  const long = `/long?${'q'.repeat(150)}`;
  const first = await page('en', long);
  assert.equal(first.status, 200);
  assert.match(status(first), /detail=key-too-long/);
  assert.doesNotMatch(status(await page('en', long)), /hit/);

  const stats = JSON.parse((await request(`${edge.adminUrl}/stats`)).text) as { notStored: Record<string, number> };
  assert.equal(stats.notStored['too-many-variants'], 2);
  assert.equal(stats.notStored['key-too-long'], 2);
});
