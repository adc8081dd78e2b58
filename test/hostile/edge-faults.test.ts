// Hostile: the edge's own machine misbehaves. The disk fills up (a small tmpfs as the cache folder:
// needs root, skipped with the reason otherwise), the cache folder is deleted while objects are
// being written and read, cache files are truncated, swapped or overwritten by someone else, and
// the process is killed with -9 in the middle of writes after a purge. Each time every reader gets
// whole, byte-exact bodies (from the cache or the origin), nothing torn is ever served, and the
// cache is usable again afterwards.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, truncate, copyFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConfigInput } from '../../src/config/schema.js';
import { heldStream, startOrigin, type TestOrigin } from '../helpers/origin.js';
import { startEdge, type TestEdge } from '../helpers/edge.js';
import { startEdgeProcess } from '../helpers/edge-process.js';
import { get } from '../helpers/client.js';
import { waitFor } from '../helpers/wait.js';

/** Deterministic bytes for a path: any mix-up between objects shows in the digest. */
function bytesFor(path: string, size: number): Buffer {
  const seed = createHash('sha256').update(path).digest();
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = (seed[i & 31]! + i * 31 + (i >> 10)) & 0xff;
  return out;
}
const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const KB = 1024;
const MB = 1024 * KB;

/** `/obj/<size>/<name>`: that many bytes for the name, sent at the network's pace, cacheable. */
function objects(req: IncomingMessage, res: ServerResponse): void {
  const m = /^\/obj\/(\d+)\//.exec(req.url ?? '');
  if (!m) return void res.writeHead(404).end();
  const body = bytesFor(req.url!, Number(m[1]));
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'cache-control': 'public, max-age=3600' });
  res.end(body);
}

/** Every file under `dir`, recursively (paths). */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await files(path)));
    else out.push(path);
  }
  return out;
}

/** GET `path` and check the whole body is the object's bytes; returns the Cache-Status. */
async function whole(base: string, path: string, size: number): Promise<string> {
  const res = await get(`${base}${path}`);
  assert.equal(res.error, undefined, `${path}: cut off (${res.error?.message})`);
  assert.equal(res.status, 200, path);
  assert.equal(res.body.length, size, `${path}: ${res.body.length} of ${size} bytes`);
  assert.equal(digest(res.body), digest(bytesFor(path, size)), `${path}: other bytes than its own`);
  return String(res.headers['cache-status']);
}

/** A GET whose reader takes nothing until told to: the edge has to hold or spill what it cannot send. */
function pausedGet(url: string): { resume(): Promise<Buffer> } {
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      res.pause();
      resolve(res);
    });
    req.on('error', reject);
    req.end();
  });
  response.catch(() => undefined); // judged when resumed
  return {
    resume: async () => {
      const res = await response;
      const chunks: Buffer[] = [];
      return new Promise<Buffer>((resolve, reject) => {
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error(`cut off after ${chunks.reduce((n, c) => n + c.length, 0)} bytes`)));
        res.resume();
      });
    },
  };
}

const stops: (() => Promise<void>)[] = [];
after(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

async function stage(cache: Record<string, unknown>, handler = objects): Promise<{ edge: TestEdge; origin: TestOrigin }> {
  const origin = await startOrigin(handler);
  const edge = await startEdge({
    admin: { listen: '127.0.0.1:0' },
    cache: { compression: { enabled: false }, ...cache },
    originGroups: { main: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'main' }],
  });
  stops.push(() => origin.close(), () => edge.stop());
  return { edge, origin };
}

// Memory holds nothing past 1 KB: every object here lives on disk only.
const diskOnly = (dir: string) => ({ memory: { maxSize: '1MB', maxObjectSize: '1KB' }, disk: { dir } });

