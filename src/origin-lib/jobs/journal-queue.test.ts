// The journal backend's own hard parts: torn and garbled lines, a process killed -9 while appending,
// compaction while other processes append, what a compaction keeps, and a worker taking over from
// one that died (its running job counted as interrupted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRecords, parseRecords } from './journal-format.js';
import { JournalQueue, type StoredJob } from './journal-queue.js';
import { waitFor } from '../../../test/helpers/wait.js';

const QUEUE = fileURLToPath(new URL('./journal-queue.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'journal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('parseRecords keeps intact records, skips torn or garbled lines, and leaves an unfinished line', () => {
  const good = encodeRecords([{ id: 'a', rev: 1 }, { id: 'b', rev: 1 }]);
  const torn = encodeRecords([{ id: 'c', rev: 1 }]).subarray(0, 12);
  const garbled = Buffer.from(encodeRecords([{ id: 'd', rev: 1 }]).toString().replace('"d"', '"e"'));
  const unfinished = encodeRecords([{ id: 'f', rev: 1 }]).subarray(0, -1);
  const bytes = Buffer.concat([good, torn, garbled, unfinished]);
  const read = parseRecords<{ id: string }>(bytes);
  assert.deepEqual(read.records.map((r) => r.id), ['a', 'b']);
  assert.equal(read.skipped, 2);
  assert.equal(read.consumed, bytes.length - unfinished.length + 1, 'stops after the last newline (the unfinished line’s leading one)');
});

test('a journal whose last write was torn opens with every complete job, and takes new ones after it', async (t) => {
  const dir = await tempDir(t);
  const queue = await JournalQueue.open({ dir });
  const first = await queue.add({ name: 'asset', data: { n: 1 } });
  await queue.close();
  // Half a record, as a process killed mid-write leaves it.
  await appendFile(join(dir, 'journal'), encodeRecords([{ id: 'asset-torn', rev: 1 }]).subarray(0, 30));
  const again = await JournalQueue.open({ dir });
  t.after(() => again.close());
  assert.equal((await again.get(first))?.state, 'waiting');
  const second = await again.add({ name: 'asset', data: { n: 2 } });
  const reader = await JournalQueue.open({ dir });
  t.after(() => reader.close());
  assert.deepEqual((await reader.list()).map((j) => j.id).sort(), [first, second].sort());
});

// A child process that adds jobs as fast as it can and prints each id once add() resolved.
function adder(dir: string, label: string) {
  const script = `
    const { JournalQueue } = await import(${JSON.stringify(QUEUE)});
    const queue = await JournalQueue.open({ dir: ${JSON.stringify(dir)} });
    for (let i = 0; ; i++) {
      const id = await queue.add({ name: 'asset', data: { by: ${JSON.stringify(label)}, i, pad: 'x'.repeat(200) } });
      process.stdout.write(id + '\\n');
    }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const acked: string[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    acked.push(...lines);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, acked, exited };
}

test('kill -9 while appending loses no acknowledged job and leaves a journal that opens', async (t) => {
  const dir = await tempDir(t);
  const a = adder(dir, 'a');
  await waitFor(() => a.acked.length >= 300, 'the adder to acknowledge 300 jobs', 30_000);
  a.child.kill('SIGKILL');
  await a.exited;
  const queue = await JournalQueue.open({ dir });
  t.after(() => queue.close());
  const ids = new Set((await queue.list({ limit: 1_000_000 })).map((j) => j.id));
  const lost = a.acked.filter((id) => !ids.has(id));
  assert.deepEqual(lost, [], 'every job whose add() resolved is in the journal');
  assert.ok(ids.size >= a.acked.length);
});

test('compactions while two other processes append lose nothing and keep the journal small', async (t) => {
  const dir = await tempDir(t);
  const queue = await JournalQueue.open({ dir, keepFinished: 10 });
  t.after(() => queue.close());
  // Finished jobs for the compaction to drop.
  const done: StoredJob[] = Array.from({ length: 50 }, (_, i) => ({ id: `asset-done${i}`, name: 'asset', data: {}, state: 'done', rev: 3, attempts: 1, maxAttempts: 3, backoffMs: 1000, createdAt: i, finishedAt: 1000 + i }));
  await queue.write(done);
  const adders = [adder(dir, 'a'), adder(dir, 'b')];
  let compactions = 0;
  await waitFor(async () => {
    await queue.compact();
    compactions++;
    return adders.every((x) => x.acked.length >= 150);
  }, 'both adders to acknowledge 150 jobs', 60_000);
  for (const x of adders) x.child.kill('SIGKILL');
  await Promise.all(adders.map((x) => x.exited));
  await queue.compact();
  const reader = await JournalQueue.open({ dir });
  t.after(() => reader.close());
  const jobs = await reader.list({ limit: 1_000_000 });
  const ids = new Set(jobs.map((j) => j.id));
  for (const x of adders) assert.deepEqual(x.acked.filter((id) => !ids.has(id)), [], `every job ${x === adders[0] ? 'a' : 'b'} acknowledged survived ${compactions} compactions`);
  const kept = jobs.filter((j) => j.state === 'done').map((j) => j.id);
  assert.deepEqual(kept.sort(), Array.from({ length: 10 }, (_, i) => `asset-done${40 + i}`).sort(), 'the newest 10 finished jobs are kept');
  const lines = (await readFile(join(dir, 'journal'), 'utf8')).split('\n').filter(Boolean).length;
  assert.equal(lines, jobs.length, 'one line per job after the last compaction');
});

test('a second worker waits for the first; after the first dies, its running job is an interrupted attempt', async (t) => {
  const dir = await tempDir(t);
  const queue = await JournalQueue.open({ dir, pollMs: 20 });
  t.after(() => queue.close());
  // A worker that died mid-job: its lock names a pid that no longer runs, its jobs say running.
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => dead.once('exit', resolve));
  await writeFile(join(dir, 'worker.lock'), `${dead.pid} abc ${new Date().toISOString()}\n`);
  const again = await queue.add({ name: 'asset', data: { which: 'again' } });
  const spent = await queue.add({ name: 'asset', data: { which: 'spent' }, opts: { attempts: 1 } });
  for (const id of [again, spent]) {
    const job = queue.jobs.get(id)!;
    await queue.write([{ ...job, rev: job.rev + 1, state: 'running', attempts: 1, startedAt: Date.now() }]);
  }
  const ran: string[] = [];
  const first = queue.work({ handlers: { asset: async (job) => void ran.push((job.data as { which: string }).which) } });
  await first.started;
  const retried = await waitFor(async () => (await queue.get(again))?.state === 'done', 'the interrupted job to run again').then(() => queue.get(again));
  assert.equal(retried?.attempts, 2);
  assert.deepEqual(ran, ['again']);
  const failed = await queue.get(spent);
  assert.equal(failed?.state, 'failed');
  assert.match(failed!.error!, /^interrupted/);

  // While the first worker lives, a second one waits.
  const other = await JournalQueue.open({ dir, pollMs: 20 });
  t.after(() => other.close());
  let secondStarted = false;
  const second = other.work({ handlers: { asset: async (job) => void ran.push(`second:${(job.data as { which: string }).which}`) } });
  void second.started.then(() => (secondStarted = true));
  const later = await queue.add({ name: 'asset', data: { which: 'later' } });
  await waitFor(async () => (await queue.get(later))?.state === 'done', 'the first worker to run a new job');
  assert.equal(secondStarted, false, 'the second worker is still waiting for the lock');
  await first.stop();
  await second.started;
  const last = await other.add({ name: 'asset', data: { which: 'last' } });
  await waitFor(async () => (await other.get(last))?.state === 'done', 'the second worker to run a job');
  assert.deepEqual(ran, ['again', 'later', 'second:last']);
  await second.stop();
});
