// The queue on Redis, for many app servers: BullMQ, one BullMQ queue per job name (so each name has
// its own worker concurrency), flows with FlowProducer (children that fail for good do not hold their
// parent back: ignoreDependencyOnFailure), retries with exponential backoff, stalled jobs (a worker
// that died) moved back to waiting by BullMQ's own checker. bullmq and ioredis are imported here
// only, lazily, so importing `blotcdn/origin` never loads them.
import type { FlowProducer, Job, Queue, Worker } from 'bullmq';
import { AssetError } from '../asset-error.js';
import {
  checkNames, concurrencyFor, DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, emptyCounts, errorText, isPermanent, nameOfId, newJobId,
  type JobCounts, type JobInfo, type JobQueue, type JobState, type JobWorker, type ListOptions, type NewJob, type QueueDefaults, type WorkOptions,
} from './job-queue.js';

export interface BullQueueOptions extends QueueDefaults {
  /** `redis://…` or `rediss://…`. */
  url: string;
  /** Prefix of BullMQ's Redis keys (default `blotcdn:jobs`). */
  prefix?: string;
  /** Finished jobs kept, done and failed each, per name (default 1000). */
  keepFinished?: number;
  /** A running job's lock; a worker that dies is noticed once it lapses (default 30 s). */
  lockMs?: number;
  /** How often workers look for stalled jobs (default half of lockMs). */
  stalledCheckMs?: number;
}

/** What each BullMQ job carries: the job's data, and a parent's children (ids made here). */
interface Envelope {
  data: unknown;
  children?: string[];
}

const BULL_STATES: Record<JobState, string[]> = {
  waiting: ['waiting', 'prioritized'],
  delayed: ['delayed'],
  blocked: ['waiting-children'],
  running: ['active'],
  done: ['completed'],
  failed: ['failed'],
};

export class BullQueue implements JobQueue {
  readonly backend = 'bullmq' as const;
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Set<Worker>();

  private constructor(
    private readonly bull: typeof import('bullmq'),
    private readonly flows: FlowProducer,
    private readonly connection: Record<string, unknown>,
    private readonly options: BullQueueOptions,
  ) {
    for (const name of checkNames(options.names ?? ['asset', 'publish'])) {
      this.queues.set(name, new bull.Queue(name, { connection, prefix: this.prefix }));
    }
  }

  static async open(options: BullQueueOptions): Promise<BullQueue> {
    const bull = await import('bullmq');
    const connection = connectionOptions(options.url);
    const flows = new bull.FlowProducer({ connection, prefix: options.prefix ?? 'blotcdn:jobs' });
    const queue = new BullQueue(bull, flows, connection, options);
    try {
      await Promise.all([...queue.queues.values()].map((q) => q.waitUntilReady()));
    } catch (err) {
      await queue.close();
      throw new AssetError('queue_unavailable', `Redis at ${options.url} cannot be reached: ${(err as Error).message}`, { cause: err });
    }
    return queue;
  }

  private get prefix(): string {
    return this.options.prefix ?? 'blotcdn:jobs';
  }

  async add<D>(job: NewJob<D>): Promise<string> {
    const id = newJobId(job.name);
    await this.queue(job.name).add(job.name, { data: job.data } satisfies Envelope, this.jobOptions(job, id));
    return id;
  }

  async addFlow(parent: NewJob, children: NewJob[]): Promise<{ id: string; children: string[] }> {
    const id = newJobId(parent.name);
    const kids = children.map((c) => ({ job: c, id: newJobId(this.queue(c.name).name) }));
    this.queue(parent.name);
    await this.flows.add({
      name: parent.name,
      queueName: parent.name,
      data: { data: parent.data, children: kids.map((k) => k.id) } satisfies Envelope,
      opts: this.jobOptions(parent, id),
      children: kids.map((k) => ({
        name: k.job.name,
        queueName: k.job.name,
        data: { data: k.job.data } satisfies Envelope,
        opts: { ...this.jobOptions(k.job, k.id), ignoreDependencyOnFailure: true },
      })),
    });
    return { id, children: kids.map((k) => k.id) };
  }

  async get(id: string): Promise<JobInfo | undefined> {
    const name = nameOfId(id);
    const queue = name === undefined ? undefined : this.queues.get(name);
    if (!queue) return undefined;
    // The state first: read after the job's fields, a job finishing in between would show as done
    // without its result. (A finished state does not change back on its own.)
    const state = await queue.getJobState(id);
    const job = await queue.getJob(id);
    return job && state !== 'unknown' ? this.info(job, toState(state)) : undefined;
  }

  async list(options: ListOptions = {}): Promise<JobInfo[]> {
    const limit = options.limit ?? 50;
    const states = options.states ?? (Object.keys(BULL_STATES) as JobState[]);
    const found: JobInfo[] = [];
    for (const [name, queue] of this.queues) {
      if (options.name && options.name !== name) continue;
      for (const state of states) {
        const jobs = await queue.getJobs(BULL_STATES[state] as never, 0, limit - 1, false);
        for (const job of jobs) if (job) found.push(await this.info(job as Job, state));
      }
    }
    return found.sort((a, b) => b.createdAt - a.createdAt || (b.id > a.id ? 1 : -1)).slice(0, limit);
  }

