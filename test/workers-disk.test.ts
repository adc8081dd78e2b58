// The disk tier with workers: one folder per worker ({dir}/w1, {dir}/w2), each locked by its
// worker. A worker that starts again clears only its own folder's half-written files, so an object
// a sibling is writing at that moment is stored whole (with one shared folder the restarted worker
// would have emptied tmp/ under the sibling's write).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from './helpers/client.js';
import { startOrigin } from './helpers/origin.js';
import { waitFor } from './helpers/wait.js';
import { config, startMachine } from './helpers/workers.js';

const BODY = Buffer.alloc(1024 * 1024, 'blotcdn worker disk test ');

/** Files under `dir`, recursively. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else out.push(p);
  }
  return out;
}

test('a worker restarted while its sibling writes an object to disk leaves that write alone', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-workers-disk-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let release: () => void = () => undefined;
  const origin = await startOrigin((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BODY.length), 'cache-control': 'max-age=600' });
    res.write(BODY.subarray(0, 256 * 1024));
    release = () => res.end(BODY.subarray(256 * 1024));
  });
  t.after(() => origin.close());
  const file = join(dir, 'edge.yaml');
  await writeFile(file, config(origin.url, dir));
  const machine = await startMachine(t, ['--config', file, '--workers', '2']);
  const cache = join(dir, 'cache');
  assert.deepEqual((await readdir(cache)).sort(), ['w1', 'w2'], 'one folder per worker');

  // A miss whose body is still arriving: the worker answering writes it to its own tmp/.
  const response = await new Promise<IncomingMessage>((resolve, reject) => httpRequest(`${machine.url}/big`, { agent: false }, resolve).on('error', reject).end());
  const writer = String(response.headers['x-blotcdn-worker']);
  const chunks: Buffer[] = [];
  response.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => response.on('end', resolve));
  await waitFor(async () => (await files(join(cache, writer, 'tmp'))).length === 1, `${writer} to be writing the object`);

  // Its sibling is killed and started again (it clears its own folder's leftovers as it starts).
  const sibling = writer === 'w1' ? 2 : 1;
  const pids = await machine.pids();
  process.kill(pids.get(sibling)!, 'SIGKILL');
  await waitFor(async () => {
    const now = await machine.pids().catch(() => new Map<number, number>());
    return now.get(sibling) !== undefined && now.get(sibling) !== pids.get(sibling);
  }, `w${sibling} to be restarted`, 60_000);
  assert.equal((await files(join(cache, writer, 'tmp'))).length, 1, `${writer}'s write in progress is still there`);

  release();
  await ended;
  assert.equal(createHash('sha256').update(Buffer.concat(chunks)).digest('hex'), createHash('sha256').update(BODY).digest('hex'));
  // The writer stored it whole: it answers the next request from its cache, byte for byte.
  await waitFor(async () => {
    const r = await get(`${machine.url}/big`);
    if (r.headers['x-blotcdn-worker'] !== writer) return false;
    assert.match(String(r.headers['cache-status']), /hit/, `${writer} stored the object`);
    assert.ok(r.body.equals(BODY));
    return true;
  }, `${writer} to answer again`, 30_000);
  assert.equal(origin.requests.filter((r) => r.url === '/big').length, 1, 'fetched once (the sibling was not asked)');
  const objects = (await files(join(cache, writer, 'objects'))).length;
  assert.equal(objects, 1, `the object is in ${writer}'s folder`);
  const lock = await readFile(join(cache, `w${sibling}`, 'lock'), 'utf8').catch(() => '');
  assert.match(lock, new RegExp(String((await machine.pids()).get(sibling))), `w${sibling}'s folder is locked by its new process`);
});
