// kill -9 at any moment leaves the disk cache consistent: the edge process (the real CLI) is killed
// while large objects stream into the cache, restarted on the same folder, and every object it
// then serves must be whole and byte-exact — a hit only for objects that were complete, a miss
// (refetched) for the rest. The disk cache also survives an ordinary restart. (The index's snapshot
// and journal under kill -9: crash-safety-index.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigin, streamSlowly } from './helpers/origin.js';
import { get, sleep } from './helpers/client.js';
import { runCli, type Running } from './helpers/cli.js';

const SIZE = 12 * 1024 * 1024;
const CHUNK = 128 * 1024;
const payload = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 7 + (i >> 16)) & 0xff));
const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const expected = digest(payload);

async function startEdge(originUrl: string, dir: string): Promise<{ run: Running; url: string }> {
  const run = runCli(['start', '--origin', originUrl, '--listen', '127.0.0.1:0', '--cache-dir', dir]);
  const [, url] = await run.waitFor(/listening on (http:\/\/\S+)/);
  return { run, url: url! };
}

async function kill9(run: Running): Promise<void> {
  run.child.kill('SIGKILL');
  await run.exited;
}

test('kill -9 mid-write, after commit and mid-read: no truncated or corrupt object is ever served', async (t) => {
  // The origin streams 12 MiB in 128 KiB chunks, ~5 ms apart (about half a second per object).
  const origin = await startOrigin(streamSlowly(payload, CHUNK, 5, { 'content-type': 'application/octet-stream' }));
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-crash-'));
  const running: Running[] = [];
  t.after(async () => {
    for (const r of running) r.child.kill('SIGKILL');
    await origin.close();
  });

  // Kill while objects are at different stages of being written.
  const killAfter = [40, 150, 300, 450];
  let edge = await startEdge(origin.url, dir);
  running.push(edge.run);
  for (const ms of killAfter) void get(`${edge.url}/obj-${ms}`).catch(() => {});
  await sleep(killAfter.at(-1)!);
  await kill9(edge.run);

  edge = await startEdge(origin.url, dir);
  running.push(edge.run);
  assert.deepEqual(await readdir(join(dir, 'tmp')), [], 'half-written files are gone after restart');
  for (const ms of killAfter) {
    const res = await get(`${edge.url}/obj-${ms}`);
    assert.equal(res.status, 200, `obj-${ms}`);
    assert.equal(res.body.length, SIZE, `obj-${ms} is whole`);
    assert.equal(digest(res.body), expected, `obj-${ms} is byte-exact`);
    assert.match(String(res.headers['cache-status']), /fwd=miss/, `obj-${ms} was never complete, so it is fetched again`);
  }

  // Now complete objects are on disk; kill while one is being read and another written.
  const hit = await get(`${edge.url}/obj-40`);
  assert.match(String(hit.headers['cache-status']), /hit/);
  void get(`${edge.url}/obj-150`).catch(() => {});
  void get(`${edge.url}/fresh`).catch(() => {});
  await sleep(200);
  await kill9(edge.run);

  edge = await startEdge(origin.url, dir);
  running.push(edge.run);
  for (const name of ['obj-40', 'obj-150', 'obj-300', 'obj-450', 'fresh']) {
    const res = await get(`${edge.url}/${name}`);
    assert.equal(res.body.length, SIZE, name);
    assert.equal(digest(res.body), expected, name);
    if (name !== 'fresh') assert.match(String(res.headers['cache-status']), /hit/, `${name} survived the kill`);
  }
  const originRequests = origin.requests.length;
  await edge.run.child.kill('SIGTERM');
  await edge.run.exited;

  // An ordinary restart keeps the whole cache too.
  edge = await startEdge(origin.url, dir);
  running.push(edge.run);
  for (const name of ['obj-40', 'fresh']) {
    const res = await get(`${edge.url}/${name}`);
    assert.match(String(res.headers['cache-status']), /hit/, `${name} after a clean restart`);
    assert.equal(digest(res.body), expected);
  }
  assert.equal(origin.requests.length, originRequests, 'nothing refetched after the clean restart');
});
