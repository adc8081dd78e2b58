// kill -9 at any moment leaves the disk cache consistent: the edge process (the real CLI) is killed
// while large objects stream into the cache, restarted on the same folder, and every object it
// then serves must be whole and byte-exact — a hit only for objects that were complete, a miss
// (refetched) for the rest. The disk cache also survives an ordinary restart. (The index's snapshot
// and journal under kill -9: crash-safety-index.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { heldStream, startOrigin } from './helpers/origin.js';
import { get, request } from './helpers/client.js';
import { diskEdgeConfig, runCli, type Running } from './helpers/cli.js';
import { waitFor } from './helpers/wait.js';

const SIZE = 12 * 1024 * 1024;
const CHUNK = 128 * 1024;
const payload = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 7 + (i >> 16)) & 0xff));
const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const expected = digest(payload);

async function startEdge(originUrl: string, dir: string): Promise<{ run: Running; url: string }> {
  const run = runCli(['start', '--workers', '1', '--config', await diskEdgeConfig(originUrl, dir)]);
  const [, url] = await run.waitFor(/listening on (http:\/\/\S+)/);
  return { run, url: url! };
}

async function kill9(run: Running): Promise<void> {
  run.child.kill('SIGKILL');
  await run.exited;
}

/** Sizes of the files in a folder and its subfolders (the disk tier's tmp/ or objects/). */
async function fileSizes(dir: string): Promise<number[]> {
  const sizes: number[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (entry.isFile()) sizes.push((await stat(join(entry.parentPath ?? entry.path, entry.name)).catch(() => ({ size: -1 }))).size);
  }
  return sizes.sort((a, b) => a - b);
}

test('kill -9 mid-write, after commit and mid-read: no truncated or corrupt object is ever served', async (t) => {
  // The origin sends each object in 128 KiB chunks as fast as the edge takes them, but stops at the
  // byte count held for its path (until the edge is killed): so each object is really at its stage
  // of being written when the kill comes. Paths without a hold get the whole object.
  const stream = heldStream(payload, CHUNK, { 'content-type': 'application/octet-stream' });
  const origin = await startOrigin(stream.handler);
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-crash-'));
  const running: Running[] = [];
  t.after(async () => {
    for (const r of running) r.child.kill('SIGKILL');
    await origin.close();
  });

  // Kill while objects are at different stages of being written: one chunk in, a third, two
  // thirds, all but the last chunk. The kill comes once the disk tier holds exactly those bytes.
  const stages = { 'obj-start': CHUNK, 'obj-third': 32 * CHUNK, 'obj-two-thirds': 64 * CHUNK, 'obj-almost': SIZE - CHUNK };
  for (const [name, bytes] of Object.entries(stages)) stream.holdAt(`/${name}`, bytes);
  let edge = await startEdge(origin.url, dir);
  running.push(edge.run);
  // Clients that wait as long as the kill takes to come (their idle timeout is no deadline here).
  const waitingClient = (path: string) => void request(`${edge.url}${path}`, { timeoutMs: 180_000 }).catch(() => {});
  for (const name of Object.keys(stages)) waitingClient(`/${name}`);
  const staged = Object.values(stages).sort((a, b) => a - b);
  await waitFor(async () => JSON.stringify(await fileSizes(join(dir, 'tmp'))) === JSON.stringify(staged), 'each object to be written up to its stage');
  assert.deepEqual(await fileSizes(join(dir, 'objects')), [], 'nothing was complete');
  await kill9(edge.run);
  stream.release();

  edge = await startEdge(origin.url, dir);
  running.push(edge.run);
  assert.deepEqual(await readdir(join(dir, 'tmp')), [], 'half-written files are gone after restart');
  for (const name of Object.keys(stages)) {
    const res = await get(`${edge.url}/${name}`);
    assert.equal(res.status, 200, name);
    assert.equal(res.body.length, SIZE, `${name} is whole`);
    assert.equal(digest(res.body), expected, `${name} is byte-exact`);
    assert.match(String(res.headers['cache-status']), /fwd=miss/, `${name} was never complete, so it is fetched again`);
  }
  // Each is committed to disk just after its response ended.
  await waitFor(async () => (await fileSizes(join(dir, 'objects'))).length === 4, 'the four objects to be committed to disk');

  // Now complete objects are on disk; kill while one is being read and another written.
  const hit = await get(`${edge.url}/obj-start`);
  assert.match(String(hit.headers['cache-status']), /hit/);
  // The reader stops reading after its first chunk (the edge's reads from disk stall there).
  let reading: IncomingMessage | undefined;
  let readBytes = 0;
  void request(`${edge.url}/obj-third`, {
    timeoutMs: 180_000,
    onData: (_c, received, res) => {
      readBytes = received;
      reading = res;
      res.pause();
    },
  }).catch(() => {});
  stream.holdAt('/fresh', SIZE / 2);
  waitingClient('/fresh');
  await waitFor(() => readBytes > 0, 'the reader to get its first bytes from disk');
  await waitFor(async () => (await fileSizes(join(dir, 'tmp'))).includes(SIZE / 2), 'the fresh object to be half written');
  assert.ok(readBytes < SIZE, 'the read is under way');
  await kill9(edge.run);
  reading?.destroy();
  stream.release();

  edge = await startEdge(origin.url, dir);
  running.push(edge.run);
  for (const name of [...Object.keys(stages), 'fresh']) {
    const res = await get(`${edge.url}/${name}`);
    assert.equal(res.body.length, SIZE, name);
    assert.equal(digest(res.body), expected, name);
    if (name !== 'fresh') assert.match(String(res.headers['cache-status']), /hit/, `${name} survived the kill`);
  }
  await waitFor(async () => (await fileSizes(join(dir, 'objects'))).length === 5, 'the fresh object to be committed to disk');
  const originRequests = origin.requests.length;
  await edge.run.child.kill('SIGTERM');
  await edge.run.exited;

  // An ordinary restart keeps the whole cache too.
  edge = await startEdge(origin.url, dir);
  running.push(edge.run);
  for (const name of ['obj-start', 'fresh']) {
    const res = await get(`${edge.url}/${name}`);
    assert.match(String(res.headers['cache-status']), /hit/, `${name} after a clean restart`);
    assert.equal(digest(res.body), expected);
  }
  assert.equal(origin.requests.length, originRequests, 'nothing refetched after the clean restart');
});
