// The `blotcdn` command where operators trip, run as a process: --version, listen addresses read as
// Caddy and nginx read them (":8080" is every interface), one line saying what to do (never a stack)
// for usage and operational errors (each kind is in src/cli/fail.test.ts), and a purge of a URL
// written with its port. The commands run side by side where they can: each start costs a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigin, respond, closedPort } from './helpers/origin.js';
import { get, request } from './helpers/client.js';
import { ROOT, runCli, runCliToEnd } from './helpers/cli.js';
import { simpleConfig, startEdge } from './helpers/edge.js';

test('--version prints the version from package.json', async () => {
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  const r = await runCliToEnd(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.output, `${version}\n`);
});

test('--listen :PORT takes every interface; 127.0.0.1:PORT keeps to loopback', async (t) => {
  const origin = await startOrigin(respond('reached', { 'cache-control': 'no-store' }));
  const every = runCli(['start', '--workers', '1', '--origin', origin.url, '--listen', ':0', '--access-log', 'off']);
  const loopback = runCli(['start', '--workers', '1', '--origin', origin.url, '--listen', '127.0.0.1:0', '--access-log', 'off']);
  t.after(async () => {
    every.child.kill('SIGKILL');
    loopback.child.kill('SIGKILL');
    await origin.close();
  });
  const [[, address, everyPort], [, loopPort]] = await Promise.all([
    every.waitFor(/listening on http:\/\/(\S+):(\d+)/),
    loopback.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/),
  ]);
  assert.match(address!, /^(\[::\]|0\.0\.0\.0)$/);
  // 127.0.0.2 is another address of this machine: a listener on 127.0.0.1 alone does not answer there.
  assert.equal((await get(`http://127.0.0.2:${everyPort}/`)).text, 'reached');
  assert.equal((await get(`http://127.0.0.1:${loopPort}/`)).text, 'reached');
  await assert.rejects(get(`http://127.0.0.2:${loopPort}/`), /ECONNREFUSED/);
});

test('usage and operational errors: one line saying what to do, exit 1, no stack unless --debug', async (t) => {
  const held = createServer();
  await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
  const edge = await startEdge({ ...simpleConfig('http://127.0.0.1:1'), admin: { listen: '127.0.0.1:0' } });
  t.after(async () => {
    held.close();
    await edge.stop();
  });
  const heldPort = (held.address() as AddressInfo).port;
  const missing = join(await mkdtemp(join(tmpdir(), 'blotcdn-cli-')), 'nope.yaml');
  const cases: Array<[string[], RegExp]> = [
    [['start', '--origin', 'http://127.0.0.1:9', '--listen', `127.0.0.1:${heldPort}`], /^blotcdn: cannot listen on 127\.0\.0\.1:\d+: the address is already in use .*choose another address/],
    [['purge', '--admin', `http://127.0.0.1:${await closedPort()}`, 'http://example.com/a'], /^blotcdn: cannot reach the edge's admin API at http:\/\/127\.0\.0\.1:\d+ \(connection refused\): is blotcdn running/],
    [['purge', '--admin', edge.adminUrl!], /^blotcdn: say what to purge: URLs, --prefix, --host or --tag/],
    [['purge', '--admin', edge.adminUrl!, 'http://exa mple.com/a'], /^blotcdn: the admin API refused POST \/purge \(400\): not a host: "exa mple\.com"/],
    [['start', '--config', missing], /^blotcdn: no config file at \S+nope\.yaml/],
  ];
  const runs = await Promise.all(cases.map(([args]) => runCliToEnd(args)));
  cases.forEach(([args, expected], i) => {
    const r = runs[i]!;
    assert.equal(r.code, 1, `${args.join(' ')}\n${r.output}`);
    assert.match(r.output, expected, args.join(' '));
    assert.equal(r.output.trim().split('\n').length, 1, `one line, no stack: ${r.output}`);
  });
  const debug = await runCliToEnd(['--debug', 'purge', '--admin', edge.adminUrl!]);
  assert.equal(debug.code, 1);
  assert.match(debug.output, /^blotcdn: say what to purge/);
  assert.match(debug.output, /^\s+at .*admin-client\.ts/m, '--debug prints the stack');
});

test('blotcdn purge of a URL written with its port removes what the edge stored for it', async (t) => {
  const origin = await startOrigin(respond('page', { 'cache-control': 'max-age=600' }));
  const edge = await startEdge({ ...simpleConfig(origin.url), admin: { listen: '127.0.0.1:0' } });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  // A browser at http://example.com:8080/a?x=1 sends "Host: example.com:8080"; the edge keys the
  // object by the host without its port, as it routes.
  const load = () => get(`${edge.url}/a?x=1`, { host: 'example.com:8080' });
  await load();
  assert.match(String((await load()).headers['cache-status']), /^blotcdn; hit/);
  const purged = await runCliToEnd(['purge', '--admin', edge.adminUrl!, 'http://example.com:8080/a?x=1']);
  assert.equal(purged.code, 0, purged.output);
  assert.match(purged.output, /^url http:\/\/example\.com:8080\/a\?x=1: 1 removed/);
  assert.equal((await load()).headers['cache-status'], 'blotcdn; fwd=miss; stored');
  assert.equal(origin.count('/a?x=1'), 2);
  // The same object, whatever port or case the URL is written with (here straight to the admin API).
  const again = await request(`${edge.adminUrl}/purge`, { method: 'POST', body: JSON.stringify({ url: 'https://EXAMPLE.com:8443/a?x=1' }), headers: { 'content-type': 'application/json' } });
  assert.equal(JSON.parse(again.text).purged, 1);
  assert.equal((await load()).headers['cache-status'], 'blotcdn; fwd=miss; stored');
});
