// One way in to either queue backend, from options that say where the jobs live: a folder (the
// embedded journal) or a Redis URL (BullMQ). The BullMQ backend and its dependencies are loaded only
// when asked for.
import type { BullQueueOptions } from './bullmq-queue.js';
import type { JobQueue } from './job-queue.js';
import { JournalQueue, type JournalQueueOptions } from './journal-queue.js';

export type JobQueueOptions = JournalQueueOptions | (Omit<BullQueueOptions, 'url'> & { redis: string });

export async function openJobQueue(options: JobQueueOptions): Promise<JobQueue> {
  if ('redis' in options) {
    const { BullQueue } = await import('./bullmq-queue.js');
    const { redis, ...rest } = options;
    return BullQueue.open({ ...rest, url: redis });
  }
  if (typeof options.dir !== 'string' || options.dir === '') throw new TypeError('a job queue needs a dir (the embedded journal) or a redis URL');
  return JournalQueue.open(options);
}
