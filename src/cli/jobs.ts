// `blotcdn jobs list | show | retry | work`: the publishing queue of `blotcdn/origin` from a shell —
// the journal folder the origin app uses (--dir), Redis (--redis), or an edge config's `jobs` block
// (--config). `work` runs a publishing worker in this process: asset jobs (thumbnails) and publish
// jobs (purge, then warm every --edge), until SIGTERM or SIGINT.
import { availableParallelism } from 'node:os';
import { Command, Option } from 'commander';
import { loadConfigFile } from '../config/load.js';
import { CliError } from './fail.js';
import { jobQueueFromConfig } from '../control/job-queue-view.js';
import { FileManifest, openJobQueue, queueReport, RedisManifest, startWorker, type JobInfo, type JobQueue, type Manifest, type WebFormat } from '../origin-lib/index.js';

interface QueueFlags {
  dir?: string;
  redis?: string;
  prefix: string;
  config?: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const when = (ms?: number) => (ms ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

function queueOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--dir <dir>', 'the journal folder the origin app queues into (one host)').env('BLOTCDN_JOBS_DIR'))
    .addOption(new Option('--redis <url>', 'Redis the origin app queues into (BullMQ)').env('BLOTCDN_JOBS_REDIS'))
    .option('--prefix <prefix>', "BullMQ's key prefix", 'blotcdn:jobs')
    .option('-c, --config <file>', 'take the queue from an edge config’s jobs block');
}

async function openQueue(flags: QueueFlags): Promise<JobQueue> {
  if (flags.config) {
    const config = await loadConfigFile(flags.config);
    if (!config.jobs) throw new CliError(`${flags.config} has no jobs section`);
    return jobQueueFromConfig(config);
  }
  if (!flags.dir === !flags.redis) throw new CliError('give exactly one of --dir DIR or --redis URL (or --config FILE)');
  return flags.redis ? openJobQueue({ redis: flags.redis, prefix: flags.prefix }) : openJobQueue({ dir: flags.dir! });
}

async function withQueue(flags: QueueFlags, fn: (queue: JobQueue) => Promise<void>): Promise<void> {
  const queue = await openQueue(flags);
  try {
    await fn(queue);
  } finally {
    await queue.close();
  }
}

function subject(job: JobInfo): string {
  const data = job.data as { path?: string; blogID?: string; hosts?: string[] };
  return data.path ?? `${data.blogID ?? ''} ${data.hosts?.join(',') ?? ''}`.trim();
}

export function describeJob(job: JobInfo): string {
  const lines = [
    `id:        ${job.id}`,
    `name:      ${job.name}`,
    `state:     ${job.state}`,
    `attempts:  ${job.attempts} of ${job.maxAttempts}`,
    `created:   ${when(job.createdAt)}`,
    `started:   ${when(job.startedAt)}`,
    `finished:  ${when(job.finishedAt)}${job.finishedAt ? ` (${job.finishedAt - job.createdAt} ms after it was queued)` : ''}`,
  ];
  if (job.runAt) lines.push(`retry at:  ${when(job.runAt)}`);
  if (job.error) lines.push(`error:     ${job.error}`);
  if (job.parent) lines.push(`parent:    ${job.parent}`);
  if (job.children) lines.push(`children:  ${job.children.join(' ')}`);
  if (job.failedChildren?.length) lines.push(...job.failedChildren.map((c) => `failed:    ${c.id}: ${c.error}`));
  lines.push(`data:      ${JSON.stringify(job.data)}`);
  if (job.result !== undefined) lines.push(`result:    ${JSON.stringify(job.result)}`);
  return lines.join('\n');
}

/** Adds `jobs` and its subcommands to `program`; output goes to `out` (stdout by default). */
export function jobsCommand(program: Command, out: (line: string) => void = (l) => console.log(l)): Command {
  const jobs = program.command('jobs').description('The publishing queue of blotcdn/origin: list, show and retry jobs, or run a worker.');

  queueOptions(jobs.command('list'))
    .description('Counts by state, recent publishes (how long each took to be processed and warmed), then jobs.')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices(['waiting', 'delayed', 'blocked', 'running', 'done', 'failed']))
    .option('--name <name>', 'only jobs of this name (asset, publish)')
    .option('--limit <n>', 'jobs shown', '20')
    .action((opts: QueueFlags & { state?: JobInfo['state']; name?: string; limit: string }) =>
      withQueue(opts, async (queue) => {
        const report = await queueReport(queue, { publishes: 5 });
        out(`${queue.backend}: ${Object.entries(report.counts).map(([s, n]) => `${s} ${n}`).join(', ')}`);
        for (const p of report.publishes) {
          out(`publish ${p.id} ${p.blogID} ${p.state}${p.ms !== undefined ? ` in ${p.ms} ms` : ''}, ${p.assets} asset(s)${p.failedAssets ? `, ${p.failedAssets} failed` : ''}${p.warmed !== undefined ? `, ${p.warmed} warmed` : ''}`);
        }
        const list = await queue.list({ ...(opts.state ? { states: [opts.state] } : {}), ...(opts.name ? { name: opts.name } : {}), limit: Number(opts.limit) });
        if (list.length === 0) return out('no jobs');
        out(`${'ID'.padEnd(24)}  ${'STATE'.padEnd(7)}  TRIES  ${'CREATED (UTC)'.padEnd(20)}  SUBJECT`);
        for (const j of list) out(`${j.id.padEnd(24)}  ${j.state.padEnd(7)}  ${`${j.attempts}/${j.maxAttempts}`.padEnd(5)}  ${when(j.createdAt).padEnd(20)}  ${subject(j)}${j.error ? `  — ${j.error}` : ''}`);
      }),
    );

