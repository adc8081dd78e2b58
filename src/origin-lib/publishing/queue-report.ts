// What the dashboard, `GET /jobs` and `blotcdn jobs list` show of a publishing queue: job counts by
// state, the recent publishes with how long each took from the publish call to fully processed and
// warmed, and the failed jobs with their errors.
import type { JobCounts, JobInfo, JobQueue } from '../jobs/job-queue.js';
import type { PublishJobResult } from './publish-job.js';
import type { PublishJobData } from './publisher.js';

export interface PublishSummary {
  id: string;
  blogID: string;
  hosts: string[];
  state: JobInfo['state'];
  createdAt: number;
  finishedAt?: number;
  /** From the publish call to the last page warmed. */
  ms?: number;
  assets: number;
  failedAssets: number;
  warmed?: number;
  warmErrors?: number;
  error?: string;
}

export interface FailedJob {
  id: string;
  name: string;
  error: string;
  attempts: number;
  finishedAt?: number;
  /** The asset's path, or the publish's blog. */
  subject?: string;
}

export interface QueueReport {
  backend: JobQueue['backend'];
  counts: JobCounts;
  publishes: PublishSummary[];
  failed: FailedJob[];
}

export async function queueReport(queue: JobQueue, limits: { publishes?: number; failed?: number } = {}): Promise<QueueReport> {
  const [counts, publishes, failed] = await Promise.all([
    queue.counts(),
    queue.list({ name: 'publish', limit: limits.publishes ?? 20 }),
    queue.list({ states: ['failed'], limit: limits.failed ?? 20 }),
  ]);
  return { backend: queue.backend, counts, publishes: publishes.map(summarise), failed: failed.map(failedJob) };
}

export function summarise(job: JobInfo): PublishSummary {
  const data = job.data as Partial<PublishJobData>;
  const result = job.result as PublishJobResult | undefined;
  const finished = job.state === 'done' || job.state === 'failed';
  return {
    id: job.id,
    blogID: data.blogID ?? '?',
    hosts: data.hosts ?? [],
    state: job.state,
    createdAt: job.createdAt,
    ...(finished && job.finishedAt ? { finishedAt: job.finishedAt, ms: job.finishedAt - job.createdAt } : {}),
    assets: job.children?.length ?? 0,
    failedAssets: (job.failedChildren ?? result?.failedAssets ?? []).length,
    ...(result ? { warmed: result.warmed.hit + result.warmed.stored, warmErrors: result.warmed.error } : {}),
    ...(job.error ? { error: job.error } : {}),
  };
}

export function failedJob(job: JobInfo): FailedJob {
  const data = job.data as { path?: string; blogID?: string };
  return { id: job.id, name: job.name, error: job.error ?? 'failed', attempts: job.attempts, ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}), ...(data?.path ?? data?.blogID ? { subject: data.path ?? data.blogID } : {}) };
}
