// Signals to the primary of `blotcdn start --workers 2` act on the machine: SIGHUP re-reads the
// config, validates it once and reloads every worker (an invalid file: every worker keeps the old
// one, and POST /reload says so); SIGTERM drains every worker's requests in flight and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { request } from './helpers/client.js';
import { waitFor } from './helpers/wait.js';
import { config, setup, untilEvery } from './helpers/workers.js';

test('SIGHUP reloads every worker; an invalid file leaves every worker on the old config; SIGTERM drains every worker and exits 0', async (t) => {
  const { dir, origin, file, machine } = await setup(t);
  const { run, url } = machine;

  await writeFile(file, config(origin.url, dir, ['    responseHeaders: { set: { x-reloaded: "yes" } }']));
  run.child.kill('SIGHUP');
  await run.waitFor(/SIGHUP: config reloaded in every worker/);
  for (const [w, r] of await untilEvery(`${url}/reloaded`)) assert.equal(r.headers['x-reloaded'], 'yes', `${w} runs the new config`);

  await writeFile(file, config(origin.url, dir, ['    deny: [ { path: "/x", status: 999 } ]']));
  run.child.kill('SIGHUP');
  await run.waitFor(/SIGHUP: kept the running config:[\s\S]*deny\[0\]\.status/);
  for (const [w, r] of await untilEvery(`${url}/reloaded`)) assert.equal(r.headers['x-reloaded'], 'yes', `${w} kept the config it had`);
  const refused = await machine.adminPost('/reload', {});
  assert.equal(refused.status, 409, 'POST /reload on the primary refuses the invalid file too');
  assert.match(refused.text, /kept the running config/);

  // Requests in flight finish; then the primary exits 0.
  const inflight = [request(`${url}/slow/1`, { timeoutMs: 60_000 }), request(`${url}/slow/2`, { timeoutMs: 60_000 })];
  await waitFor(() => origin.count('/slow/1') === 1 && origin.count('/slow/2') === 1, 'both slow requests to reach the origin');
  run.child.kill('SIGTERM');
  await run.waitFor(/SIGTERM received/);
  origin.release();
  const done = await Promise.all(inflight);
  for (const r of done) assert.equal(r.status, 200);
  assert.deepEqual(done.map((r) => r.text).sort(), ['a /slow/1 #1', 'a /slow/2 #1']);
  assert.equal((await run.exited).code, 0);
});
