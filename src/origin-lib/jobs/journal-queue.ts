// The embedded queue: jobs kept in one journal file in a folder on the app server's disk (see
// journal-file.ts for how processes share it). Any process may queue jobs and read their status;
// one worker per folder runs them (journal-worker.ts). Every record is a job's whole state with a
// revision number, so replaying the file in any order of duplicates gives the same jobs, and a crash
// at any point leaves either the old state or the new one.
import { mkdir } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { AssetError } from '../asset-error.js';
import { catchUp } from '../catch-up.js';
import { encodeRecords } from './journal-format.js';
import { JournalFile, type FsyncMode, type JournalCursor } from './journal-file.js';
import { JournalWorker } from './journal-worker.js';
import {
  checkNames, DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, emptyCounts, newJobId,
  type JobCounts, type JobInfo, type JobQueue, type JobWorker, type ListOptions, type NewJob, type QueueDefaults, type WorkOptions,
} from './job-queue.js';

export interface JournalQueueOptions extends QueueDefaults {
  /** The folder holding the journal (created if needed). */
  dir: string;
  /** When writes reach the disk (journal-file.ts): 'interval' (default) within a second, 'always'
   *  before add() resolves, 'never' left to the kernel. A crashed process loses nothing either way. */
  fsync?: FsyncMode;
  /** Finished jobs kept by a compaction, done and failed each (default 1000). */
  keepFinished?: number;
  /** The worker compacts once it appended this much since the last compaction (default 1 MiB). */
  compactBytes?: number;
  /** How often a worker looks for jobs other processes queued, besides file-change events (ms). */
  pollMs?: number;
}

/** A job as the journal holds it. */
export interface StoredJob extends JobInfo {
  rev: number;
  backoffMs: number;
  worker?: string;
}

export class JournalQueue implements JobQueue {
  readonly backend = 'journal' as const;
  readonly names: Set<string>;
  /** Every job, in the order first seen (oldest first). */
  readonly jobs = new Map<string, StoredJob>();
  /** Waiting and delayed jobs by name, oldest first: what a worker picks from. */
  readonly runnable = new Map<string, Set<string>>();
  readonly file: JournalFile;
  private cursor: JournalCursor | undefined;
  private readonly catchUp = catchUp(() => this.readNew());
  private readonly listeners = new Set<() => void>();
  private watcher: FSWatcher | undefined;
  private closed = false;

  private constructor(readonly options: JournalQueueOptions) {
    this.names = new Set(checkNames(options.names ?? ['asset', 'publish']));
    for (const n of this.names) this.runnable.set(n, new Set());
    this.file = new JournalFile(join(options.dir, 'journal'), options.fsync ?? 'interval');
  }

  static async open(options: JournalQueueOptions): Promise<JournalQueue> {
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const queue = new JournalQueue(options);
    await queue.refresh();
    return queue;
  }

  get dir(): string {
    return this.options.dir;
  }

  async add<D>(job: NewJob<D>): Promise<string> {
    const stored = this.newJob(job, newJobId(this.checkName(job.name)));
    await this.write([stored]);
    return stored.id;
  }

  async addFlow(parent: NewJob, children: NewJob[]): Promise<{ id: string; children: string[] }> {
    const id = newJobId(this.checkName(parent.name));
    const kids = children.map((c) => this.newJob(c, newJobId(this.checkName(c.name)), id));
    const top = this.newJob(parent, id);
    if (kids.length > 0) Object.assign(top, { state: 'blocked', children: kids.map((k) => k.id) });
    // Children first: a reader that stops mid-batch never sees a parent without its children.
    await this.write([...kids, top]);
    return { id, children: top.children ?? [] };
  }

  async get(id: string): Promise<JobInfo | undefined> {
    await this.refresh();
    const job = this.jobs.get(id);
    return job && publicJob(job);
  }

