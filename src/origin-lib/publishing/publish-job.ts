// The publish job, run once the post's asset jobs have finished: purge on every edge what the post
// changed — soft for the rest of the blog (served while fetched again), hard for the pages about to
// be warmed — then warm those pages through every edge, so the next reader of the index page, the
// post, its feeds and tag pages gets a hit. An edge that cannot be reached fails the attempt (the
// job is retried with backoff); a page the origin could not serve is reported in the result.
import { AssetError } from '../asset-error.js';
import type { JobInfo } from '../jobs/job-queue.js';
import { purgeOn, type EdgeTarget, type WarmOutcome } from './edge-admin.js';
import type { PublishJobData } from './publisher.js';
import type { WarmQueue } from './warm-queue.js';

export interface PublishJobResult {
  edges: number;
  /** Objects purged, all edges together. */
  purged: number;
  warmed: Record<WarmOutcome['result'], number>;
  /** Pages that could not be warmed (the first 20), with the edge that tried. */
  warmErrors: { edge: string; url: string; error: string }[];
  /** Asset jobs of the post that failed for good. */
  failedAssets: { id: string; error: string }[];
}

export async function runPublishJob(job: JobInfo, edges: readonly EdgeTarget[], warm: WarmQueue): Promise<PublishJobResult> {
  const data = job.data as PublishJobData;
  const purged = await settleAll(
    edges.map(async (edge) => {
      const soft = await purgeOn(edge, data.soft, true);
      return soft + (await purgeOn(edge, { url: data.urls }, false));
    }),
  );
  const outcomes = await settleAll(edges.map((edge) => warm.warm(edge, data.urls)));
  const warmed: PublishJobResult['warmed'] = { hit: 0, stored: 0, 'not-stored': 0, error: 0 };
  const warmErrors: PublishJobResult['warmErrors'] = [];
  outcomes.forEach((list, i) => {
    for (const o of list) {
      warmed[o.result]++;
      if (o.result === 'error' && warmErrors.length < 20) warmErrors.push({ edge: edges[i]!.admin, url: o.url, error: o.error ?? `status ${o.status}` });
    }
  });
  return { edges: edges.length, purged: purged.reduce((a, b) => a + b, 0), warmed, warmErrors, failedAssets: job.failedChildren ?? [] };
}

/** Like Promise.all, but waits for every edge and reports every failure at once. */
async function settleAll<T>(work: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(work);
  const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed.length > 0) {
    const reasons = failed.map((f) => (f.reason as Error).message).join('; ');
    throw new AssetError('edge_failed', failed.length === 1 ? reasons : `${failed.length} edges failed: ${reasons}`, { cause: failed[0]!.reason });
  }
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