test('disk full (ENOSPC mid-write, a 12 MiB tmpfs) — every reader gets whole bytes, a reader far behind too; storing resumes once there is room', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    t.skip('mounting a small tmpfs needs root (CAP_SYS_ADMIN); the full-disk case cannot run here');
    return;
  }
  stops.push(async () => void execFileSync('umount', ['-l', dir]));
  const { edge } = await stage(diskOnly(dir));
  const base = edge.url;
  const small = Array.from({ length: 40 }, (_, i) => `/obj/${512 * KB}/small-${i}`);
  for (const path of small) await whole(base, path, 512 * KB); // 20 MiB into 12: the disk fills
  const stored = edge.edge.store.stats().entries;
  assert.ok(stored > 0 && stored < small.length, `${stored} of ${small.length} objects fit`);
  for (const path of small) await whole(base, path, 512 * KB); // hits and misses alike are whole
  await waitFor(async () => (await readdir(join(dir, 'tmp'))).length === 0, 'no half-written file left in tmp/');

  // Room for about half of a 24 MiB object: its write fails part-way while a reader sits far behind,
  // past what the flight keeps in memory (8 MiB): those bytes were on disk, and the disk gave up.
  const purged = await edge.edge.purge({ kind: 'host', value: '127.0.0.1' });
  assert.ok(purged.purged > 0);
  const big = `/obj/${24 * MB}/big`;
  const tooLarge = () => edge.edge.stats.notStored.get('too-large') ?? 0;
  const before = tooLarge();
  const reader = pausedGet(`${base}${big}`);
  await waitFor(() => tooLarge() > before, 'the disk write to fail', 30_000);
  const body = await reader.resume();
  assert.equal(body.length, 24 * MB, 'the reader that was behind got every byte');
  assert.equal(digest(body), digest(bytesFor(big, 24 * MB)));

  await whole(base, `/obj/${512 * KB}/after`, 512 * KB);
  assert.match(await whole(base, `/obj/${512 * KB}/after`, 512 * KB), /hit/, 'stored again once there was room');
});

test('the cache folder deleted mid-write and mid-read — readers get whole bytes, the folder comes back, counted', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'blotcdn-gone-')), 'cache');
  const slowBody = bytesFor('/slow/one', 24 * MB);
  const slow = heldStream(slowBody, 256 * KB);
  // Past the 8 MiB a flight keeps in memory: the first bytes are then only in the file being written.
  slow.holdAt('/slow/one', 12 * MB);
  const { edge } = await stage(diskOnly(dir), (req, res) => (req.url === '/slow/one' ? slow.handler(req, res) : objects(req, res)));
  const base = edge.url;
  const warm = Array.from({ length: 10 }, (_, i) => `/obj/${256 * KB}/warm-${i}`);
  for (const path of warm) await whole(base, path, 256 * KB);
  for (const path of warm) assert.match(await whole(base, path, 256 * KB), /hit/, 'served from disk before');

  const reader = pausedGet(`${base}/slow/one`);
  await waitFor(async () => (await readdir(join(dir, 'tmp')).catch(() => [])).length > 0, 'the slow object to be written');
  await rm(dir, { recursive: true, force: true });
  for (const path of warm) await whole(base, path, 256 * KB); // their files are gone: fetched again, whole
  slow.release();
  const body = await reader.resume();
  assert.equal(body.length, slowBody.length, 'the reader of the write in progress got every byte');
  assert.equal(digest(body), digest(slowBody));

  await waitFor(async () => stat(join(dir, 'objects')).then(() => true, () => false), 'the folder to be made again');
  assert.equal(edge.edge.stats.errors.get('disk_cache_lost'), 1);
  await whole(base, `/obj/${256 * KB}/later`, 256 * KB);
  await waitFor(async () => /hit/.test(await whole(base, `/obj/${256 * KB}/later`, 256 * KB)), 'objects stored on disk again');
});

