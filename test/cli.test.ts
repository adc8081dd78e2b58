// The `blotcdn` command as an operator uses it: quick mode, check-config with errors that name the
// field, --help everywhere, and a graceful stop on SIGTERM that lets in-flight requests finish.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigin, respond } from './helpers/origin.js';
import { connect } from 'node:net';
import { get, request } from './helpers/client.js';
import { runCli, runCliToEnd } from './helpers/cli.js';
import { Gate } from './helpers/gate.js';
import { waitFor } from './helpers/wait.js';

/** Whether something accepts a TCP connection on 127.0.0.1:port (the connection is closed at once). */
const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

test('quick mode: --origin and --listen run a catch-all edge', async (t) => {
  const origin = await startOrigin(respond('quick', { 'cache-control': 'max-age=60' }));
  const run = runCli(['start', '--workers', '1', '--origin', origin.url, '--listen', '127.0.0.1:0']);
  t.after(async () => {
    run.child.kill('SIGKILL');
    await origin.close();
  });
  const [, url] = await run.waitFor(/listening on (http:\/\/\S+)/);
  assert.equal((await get(`${url}/x`, { host: 'anything.example' })).text, 'quick');
  const hit = await get(`${url}/x`, { host: 'anything.example' });
  assert.match(String(hit.headers['cache-status']), /hit/);
});

test('SIGTERM: in-flight requests finish, listeners close, exit 0', async (t) => {
  // The answer is held at the origin until the edge has stopped listening.
  const gate = new Gate();
  const origin = await startOrigin((req, res) => gate.pass(() => respond('slow answer', { 'cache-control': 'no-store' })(req, res)));
  const run = runCli(['start', '--workers', '1', '--origin', origin.url, '--listen', '127.0.0.1:0']);
  t.after(async () => {
    gate.open();
    run.child.kill('SIGKILL');
    await origin.close();
  });
  const [, url] = await run.waitFor(/listening on (http:\/\/\S+)/);
  const inflight = request(`${url}/slow`);
  await waitFor(() => origin.count('/slow') === 1, 'the request to reach the origin');
  run.child.kill('SIGTERM');
  await run.waitFor(/SIGTERM received/);
  await waitFor(async () => !(await accepts(Number(new URL(url!).port))), 'the listener to close while the request is in flight');
  assert.equal(gate.held, 1, 'the request is still at the origin');
  gate.open();
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal(res.text, 'slow answer');
  const { code } = await run.exited;
  assert.equal(code, 0);
  await assert.rejects(get(`${url}/after`), /ECONNREFUSED/);
});

test('check-config accepts a valid file and refuses a broken one naming the field', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-cfg-'));
  const good = join(dir, 'good.yaml');
  await writeFile(
    good,
    [
      'listen: { http: "127.0.0.1:8080" }',
      'originGroups:',
      '  app: { members: [ { url: "http://127.0.0.1:9000" } ] }',
      'sites:',
      '  - hosts: ["*.blot.im"]',
      '    originGroup: app',
      '    behaviors:',
      '      - { path: "/blog_*/_thumbnails/*", ttl: { min: 1y } }',
    ].join('\n'),
  );
  const ok = await runCliToEnd(['check-config', good]);
  assert.equal(ok.code, 0, ok.output);
  assert.match(ok.output, /ok — 1 site\(s\), 1 host pattern\(s\), 1 behavior\(s\), 1 origin group\(s\)/);

  const bad = join(dir, 'bad.yaml');
  await writeFile(
    bad,
    [
      'listen: { http: "127.0.0.1:8080" }',
      'originGroups:',
      '  app: { members: [ { url: "http://127.0.0.1:9000", timeout: 5 } ] }',
      'sites:',
      '  - hosts: ["*.blot.im"]',
      '    originGroup: ap',
      '    behaviors:',
      '      - { path: "/x/*", ttl: { max: forever } }',
    ].join('\n'),
  );
  const refused = await runCliToEnd(['check-config', bad]);
  assert.equal(refused.code, 1);
  assert.match(refused.output, /originGroups\.app\.members\[0\]: unknown field "timeout"/);
  assert.match(refused.output, /sites\[0\]\.behaviors\[0\]\.ttl\.max: not a duration: "forever"/);

  const missing = await runCliToEnd(['check-config', join(dir, 'nope.yaml')]);
  assert.equal(missing.code, 1);
  assert.match(missing.output, /^blotcdn: no config file at \S+nope\.yaml: give the path of a YAML or JSON config/);
});

test('--help is there for every command', async () => {
  for (const args of [['--help'], ['start', '--help'], ['check-config', '--help'], ['demo', '--help']]) {
    const r = await runCliToEnd(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.output, /Usage: blotcdn/, args.join(' '));
  }
  const none = await runCliToEnd(['start']);
  assert.equal(none.code, 1);
  assert.match(none.output, /--config FILE or at least one --origin URL/);
});

test('blotcdn demo (what npm start runs) serves the demo blog: a miss, then hits', async (t) => {
  const run = runCli(['demo', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
  t.after(() => run.child.kill('SIGKILL'));
  const [, url] = await run.waitFor(/edge:\s+(http:\/\/\S+)/);
  const first = await get(`${url}/`);
  assert.equal(first.status, 200);
  assert.match(first.text, /The Demo Blog/);
  assert.equal(first.headers['cache-status'], 'blotcdn; fwd=miss; stored');
  assert.match(String((await get(`${url}/`)).headers['cache-status']), /^blotcdn; hit/);
  const css = await get(`${url}/assets/style.css`);
  assert.equal(css.headers['cache-control'], 'public, max-age=31536000, immutable');
  await run.waitFor(/origin ← GET \/ 200/);
  await run.waitFor(/edge\s+GET \/ 200 hit/);
  const [, admin] = await run.waitFor(/admin:\s+(http:\/\/\S+)\/dashboard/);
  assert.equal((await get(`${admin}/dashboard`)).status, 200);
});
