// LogFile encodes lines straight into batches: every byte must reach the file, in order, whatever
// the line lengths, characters and timing of writes, and rotation must split the lines cleanly.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LogFile } from './log-file.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-logfile-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Lines of every size class: short, near a batch's end, multi-byte, and one larger than a batch. */
function lines(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const size = i % 97 === 0 ? 5000 : (i * 37) % 400;
    const text = i % 11 === 0 ? 'é€😀'.repeat(size / 4 + 1) : 'x'.repeat(size);
    out.push(`{"n":${i},"t":"${text}"}\n`);
  }
  out.splice(n / 2, 0, `${'y'.repeat(100_000)}\n`);
  return out;
}

test('every line reaches the file byte for byte and in order, across batches and long lines', async (t) => {
  const file = join(await tempDir(t), 'a.log');
  const log = new LogFile(file);
  const all = lines(20_000);
  // Appended in bursts with writes in progress between them, as a busy edge does.
  for (let i = 0; i < all.length; i++) {
    log.append(all[i]!);
    if (i % 3000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await log.close();
  assert.equal(log.dropped, 0);
  const text = await readFile(file, 'utf8');
  assert.equal(text.length, all.join('').length);
  assert.equal(text, all.join(''));
});

test('flush writes a partial batch; lines after a rotation go to the new file', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'a.log');
  const log = new LogFile(file);
  log.append('one\n');
  await log.flush();
  assert.equal(await readFile(file, 'utf8'), 'one\n');
  log.append('two\n');
  await rename(file, join(dir, 'a.log.1'));
  await log.reopen();
  log.append('three\n');
  await log.close();
  assert.equal(await readFile(join(dir, 'a.log.1'), 'utf8'), 'one\ntwo\n');
  assert.equal(await readFile(file, 'utf8'), 'three\n');
});
