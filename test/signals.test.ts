// Signals and reload on a real `blotcdn start --config` process: SIGHUP (and POST /reload, and
// `blotcdn reload`) applies a new config in place — the cache and connections stay, a request in
// flight finishes on the old config, an invalid file changes nothing; SIGUSR1 reopens the access
// log after rotation and never opens Node's debugger; SIGTERM drains and flushes the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { get, request } from './helpers/client.js';
import { runCli, runCliToEnd, type Running } from './helpers/cli.js';
import { waitFor } from './helpers/wait.js';

const TOKEN = 'signals-admin-token';

function config(origin: string, log: string, extra: string[] = []): string {
  return [
    'listen: { http: "127.0.0.1:0" }',
    'admin: { listen: "127.0.0.1:0" }',
    `log: { access: "${log}" }`,
    'originGroups:',
    `  app: { members: [ { url: "${origin}" } ] }`,
    'sites:',
    '  - hosts: ["*"]',
    '    originGroup: app',
    ...extra,
  ].join('\n');
}

/** Whether anything accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function start(t: { after(fn: () => Promise<void>): void }, file: string): Promise<{ run: Running; url: string; admin: string }> {
  const run = runCli(['start', '--workers', '1', '--config', file], { BLOTCDN_ADMIN_TOKEN: TOKEN });
  t.after(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
  });
  const [, url] = await run.waitFor(/listening on (http:\/\/\S+)/);
  const [, admin] = await run.waitFor(/admin API and dashboard on (http:\/\/[^/\s]+)/);
  return { run, url: url!, admin: admin! };
}

async function slowOrigin(): Promise<TestOrigin & { release(): void }> {
  let waiting: (() => void)[] = [];
  const origin = await startOrigin((req, res) => {
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
      res.end(`page ${req.url}`);
    };
    if (req.url?.startsWith('/slow')) waiting.push(answer);
    else answer();
  });
  return Object.assign(origin, {
    release() {
      for (const w of waiting.splice(0)) w();
    },
  });
}

test('SIGHUP applies a new config in place; a request in flight finishes; an invalid file changes nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-signals-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const origin = await slowOrigin();
  t.after(() => origin.close());
  const file = join(dir, 'edge.yaml');
  await writeFile(file, config(origin.url, join(dir, 'access.log')));
  const { run, url, admin } = await start(t, file);

  assert.equal((await get(`${url}/cached`)).status, 200);
  assert.match(String((await get(`${url}/cached`)).headers['cache-status']), /hit/);
  const inflight = request(`${url}/slow/1`);
  await waitFor(() => origin.count('/slow/1') === 1, 'the slow request to reach the origin');

  // A deny rule and a response header, added by a reload.
  await writeFile(file, config(origin.url, join(dir, 'access.log'), ['    deny: [ { path: "/secret/*", status: 404 } ]', '    responseHeaders: { set: { x-reloaded: "yes" } }']));
  run.child.kill('SIGHUP');
  await run.waitFor(/SIGHUP: config reloaded/);
  assert.equal((await get(`${url}/secret/x`)).status, 404, 'the new deny rule applies');
  const hit = await get(`${url}/cached`);
  assert.match(String(hit.headers['cache-status']), /hit/, 'the cache survived the reload');
  assert.equal(hit.headers['x-reloaded'], 'yes');
  origin.release();
  const finished = await inflight;
  assert.equal(finished.status, 200, 'the request in flight finished');
  assert.equal(finished.text, 'page /slow/1');
  assert.equal(finished.headers['x-reloaded'], undefined, 'on the config it started with');

  // An invalid file: refused, logged, and the edge keeps its config.
  await writeFile(file, config(origin.url, join(dir, 'access.log'), ['    deny: [ { path: "/x", status: 999 } ]']));
  run.child.kill('SIGHUP');
  await run.waitFor(/SIGHUP: kept the running config:[\s\S]*deny\[0\]\.status/);
  assert.equal((await get(`${url}/secret/x`)).status, 404);

  // The same through the admin API and the CLI.
  await writeFile(file, config(origin.url, join(dir, 'access.log'), ['    responseHeaders: { set: { x-reloaded: "again" } }']));
  const reload = await runCliToEnd(['reload', '--admin', admin], { BLOTCDN_ADMIN_TOKEN: TOKEN });
  assert.equal(reload.code, 0, reload.output);
  assert.match(reload.output, /config reloaded/);
  assert.equal((await get(`${url}/cached`)).headers['x-reloaded'], 'again');
  assert.equal((await get(`${url}/secret/x`)).status, 200, 'the deny rule is gone again');
  await writeFile(file, 'sites: nonsense');
  const refused = await request(`${admin}/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
  assert.equal(refused.status, 409);
  assert.match(refused.text, /kept the running config/);
});

test('SIGUSR1 reopens the access log after rotation and never opens a debugger; SIGTERM flushes it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-signals-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const origin = await slowOrigin();
  t.after(() => origin.close());
  const log = join(dir, 'access.log');
  const file = join(dir, 'edge.yaml');
  await writeFile(file, config(origin.url, log));
  const { run, url } = await start(t, file);
  const inspectorBefore = await listening(9229);

  await get(`${url}/before-rotation`);
  // The log is written within a second, without waiting for a buffer to fill.
  await waitFor(async () => (await readFile(log, 'utf8').catch(() => '')).includes('/before-rotation'), 'the first line to be flushed');
  await rename(log, `${log}.1`);
  run.child.kill('SIGUSR1');
  await run.waitFor(/SIGUSR1: log files reopened/);
  await get(`${url}/after-rotation`);
  await waitFor(async () => (await readFile(log, 'utf8').catch(() => '')).includes('/after-rotation'), 'the new file to get the next line');
  assert.doesNotMatch(await readFile(`${log}.1`, 'utf8'), /after-rotation/);
  assert.equal(await listening(9229), inspectorBefore, 'SIGUSR1 opened no debugger port');
  assert.doesNotMatch(run.output(), /Debugger listening/);

  const inflight = request(`${url}/slow/last`);
  await waitFor(() => origin.count('/slow/last') === 1, 'the last request to reach the origin');
  run.child.kill('SIGTERM');
  await run.waitFor(/SIGTERM received/);
  origin.release();
  assert.equal((await inflight).status, 200, 'drained: the request in flight finished');
  const { code } = await run.exited;
  assert.equal(code, 0);
  const lines = (await readFile(log, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const last = lines.find((l) => l.uri === '/slow/last');
  assert.ok(last, 'the last line was flushed before exit');
  assert.equal(last.status, 200);
});
