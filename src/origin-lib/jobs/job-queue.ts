// The queue behind publishing: one small interface over two backends — a journal on disk (the
// embedded default: one host, jobs run by one worker process at a time) and BullMQ on Redis (any app
// server or worker runs jobs). One contract test (test/job-queue-contract.test.ts) runs against both.
// Jobs have a name (which handler runs them), data (JSON), retries with exponential backoff, and may
// form a flow: a parent that runs once all its children have finished, whether or not they failed.

/** Where a job is. `blocked`: a parent waiting for its children; `delayed`: waiting to be retried. */
export type JobState = 'waiting' | 'delayed' | 'blocked' | 'running' | 'done' | 'failed';
export const JOB_STATES: readonly JobState[] = ['waiting', 'delayed', 'blocked', 'running', 'done', 'failed'];

export interface JobOptions {
  /** Attempts before the job is failed for good (default 3). */
  attempts?: number;
  /** Wait before the first retry; doubled for each later one (default 1000 ms). */
  backoffMs?: number;
}

export interface NewJob<D = unknown> {
  name: string;
  data: D;
  opts?: JobOptions;
}

export interface JobInfo<D = unknown, R = unknown> {
  id: string;
  name: string;
  data: D;
  state: JobState;
  /** Attempts started so far. */
  attempts: number;
  maxAttempts: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** When a delayed job runs again. */
  runAt?: number;
  /** The last attempt's error. */
  error?: string;
  result?: R;
  parent?: string;
  children?: string[];
  /** A parent's children that failed for good, with their errors. */
  failedChildren?: { id: string; error: string }[];
}

export type JobCounts = Record<JobState, number>;

/** Runs one job; what it resolves with becomes the job's result. Throw to fail the attempt; an
 *  error with `permanent: true` (AssetError's option) fails the job at once, without retries. */
export type JobHandler = (job: JobInfo) => Promise<unknown>;

export interface WorkOptions {
  handlers: Record<string, JobHandler>;
  /** Jobs of one name run at once, per name or for every name (default 1). */
  concurrency?: number | Record<string, number>;
  /** A handler's failure, or a background failure of the worker itself (for logs). */
  onError?: (err: Error, job?: JobInfo) => void;
}

export interface JobWorker {
  /** Resolves once this worker runs jobs (the journal backend has one worker per folder at a time;
   *  a second one waits for the first to stop or die). */
  readonly started: Promise<void>;
  /** Stops taking jobs and waits for the running ones to finish. */
  stop(): Promise<void>;
}

export interface ListOptions {
  states?: JobState[];
  name?: string;
  /** Newest first; default 50. */
  limit?: number;
}

export interface JobQueue {
  readonly backend: 'journal' | 'bullmq';
  /** Resolves once the job is durably queued: in the journal (a crash of any process loses it no
   *  more; on disk within a second by default, see JournalQueueOptions.fsync), or in Redis. */
  add<D>(job: NewJob<D>): Promise<string>;
  /** A parent and its children, queued together: the parent runs once every child has finished. */
  addFlow(parent: NewJob, children: NewJob[]): Promise<{ id: string; children: string[] }>;
  get(id: string): Promise<JobInfo | undefined>;
  list(options?: ListOptions): Promise<JobInfo[]>;
  counts(): Promise<JobCounts>;
  /** Puts a failed job back in line with its attempts reset; throws for an unknown or unfailed job. */
  retry(id: string): Promise<void>;
  /** Runs jobs in this process until the worker is stopped. */
  work(options: WorkOptions): JobWorker;
  close(): Promise<void>;
}

export interface QueueDefaults {
  /** Job names this queue carries (BullMQ keeps one Redis queue per name); default asset, publish. */
  names?: string[];
}

export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 1000;
const NAME = /^[a-z][a-z0-9_]{0,31}$/;

/** Job names are short identifiers; ids are `{name}-{time}{random}`, so an id says its queue. */
export function checkNames(names: string[]): string[] {
  for (const n of names) if (!NAME.test(n)) throw new TypeError(`job name ${JSON.stringify(n)}: lower-case letters, digits and _ only`);
  return names;
}

export function newJobId(name: string): string {
  const random = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, '0');
  return `${name}-${Date.now().toString(36)}${random}`;
}

export function nameOfId(id: string): string | undefined {
  const dash = id.indexOf('-');
  return dash > 0 ? id.slice(0, dash) : undefined;
}

/** The wait before retry number `attempt` (1 = the first retry). */
export function backoffDelay(backoffMs: number, attempt: number): number {
  return backoffMs * 2 ** Math.max(0, attempt - 1);
}

/** Was the job's error marked as one retrying cannot help? */
export function isPermanent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true;
}

export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as Error & { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
}

export function concurrencyFor(option: WorkOptions['concurrency'], name: string): number {
  const n = typeof option === 'number' ? option : (option?.[name] ?? 1);
  return Math.max(1, Math.floor(n));
}

export function emptyCounts(): JobCounts {
  return { waiting: 0, delayed: 0, blocked: 0, running: 0, done: 0, failed: 0 };
}
