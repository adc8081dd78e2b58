// Runs the journal queue's jobs in this process. One worker per folder at a time, by a lock held for
// the process's life: a second worker (another app server on the host, a restarted process) waits
// until the first stops or dies, then takes over. Jobs the dead worker was running are counted as an
// interrupted attempt and run again (or failed, once out of attempts: a job that kills its worker
// every time must not kill every worker after it).
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tryFileLock, type FileLock } from '../file-lock.js';
import { backoffDelay, concurrencyFor, errorText, isPermanent, type JobWorker, type WorkOptions } from './job-queue.js';
import { publicJob, type JournalQueue, type StoredJob } from './journal-queue.js';

export class JournalWorker implements JobWorker {
  readonly started: Promise<void>;
  private readonly id = `${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly running = new Map<string, Promise<void>>();
  private readonly busy = new Map<string, number>();
  private lock: FileLock | null = null;
  private stopping = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly queue: JournalQueue,
    private readonly options: WorkOptions,
  ) {
    this.started = this.start();
    this.started.catch((err) => this.options.onError?.(err as Error));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.wakeTimer);
    clearInterval(this.poller);
    this.unsubscribe?.();
    while (this.running.size > 0) await Promise.all(this.running.values());
    await this.lock?.release();
    this.lock = null;
  }

  private async start(): Promise<void> {
    const lockFile = join(this.queue.dir, 'worker.lock');
    const pollMs = this.queue.options.pollMs ?? 1000;
    while (!this.stopping && !(this.lock = await tryFileLock(lockFile, { whileAlive: true }))) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, 500)));
    }
    if (this.stopping) return void (await this.lock?.release());
    await this.queue.refresh();
    await this.recoverInterrupted();
    this.unsubscribe = this.queue.onChange(() => this.schedule());
    // Not unref'd: a running worker keeps its process alive until stop().
    this.poller = setInterval(() => this.queue.refresh().catch((err) => this.options.onError?.(err as Error)), pollMs);
    this.schedule();
  }

  /** Jobs left running by a worker that is gone, and parents whose children all finished meanwhile. */
  private async recoverInterrupted(): Promise<void> {
    const updates: StoredJob[] = [];
    const now = Date.now();
    for (const job of this.queue.jobs.values()) {
      if (job.state !== 'running') continue;
      const error = `interrupted: the worker stopped while running it (attempt ${job.attempts})`;
      updates.push(job.attempts >= job.maxAttempts ? { ...job, rev: job.rev + 1, state: 'failed', finishedAt: now, error } : { ...job, rev: job.rev + 1, state: 'waiting', error });
    }
    if (updates.length > 0) await this.queue.write(updates);
    const parents = new Set([...this.queue.jobs.values()].filter((j) => j.state === 'blocked').map((j) => j.id));
    const unblocked = [...parents].map((id) => this.unblocked(id, [])).filter((j): j is StoredJob => j !== undefined);
    if (unblocked.length > 0) await this.queue.write(unblocked);
  }

  /** Starts every job that may run now, within each name's concurrency. */
  private schedule(): void {
    if (this.stopping || !this.lock) return;
    clearTimeout(this.wakeTimer);
    const now = Date.now();
    let nextRunAt = Infinity;
    for (const name of Object.keys(this.options.handlers)) {
      const limit = concurrencyFor(this.options.concurrency, name);
      for (const id of this.queue.runnable.get(name) ?? []) {
        if ((this.busy.get(name) ?? 0) >= limit) break;
        const job = this.queue.jobs.get(id)!;
        if (this.running.has(id)) continue;
        if (job.runAt !== undefined && job.runAt > now) {
          nextRunAt = Math.min(nextRunAt, job.runAt);
          continue;
        }
        this.launch(job);
      }
    }
    if (nextRunAt < Infinity) this.wakeTimer = setTimeout(() => this.schedule(), nextRunAt - now).unref();
  }

  private launch(job: StoredJob): void {
    this.busy.set(job.name, (this.busy.get(job.name) ?? 0) + 1);
    const run = this.run(job)
      .catch((err) => this.options.onError?.(err as Error, publicJob(job)))
      .finally(() => {
        this.running.delete(job.id);
        this.busy.set(job.name, this.busy.get(job.name)! - 1);
        this.schedule();
      });
    this.running.set(job.id, run);
  }

  private async run(waiting: StoredJob): Promise<void> {
    const { runAt: _r, ...rest } = waiting;
    const job: StoredJob = { ...rest, rev: waiting.rev + 1, state: 'running', attempts: waiting.attempts + 1, startedAt: Date.now(), worker: this.id };
    await this.queue.write([job]);
    let next: StoredJob;
    try {
      const result = await this.options.handlers[job.name]!(publicJob(job));
      const { error: _e, ...ok } = job;
      next = { ...ok, rev: job.rev + 1, state: 'done', finishedAt: Date.now(), ...(result === undefined ? {} : { result }) };
    } catch (err) {
      this.options.onError?.(err as Error, publicJob(job));
      const error = errorText(err);
      if (isPermanent(err) || job.attempts >= job.maxAttempts) {
        next = { ...job, rev: job.rev + 1, state: 'failed', finishedAt: Date.now(), error };
      } else {
        next = { ...job, rev: job.rev + 1, state: 'delayed', runAt: Date.now() + backoffDelay(job.backoffMs, job.attempts), error };
      }
    }
    const updates = [next];
    if ((next.state === 'done' || next.state === 'failed') && next.parent !== undefined) {
      const parent = this.unblocked(next.parent, updates);
      if (parent) updates.push(parent);
    }
    await this.queue.write(updates);
    if (this.queue.file.appended > (this.queue.options.compactBytes ?? 1024 * 1024)) await this.queue.compact();
  }

  /** The parent's next state if every child has finished (counting `pending` updates), else undefined. */
  private unblocked(parentId: string, pending: StoredJob[]): StoredJob | undefined {
    const parent = this.queue.jobs.get(parentId);
    if (!parent || parent.state !== 'blocked') return undefined;
    const failedChildren: { id: string; error: string }[] = [];
    for (const id of parent.children ?? []) {
      const child = pending.find((p) => p.id === id) ?? this.queue.jobs.get(id);
      if (child && child.state !== 'done' && child.state !== 'failed') return undefined;
      if (!child || child.state === 'failed') failedChildren.push({ id, error: child?.error ?? 'the job is gone from the journal' });
    }
    return { ...parent, rev: parent.rev + 1, state: 'waiting', ...(failedChildren.length > 0 ? { failedChildren } : {}) };
  }
}
