// The publishing queue as the edge sees it: the queue named by the config's `jobs` block (the journal
// folder or Redis the origin app's `blotcdn/origin` queues into), opened on first use and only read
// — for GET /jobs, the dashboard and `blotcdn jobs --config`.
import type { EdgeConfig } from '../config/schema.js';
import { openJobQueue, queueReport, type JobQueue, type QueueReport } from '../origin-lib/index.js';

export function jobQueueFromConfig(config: Pick<EdgeConfig, 'jobs' | 'redis'>): Promise<JobQueue> {
  const jobs = config.jobs;
  if (!jobs) throw new Error('the config has no jobs section');
  const redis = jobs.redis === true ? config.redis?.url : jobs.redis;
  if (jobs.redis !== undefined && !redis) throw new Error('jobs.redis: true needs a top-level redis.url');
  return redis ? openJobQueue({ redis, prefix: jobs.prefix }) : openJobQueue({ dir: jobs.dir! });
}

export class JobQueueView {
  private queue: Promise<JobQueue> | undefined;

  constructor(private readonly config: Pick<EdgeConfig, 'jobs' | 'redis'>) {}

  /** Counts, recent publishes and failed jobs. A queue that cannot be opened is tried again next time. */
  async report(): Promise<QueueReport> {
    this.queue ??= jobQueueFromConfig(this.config);
    this.queue.catch(() => (this.queue = undefined));
    return queueReport(await this.queue);
  }

  async close(): Promise<void> {
    const queue = await this.queue?.catch(() => undefined);
    this.queue = undefined;
    await queue?.close();
  }
}
