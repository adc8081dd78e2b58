// A very large object on its first fetch, with the disk tier on: several readers of the miss — one
// as fast as it can, others held far behind — each get every byte in order. (The flight once
// compacted its chunk list under a slow reader and cut it off somewhere past 70 MiB.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigin } from './helpers/origin.js';
import { startEdge } from './helpers/edge.js';

const BLOCK = 64 * 1024;
const SIZE = 1024 * 1024 * 1024;
const BLOCKS = SIZE / BLOCK;

/** Block i of the body: a fixed pattern stamped with its own number, so a misplaced block shows. */
function block(i: number, base: Buffer): Buffer {
  const b = Buffer.from(base);
  b.writeUInt32BE(i, 0);
  b.writeUInt32BE(i ^ 0x5a5a5a5a, BLOCK - 4);
  return b;
}

interface Reader {
  received: number;
  hash: string | undefined;
  error: Error | undefined;
  done: Promise<void>;
}

/**
 * Reads the object; `behind` (if given) holds this reader at least `lag` bytes behind another
 * reader, resuming as that one moves on — slow, without waiting on a timer.
 */
function read(url: string, behind?: { reader: Reader; lag: number }): Reader {
  const state: Reader = { received: 0, hash: undefined, error: undefined, done: Promise.resolve() };
  state.done = new Promise<void>((resolve) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      const hash = createHash('sha256');
      const check = () => {
        if (!behind) return;
        const ahead = behind.reader.received + behind.lag;
        const leaderDone = behind.reader.hash !== undefined || behind.reader.error !== undefined;
        if (state.received > ahead && !leaderDone) {
          res.pause();
          setImmediate(check);
        } else res.resume();
      };
      res.on('data', (c: Buffer) => {
        hash.update(c);
        state.received += c.length;
        check();
      });
      res.on('end', () => {
        state.hash = hash.digest('hex');
        resolve();
      });
      res.on('error', (err) => {
        state.error = err;
        resolve();
      });
      res.on('aborted', () => {
        state.error = new Error(`cut off after ${state.received} bytes`);
        resolve();
      });
    });
    req.on('error', (err) => {
      state.error = err;
      resolve();
    });
    req.end();
  });
  return state;
}

test('a 1 GiB miss with the disk tier: fast and slow readers all get every byte', { timeout: 300_000 }, async (t) => {
  const base = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) base[i] = (i * 31 + 7) & 0xff;
  const expected = createHash('sha256');
  for (let i = 0; i < BLOCKS; i++) expected.update(block(i, base));
  const want = expected.digest('hex');

  const origin = await startOrigin((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(SIZE), 'cache-control': 'max-age=3600' });
    let i = 0;
    const pump = () => {
      while (i < BLOCKS) {
        if (!res.write(block(i++, base))) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-large-'));
  const edge = await startEdge({
    cache: { memory: { maxSize: '64MiB', maxObjectSize: '1MiB' }, disk: { dir, maxSize: '4GiB', maxObjectSize: '2GiB' } },
    originGroups: { main: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'main' }],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });

  const url = `${edge.url}/huge.bin`;
  const fast = read(url);
  const slow = read(url, { reader: fast, lag: 256 * 1024 * 1024 });
  const slower = read(url, { reader: slow, lag: 128 * 1024 * 1024 });
  await Promise.all([fast.done, slow.done, slower.done]);
  for (const [name, r] of Object.entries({ fast, slow, slower })) {
    assert.equal(r.error, undefined, `${name}: ${r.error?.message}`);
    assert.equal(r.received, SIZE, `${name} got ${r.received} bytes`);
    assert.equal(r.hash, want, `${name}: the bytes are the object's`);
  }
  assert.equal(origin.count('/huge.bin'), 1, 'one origin fetch for all three');
});