  async list(options: ListOptions = {}): Promise<JobInfo[]> {
    await this.refresh();
    const out: JobInfo[] = [];
    const limit = options.limit ?? 50;
    const all = [...this.jobs.values()];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const job = all[i]!;
      if ((options.states && !options.states.includes(job.state)) || (options.name && job.name !== options.name)) continue;
      out.push(publicJob(job));
    }
    return out;
  }

  async counts(): Promise<JobCounts> {
    await this.refresh();
    const counts = emptyCounts();
    for (const job of this.jobs.values()) counts[job.state]++;
    return counts;
  }

  async retry(id: string): Promise<void> {
    await this.refresh();
    const job = this.jobs.get(id);
    if (!job) throw new AssetError('unknown_job', `no job ${id} in ${this.dir}`);
    if (job.state !== 'failed') throw new AssetError('job_not_failed', `job ${id} is ${job.state}: only failed jobs can be retried`);
    const { error: _e, finishedAt: _f, runAt: _r, worker: _w, ...rest } = job;
    await this.write([{ ...rest, rev: job.rev + 1, state: 'waiting', attempts: 0 }]);
  }

  work(options: WorkOptions): JobWorker {
    for (const name of Object.keys(options.handlers)) this.checkName(name);
    return new JournalWorker(this, options);
  }

  /** Writes job states durably, then applies them here. */
  async write(jobs: StoredJob[]): Promise<void> {
    if (this.closed) throw new AssetError('queue_unavailable', 'the job queue is closed');
    await this.file.append(encodeRecords(jobs));
    for (const job of jobs) this.apply(job);
    this.notify();
  }

  /** Reads what was appended since the last look; concurrent calls share one read (catch-up.ts). */
  refresh(): Promise<void> {
    return this.catchUp();
  }

  private async readNew(): Promise<void> {
    const read = await this.file.read<StoredJob>(this.cursor);
    if (read.reset && this.cursor !== undefined) {
      this.jobs.clear();
      for (const set of this.runnable.values()) set.clear();
    }
    this.cursor = read.cursor;
    for (const job of read.records) this.apply(job);
    if (read.records.length > 0 || read.reset) this.notify();
  }

  /** Rewrites the journal with only the jobs worth keeping (the worker calls this). */
  compact(): Promise<void> {
    return this.file.compact((records) => encodeRecords(retained(fold(records as StoredJob[]), this.options.keepFinished ?? 1000)));
  }

  /** Called after jobs change (here or, once seen, in another process). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    if (!this.watcher) this.startWatching();
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    await this.catchUp.running?.catch(() => undefined);
    await this.file.close();
  }

  private apply(job: StoredJob): void {
    const current = this.jobs.get(job.id);
    if (current && current.rev >= job.rev) return;
    this.jobs.set(job.id, job);
    const set = this.runnable.get(job.name);
    if (!set) return;
    if (job.state === 'waiting' || job.state === 'delayed') set.add(job.id);
    else set.delete(job.id);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  private checkName(name: string): string {
    if (!this.names.has(name)) throw new AssetError('unknown_job', `no job name ${JSON.stringify(name)} in this queue (names: ${[...this.names].join(', ')})`);
    return name;
  }

  private newJob(job: NewJob, id: string, parent?: string): StoredJob {
    const attempts = job.opts?.attempts ?? DEFAULT_ATTEMPTS;
    if (!Number.isInteger(attempts) || attempts < 1) throw new TypeError(`attempts must be a whole number ≥ 1, not ${attempts}`);
    return {
      id, name: job.name, data: job.data, state: 'waiting', rev: 1, attempts: 0, maxAttempts: attempts,
      backoffMs: job.opts?.backoffMs ?? DEFAULT_BACKOFF_MS, createdAt: Date.now(), ...(parent ? { parent } : {}),
    };
  }

  // inotify tells within milliseconds; the poll covers file systems without it.
  private startWatching(): void {
    const refresh = () => {
      if (!this.closed) this.refresh().catch(() => undefined);
    };
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, name) => (name === null || name === 'journal') && refresh());
      this.watcher.on('error', () => undefined);
    } catch {
      // No inotify: the worker's poll alone finds other processes' jobs.
    }
  }
}

/** A job as callers see it (without the journal's bookkeeping). */
export function publicJob(job: StoredJob): JobInfo {
  const { rev: _rev, backoffMs: _b, worker: _w, ...info } = job;
  return info;
}

/** The newest revision of each job, in first-seen order. */
function fold(records: StoredJob[]): Map<string, StoredJob> {
  const jobs = new Map<string, StoredJob>();
  for (const r of records) {
    const current = jobs.get(r.id);
    if (!current || current.rev < r.rev) jobs.set(r.id, r);
  }
  return jobs;
}

/** Every unfinished job, the newest `keep` done and `keep` failed ones, and the children of kept parents. */
function retained(jobs: Map<string, StoredJob>, keep: number): StoredJob[] {
  const finished = (state: string) => [...jobs.values()].filter((j) => j.state === state).sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0));
  const kept = new Set<string>([...finished('done').slice(0, keep), ...finished('failed').slice(0, keep)].map((j) => j.id));
  for (const job of jobs.values()) if (job.state !== 'done' && job.state !== 'failed') kept.add(job.id);
  for (const job of jobs.values()) if (job.parent !== undefined && kept.has(job.parent)) kept.add(job.id);
  return [...jobs.values()].filter((j) => kept.has(j.id));
}
