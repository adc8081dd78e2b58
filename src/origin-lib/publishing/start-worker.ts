// The worker side of publishing: runs asset jobs (thumbnails with sharp, a few at a time) and publish
// jobs (purge and warm on every edge) from a queue, in this process. Run it in the app server (the
// embedded default), or in a process of its own: `blotcdn jobs work`, or any app server with Redis.
import { availableParallelism } from 'node:os';
import type { Manifest } from '../manifest.js';
import type { JobQueue, JobWorker } from '../jobs/job-queue.js';
import { runAssetJob } from './asset-job.js';
import type { EdgeTarget } from './edge-admin.js';
import { runPublishJob } from './publish-job.js';
import type { AssetJobData } from './publisher.js';
import type { RenderOptions } from './thumbnails.js';
import { WarmQueue, type WarmQueueOptions } from './warm-queue.js';

export interface PublishingWorkerOptions {
  queue: JobQueue;
  /** Where versions are written, `{root}/{blogID}/{cacheID}/{path}`, and the manifest they go in. */
  root: string;
  manifest: Manifest;
  /** Every edge's admin API (and token): purged and warmed through on each publish. */
  edges?: EdgeTarget[];
  thumbnails?: RenderOptions;
  /** Asset jobs at once (default: the CPU count; sharp also threads within one image) and publish
   *  jobs at once (default 4: they mostly wait on the network). */
  concurrency?: { asset?: number; publish?: number };
  warm?: WarmQueueOptions;
  onError?: (err: Error, job?: { id: string; name: string }) => void;
}

export function startWorker(options: PublishingWorkerOptions): JobWorker {
  const warm = new WarmQueue(options.warm);
  const edges = options.edges ?? [];
  const store = { root: options.root, manifest: options.manifest, ...options.thumbnails };
  return options.queue.work({
    concurrency: { asset: options.concurrency?.asset ?? availableParallelism(), publish: options.concurrency?.publish ?? 4 },
    handlers: {
      asset: (job) => runAssetJob(job.data as AssetJobData, store),
      publish: (job) => runPublishJob(job, edges, warm),
    },
    onError: options.onError,
  });
}