test('cache files truncated, swapped or overwritten by someone else — never served as the object; fetched again whole', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'blotcdn-tamper-')), 'cache');
  const { edge, origin } = await stage(diskOnly(dir));
  const base = edge.url;
  const name = (i: number) => `/obj/${64 * KB}/tamper-${i}`;
  const fileOf = async (path: string) => {
    const before = new Set(await files(join(dir, 'objects')));
    await whole(base, path, 64 * KB);
    await waitFor(async () => (await files(join(dir, 'objects'))).some((f) => !before.has(f)), `${path} on disk`);
    return (await files(join(dir, 'objects'))).find((f) => !before.has(f))!;
  };
  const [a, b, c] = [await fileOf(name(0)), await fileOf(name(1)), await fileOf(name(2))];
  for (const i of [0, 1, 2]) assert.match(await whole(base, name(i), 64 * KB), /hit/);

  await truncate(a, (await stat(a)).size - 10); // torn: the trailer no longer matches
  await copyFile(c, b); // another object's whole file under this name: its key is not this URL's
  await writeFile(c, Buffer.alloc(64 * KB + 200, 7)); // garbage
  for (const i of [0, 1, 2]) {
    const fetched = origin.count(name(i));
    assert.doesNotMatch(await whole(base, name(i), 64 * KB), /hit/, `${name(i)} was served from a tampered file`);
    assert.equal(origin.count(name(i)), fetched + 1);
  }
});

test('kill -9 during writes, after a purge — after a restart every object is whole, the purge held, nothing half-written is served', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'blotcdn-kill-')), 'cache');
  const slowBody = bytesFor('/slow/killed', 8 * MB);
  const slow = heldStream(slowBody, 256 * KB);
  for (const path of ['/slow/killed', '/slow/killed-too']) slow.holdAt(path, 4 * MB); // writes in progress when the kill comes
  const origin = await startOrigin((req, res) => (req.url?.startsWith('/slow/') ? slow.handler(req, res) : objects(req, res)));
  stops.push(() => origin.close());
  const config: ConfigInput = {
    listen: { http: '127.0.0.1:0' },
    log: { access: 'off', events: 'off' },
    admin: { listen: '127.0.0.1:0' },
    cache: { ...diskOnly(dir), compression: { enabled: false } },
    originGroups: { main: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'main' }],
  };
  const first = await startEdgeProcess(config);
  stops.push(() => first.kill());
  await first.ready;
  const kept = Array.from({ length: 12 }, (_, i) => `/obj/${128 * KB}/kept-${i}`);
  const purged = Array.from({ length: 4 }, (_, i) => `/obj/${128 * KB}/purged-${i}`);
  for (const path of [...kept, ...purged]) await whole(first.url, path, 128 * KB);
  for (const path of purged) {
    const res = await fetch(`${first.adminUrl}/purge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://127.0.0.1${path}` }) });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { purged: number }).purged, 1, path);
  }
  const inFlight = [pausedGet(`${first.url}/slow/killed`), pausedGet(`${first.url}/slow/killed-too`)];
  await waitFor(async () => (await readdir(join(dir, 'tmp')).catch(() => [])).length >= 2, 'both writes in progress');
  await first.kill();
  await Promise.all(inFlight.map((r) => r.resume().catch(() => undefined)));
  slow.release();

  const second = await startEdgeProcess(config);
  stops.push(() => second.stop());
  await second.ready;
  assert.deepEqual(await readdir(join(dir, 'tmp')), [], 'the dead edge’s half-written files are cleared');
  for (const path of kept) assert.match(await whole(second.url, path, 128 * KB), /hit/, `${path} survived`);
  for (const path of purged) assert.match(await whole(second.url, path, 128 * KB), /fwd=miss/, `${path} stayed purged`);
  const res = await get(`${second.url}/slow/killed`);
  assert.equal(digest(res.body), digest(slowBody), 'the object cut by the kill is fetched again, whole');
  assert.match(String(res.headers['cache-status']), /fwd=miss/);
});
