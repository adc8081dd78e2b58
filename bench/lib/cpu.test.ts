// The benchmark's CPU accounting: /proc parsing, core lists, a real process tree's CPU (a child
// and its grandchild burning CPU), and wrk's own CPU read through the shell that ran it.
// Run with `npm test -- bench/lib/cpu.test.ts`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { coreTimesOf, parseCoreList, processTree, statCpuSeconds, statFields, treeCpuSeconds } from './cpu.js';
import { findCommand } from './procs.js';
import { parseWrk, runWrk } from './wrk.js';

test('stat fields are read after the last ") ", whatever the command name holds', () => {
  // pid 42, comm "a) (b", state R, ppid 7 … utime 250, stime 50, cutime 1000, cstime 100 (ticks).
  const line = '42 (a) (b) R 7 42 42 0 -1 4194304 99 0 0 0 250 50 1000 100 20 0 1 0 49823';
  assert.equal(statFields(line)[1], '7');
  assert.equal(statCpuSeconds(line), 3); // (250 + 50) / 100
  assert.equal(statCpuSeconds(line, true), 11); // (1000 + 100) / 100
});

test('core lists as taskset takes them', () => {
  assert.deepEqual(parseCoreList('0'), [0]);
  assert.deepEqual(parseCoreList('0-1'), [0, 1]);
  assert.deepEqual(parseCoreList('0,2-3'), [0, 2, 3]);
  assert.throws(() => parseCoreList('zero'), /not a core list/);
});

test('core times: steal counts as busy, iowait as idle, and only the cores asked for', () => {
  const stat = ['cpu  9 9 9 9 9 9 9 9 0 0', 'cpu0 100 0 50 800 10 0 20 30 0 0', 'cpu1 500 0 0 500 0 0 0 0 0 0'].join('\n');
  assert.deepEqual(coreTimesOf(stat, [0]), { busy: 2, total: 10.1 });
  assert.deepEqual(coreTimesOf(stat, [0, 1]), { busy: 7, total: 20.1 });
  assert.throws(() => coreTimesOf(stat, [5]), /core 5/);
});

test("a process tree's CPU includes its grandchildren", async (t) => {
  // The grandchild burns 0.3 s of CPU, says so, and waits; the child only waits for it.
  const burn = `const s = process.cpuUsage(); while (process.cpuUsage(s).user < 300000); console.log('burnt'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', `const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(burn)}], { stdio: ['ignore', 'inherit', 'inherit'] }); process.on('SIGTERM', () => { c.kill(); process.exit(0); });`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill());
  await new Promise<void>((resolve) => child.stdout!.on('data', (d) => String(d).includes('burnt') && resolve()));
  const tree = processTree([child.pid!]);
  assert.ok(tree.length >= 2, `child and grandchild, got ${tree}`);
  assert.ok(treeCpuSeconds([child.pid!]) >= 0.29, `at least the grandchild's 0.3 s, got ${treeCpuSeconds([child.pid!])}`);
});

test("wrk's result carries its request count and its own CPU time", { skip: !findCommand('wrk') && 'wrk is not installed' }, async (t) => {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const r = await runWrk(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { seconds: 1, connections: 4 });
  assert.ok(r.requests > 0 && Number.isInteger(r.requests));
  assert.ok(r.wrkCpuSeconds > 0, `wrk used some CPU: ${r.wrkCpuSeconds}`);
});

test('wrk output: requests, rate, latency and errors', () => {
  const out = `Running 8s test @ http://127.0.0.1:1/x
  1 threads and 64 connections
  Latency Distribution
     50%    2.24ms
     99%  482.00us
  215576 requests in 8.00s, 889.12MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 3
Requests/sec:  26947.01
Transfer/sec:    111.14MB
`;
  assert.deepEqual(parseWrk(out), { rps: 26947.01, requests: 215576, p50: 2.24, p99: 0.482, transferMBps: 111.14, errors: 6, errorKinds: 'read 2, timeout 1, non-2xx/3xx 3' });
});
