// The file of purges waiting for Redis: what is appended is there, in order, after a restart; a
// last line cut short by a kill is dropped (and the file made whole before the next append); purges
// that went out leave the file, which is gone once nothing waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PurgeRequest } from '../cache/purge-target.js';
import { FilePurgeQueue, type PurgeQueueProblem } from './purge-queue.js';

function folder(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'blotcdn-purge-queue-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function drain(q: FilePurgeQueue): PurgeRequest[] {
  const out: PurgeRequest[] = [];
  for (let p = q.peek(); p !== undefined; p = q.peek()) {
    out.push(p);
    q.shift();
  }
  return out;
}

const a: PurgeRequest = { kind: 'url', value: 'https://a.test/x' };
const b: PurgeRequest = { kind: 'host', value: 'b.test', soft: true };
const c: PurgeRequest = { kind: 'tag', value: 'post-1' };

test('purges appended are read back in order by the next start, and leave the file as they go out', (t) => {
  const dir = folder(t);
  const first = new FilePurgeQueue(dir);
  first.push(a);
  first.push(b);
  const again = new FilePurgeQueue(dir);
  assert.equal(again.length, 2);
  assert.deepEqual(again.peek(), a);
  again.shift();
  assert.equal(new FilePurgeQueue(dir).length, 2, 'one sent is rewritten away in batches: a kill before then sends it again');
  again.shift();
  assert.equal(existsSync(again.path), false, 'nothing waits: no file');
  assert.equal(new FilePurgeQueue(dir).length, 0);
});

test('a last line cut short is dropped and reported; the file is whole again before the next append', (t) => {
  const dir = folder(t);
  const q = new FilePurgeQueue(dir);
  q.push(a);
  q.push(b);
  // A kill -9 in the middle of the third append.
  appendFileSync(q.path, JSON.stringify(c).slice(0, 12));
  const problems: [PurgeQueueProblem, Record<string, unknown>][] = [];
  const restarted = new FilePurgeQueue(dir, (p, d) => problems.push([p, d]));
  assert.deepEqual(problems.map(([p, d]) => [p, d.dropped, d.kept]), [['purge_queue_damaged', 1, 2]]);
  restarted.push(c);
  assert.deepEqual(drain(new FilePurgeQueue(dir, () => assert.fail('no damage after the rewrite'))), [a, b, c]);
});

test('lines that are not purges are dropped, the rest kept; an unreadable folder is no purge at all', (t) => {
  const dir = folder(t);
  writeFileSync(join(dir, 'purge-queue.jsonl'), `${JSON.stringify(a)}\nnot json\n${JSON.stringify({ kind: 'everything', value: 'x' })}\n${JSON.stringify(c)}\n`);
  const problems: PurgeQueueProblem[] = [];
  const q = new FilePurgeQueue(dir, (p) => problems.push(p));
  assert.deepEqual(problems, ['purge_queue_damaged']);
  assert.deepEqual(drain(q), [a, c]);
  assert.equal(new FilePurgeQueue(join(dir, 'missing')).length, 0);
});

test('a purge that cannot be written is kept in memory and reported', (t) => {
  const dir = folder(t);
  const problems: PurgeQueueProblem[] = [];
  const q = new FilePurgeQueue(join(dir, 'gone'), (p) => problems.push(p));
  q.push(a);
  assert.deepEqual(problems, ['purge_queue_unsaved']);
  assert.deepEqual(q.peek(), a);
});