  queueOptions(jobs.command('show'))
    .description('Everything about one job.')
    .argument('<id>')
    .action((id: string, opts: QueueFlags) =>
      withQueue(opts, async (queue) => {
        const job = await queue.get(id);
        if (!job) throw new CliError(`no job ${id}`);
        out(describeJob(job));
      }),
    );

  queueOptions(jobs.command('retry'))
    .description('Put failed jobs back in line, their attempts reset.')
    .argument('[ids...]')
    .option('--all-failed', 'every failed job')
    .action((ids: string[], opts: QueueFlags & { allFailed?: boolean }) =>
      withQueue(opts, async (queue) => {
        const targets = opts.allFailed ? (await queue.list({ states: ['failed'], limit: 100_000 })).map((j) => j.id) : ids;
        if (targets.length === 0) throw new CliError(opts.allFailed ? 'no failed jobs' : 'give job ids or --all-failed');
        for (const id of targets) {
          await queue.retry(id);
          out(`${id}: queued again`);
        }
      }),
    );

  queueOptions(jobs.command('work'))
    .description('Run a publishing worker here: thumbnails, then purge and warm on every --edge (token from BLOTCDN_ADMIN_TOKEN).')
    .requiredOption('--root <dir>', 'where asset versions are written ({root}/{blogID}/{cacheID}/{path})')
    .option('--manifest <dir>', 'the manifest folder (FileManifest)')
    .option('--manifest-redis <url>', 'the manifest in Redis (RedisManifest)')
    .option('--edge <url>', "an edge's admin API (repeatable)", collect)
    .option('--concurrency <n>', 'asset jobs at once', String(availableParallelism()))
    .option('--formats <list>', 'web formats tried for each thumbnail', 'webp,avif')
    .option('--lock-ms <ms>', "with --redis: a running job's lock (a dead worker's jobs run again once it lapses)", '30000')
    .action(async (opts: QueueFlags & { root: string; manifest?: string; manifestRedis?: string; edge?: string[]; concurrency: string; formats: string; lockMs: string }) => {
      if (!opts.manifest === !opts.manifestRedis) throw new CliError('give exactly one of --manifest DIR or --manifest-redis URL');
      const formats = opts.formats.split(',').map((f) => f.trim()).filter(Boolean);
      for (const f of formats) if (f !== 'webp' && f !== 'avif') throw new CliError(`unknown format ${f} (webp, avif)`);
      const queue = opts.redis ? await openJobQueue({ redis: opts.redis, prefix: opts.prefix, lockMs: Number(opts.lockMs) }) : await openQueue(opts);
      const manifest: Manifest = opts.manifest ? await FileManifest.open(opts.manifest) : await RedisManifest.open({ url: opts.manifestRedis! });
      const token = process.env.BLOTCDN_ADMIN_TOKEN || undefined;
      const worker = startWorker({
        queue,
        root: opts.root,
        manifest,
        edges: (opts.edge ?? []).map((admin) => ({ admin, token })),
        thumbnails: { formats: formats as WebFormat[] },
        concurrency: { asset: Number(opts.concurrency) },
        onError: (err, job) => console.error(`blotcdn: ${job ? `job ${job.id} (${job.name}): ` : ''}${err.message}`),
      });
      console.error(`blotcdn: worker ${process.pid} waiting for its turn on the queue…`);
      await worker.started;
      console.error(`blotcdn: worker ${process.pid} running ${queue.backend} jobs`);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) process.exit(1);
        stopping = true;
        console.error(`blotcdn: ${signal} received, finishing running jobs…`);
        void worker
          .stop()
          .then(() => Promise.all([queue.close(), manifest.close()]))
          .then(() => process.exit(0), (err) => (console.error(err), process.exit(1)));
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });

  return jobs;
}