  async counts(): Promise<JobCounts> {
    const counts = emptyCounts();
    for (const queue of this.queues.values()) {
      const c = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'waiting-children', 'active', 'completed', 'failed');
      for (const [state, kinds] of Object.entries(BULL_STATES)) for (const k of kinds) counts[state as JobState] += c[k] ?? 0;
    }
    return counts;
  }

  async retry(id: string): Promise<void> {
    const name = nameOfId(id);
    const job = name === undefined ? undefined : await this.queues.get(name)?.getJob(id);
    if (!job) throw new AssetError('unknown_job', `no job ${id} in Redis`);
    const state = await job.getState();
    if (state !== 'failed') throw new AssetError('job_not_failed', `job ${id} is ${toState(state)}: only failed jobs can be retried`);
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  }

  work(options: WorkOptions): JobWorker {
    const workers: Worker[] = [];
    for (const [name, handler] of Object.entries(options.handlers)) {
      this.queue(name);
      const lockMs = this.options.lockMs ?? 30_000;
      // Jobs are idempotent (an asset job rewrites the same files), so a job whose lock lapsed —
      // its worker killed, or starved long enough on a busy machine — runs again instead of
      // failing at its second stall (BullMQ's default); one that kills its worker every time
      // still fails, after three.
      const worker = new this.bull.Worker(
        name,
        async (job: Job) => {
          try {
            return await handler(await this.info(job, 'running'));
          } catch (err) {
            // The code goes into the stored reason; a permanent error is not retried.
            throw isPermanent(err) ? new this.bull.UnrecoverableError(errorText(err)) : new Error(errorText(err));
          }
        },
        { connection: this.connection, prefix: this.prefix, concurrency: concurrencyFor(options.concurrency, name), lockDuration: lockMs, stalledInterval: this.options.stalledCheckMs ?? lockMs / 2, maxStalledCount: 3 },
      );
      worker.on('error', (err) => options.onError?.(err));
      worker.on('failed', (job, err) => options.onError?.(err, job ? { id: job.id!, name, data: (job.data as Envelope).data } as JobInfo : undefined));
      workers.push(worker);
      this.workers.add(worker);
    }
    return {
      started: Promise.all(workers.map((w) => w.waitUntilReady())).then(() => undefined),
      stop: async () => {
        await Promise.all(workers.map((w) => w.close()));
        for (const w of workers) this.workers.delete(w);
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.flows.close();
  }

  private queue(name: string): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw new AssetError('unknown_job', `no job name ${JSON.stringify(name)} in this queue (names: ${[...this.queues.keys()].join(', ')})`);
    return queue;
  }

  private jobOptions(job: NewJob, jobId: string) {
    const attempts = job.opts?.attempts ?? DEFAULT_ATTEMPTS;
    if (!Number.isInteger(attempts) || attempts < 1) throw new TypeError(`attempts must be a whole number ≥ 1, not ${attempts}`);
    const keep = this.options.keepFinished ?? 1000;
    return { jobId, attempts, backoff: { type: 'exponential', delay: job.opts?.backoffMs ?? DEFAULT_BACKOFF_MS }, removeOnComplete: { count: keep }, removeOnFail: { count: keep } };
  }

  private async info(job: Job, state: JobState): Promise<JobInfo> {
    const envelope = job.data as Envelope;
    const info: JobInfo = {
      id: job.id!,
      name: job.name,
      data: envelope.data,
      state,
      attempts: Math.max(job.attemptsStarted ?? 0, job.attemptsMade),
      maxAttempts: job.opts.attempts ?? 1,
      createdAt: job.timestamp,
      ...(job.processedOn ? { startedAt: job.processedOn } : {}),
      ...(job.finishedOn && (state === 'done' || state === 'failed') ? { finishedAt: job.finishedOn } : {}),
      ...(job.failedReason ? { error: job.failedReason } : {}),
      ...(state === 'done' && job.returnvalue !== undefined && job.returnvalue !== null ? { result: job.returnvalue } : {}),
      ...(job.parent ? { parent: job.parent.id } : {}),
    };
    if (envelope.children) {
      info.children = envelope.children;
      const failures = Object.entries(await job.getIgnoredChildrenFailures());
      if (failures.length > 0) info.failedChildren = failures.map(([key, error]) => ({ id: key.slice(key.lastIndexOf(':') + 1), error }));
    }
    return info;
  }
}

function toState(state: string): JobState {
  for (const [ours, theirs] of Object.entries(BULL_STATES)) if (theirs.includes(state)) return ours as JobState;
  return 'waiting';
}

/** ioredis options from a URL (BullMQ makes its own connections from them). */
function connectionOptions(url: string): Record<string, unknown> {
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new TypeError(`not a redis:// URL: ${url}`);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db: Number(u.pathname.slice(1) || 0),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
