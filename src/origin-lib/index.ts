// `blotcdn/origin`: what the origin app (Blot) uses to hand out permanent asset URLs. It loads only
// Node built-ins — nothing of the edge, no heavy dependency (ioredis is imported lazily, and only by
// RedisManifest.open) — so the app can import it on every server. Usage:
//
//   const manifest = await FileManifest.open('/var/blotcdn/manifest');   // or RedisManifest.open({ url })
//   const assets = createAssets({ cdnHost: 'cdn.blot.im', manifest });
//   await publish({ root: '/var/blotcdn/assets', manifest }, blogID, 'style.css', bytes);   // at sync time
//   assets.assetUrl(blogID, '/style.css');  // → https://cdn.blot.im/{blogID}/{cacheID}/style.css
//   Mustache.render(template, { ...view, asset: assets.mustacheLambda(blogID) });  // {{#asset}}/style.css{{/asset}}
//   await collect({ root: '/var/blotcdn/assets', manifest, olderThanMs: 30 * 86_400_000 });  // nightly

/** URLs and template helpers: `createAssets({ cdnHost, manifest })` → `{ assetUrl, helper, mustacheLambda }`.
 *  `assetUrl` is synchronous (a memoised lookup in the in-memory manifest) and always `https://`. */
export { createAssets, normaliseCdnHost, type Assets, type AssetsOptions, type MissingAsset, type MustacheLambda } from './create-assets.js';

/** The manifest: (blogID, path) → cacheID. Synchronous lookups in memory; `update(blogID, path,
 *  bytes | { file })` hashes and persists; `onChange` tells when other processes changed it. */
export { Manifest, MemoryManifest, type ManifestChange, type ManifestListener } from './manifest.js';

/** The default backend: a folder (snapshot + append-only journal), shared safely by the processes
 *  of one host, loading tens of thousands of blogs in one read. */
export { FileManifest, type FileManifestOptions } from './file-manifest.js';

/** The backend for many app servers: one Redis hash per blog, changes published to every server. */
export { RedisManifest, type RedisManifestOptions } from './redis-manifest.js';

/** Content-addressed versions on disk, `{root}/{blogID}/{cacheID}/{path}`, and their collection. */
export { publish, unpublish, versionFile, blogFolder, TEMP_FOLDER, type AssetStore, type PublishResult } from './publish.js';
export { collect, type CollectOptions, type CollectResult } from './collect.js';

/** cacheID: SHA-256 of the bytes, first 20 hex digits (see cache-id.ts for why). */
export { cacheIdOf, cacheIdOfFile, cacheIdOfContent, isCacheID, CACHE_ID_LENGTH, CACHE_ID_PATTERN, CacheIdHasher, type Content } from './cache-id.js';

/** Blog ids (`blog_` + 32 hex, or a GUID) and paths in canonical form, and their URL encoding. */
export { assetKey, normaliseBlogID, normaliseAssetPath, encodeAssetPath, isBlogID, MAX_PATH_LENGTH, type AssetKey } from './asset-key.js';

/** The one error type; `code` says which rule was broken. */
export { AssetError, type AssetErrorCode } from './asset-error.js';

/** Publishing a post: `createPublisher({ queue }).publish({ blogID, hosts, changed })` queues asset
 *  jobs (thumbnails, web formats) and a publish job (purge, then warm every edge) and returns once
 *  they are durably queued; `startWorker({ queue, root, manifest, edges })` runs them. */
export { createPublisher, type Post, type Publisher, type PublisherOptions, type Published, type PublishJobData, type AssetJobData } from './publishing/publisher.js';
export { startWorker, type PublishingWorkerOptions } from './publishing/start-worker.js';
export { runAssetJob, thumbnailPath, type AssetJobResult, type GeneratedFile } from './publishing/asset-job.js';
export { PLATFORM_SIZES, type ThumbnailSize, type WebFormat, type ThumbnailFormat } from './publishing/thumbnails.js';
export { WarmQueue, type WarmQueueOptions } from './publishing/warm-queue.js';
export type { EdgeTarget, WarmOutcome } from './publishing/edge-admin.js';
export type { PublishJobResult } from './publishing/publish-job.js';
export { queueReport, type QueueReport, type PublishSummary, type FailedJob } from './publishing/queue-report.js';

/** The job queue: a journal in a folder (embedded default) or BullMQ on Redis, one interface. */
export { openJobQueue, type JobQueueOptions } from './jobs/open-job-queue.js';
export { JournalQueue, type JournalQueueOptions } from './jobs/journal-queue.js';
export type { BullQueueOptions } from './jobs/bullmq-queue.js';
export type { JobQueue, JobInfo, JobState, JobCounts, JobOptions, NewJob, JobHandler, JobWorker, WorkOptions, ListOptions } from './jobs/job-queue.js';
