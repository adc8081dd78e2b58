// Worker processes: cache-hit throughput and CPU per request of `blotcdn start --workers 2` against
// one worker and against nginx with 2 workers, as requests per proxy CPU-second (the CPU of the
// whole process tree: blotcdn's primary and workers, nginx's master and workers). Needs two server
// cores: run it as `BENCH_SERVER_CORE=0,1 BENCH_CLIENT_CORE=0,1 npm run bench -- workers` on a
// 2-core machine, where wrk shares the cores with the proxy (and competes with it: every round is
// flagged "server core shared", and the req/s are what was left after wrk; per CPU-second holds).
import { parseCoreList } from '../lib/cpu.js';
import { interleaved, LOAD_HEADER, loadCells, loadNotes, ratio, summarize, type Summary } from '../lib/load.js';
import { benchLogs } from '../lib/logs.js';
import { startBlotcdn, startNginx, stopAll, warm, type Peer } from '../lib/peers.js';
import { CLIENT_CORE, SERVER_CORE } from '../lib/procs.js';
import type { BenchContext, Scenario } from '../lib/scenario.js';

const PATH = '/hits/4k';

export const workers: Scenario = {
  name: 'workers',
  description: 'hits with blotcdn --workers 2 vs 1 worker vs nginx with 2 workers, per proxy CPU-second (needs BENCH_SERVER_CORE=0,1)',
  async run(ctx: BenchContext) {
    if (parseCoreList(SERVER_CORE).length < 2) {
      const why = 'skipped: needs two server cores (BENCH_SERVER_CORE=0,1 BENCH_CLIENT_CORE=0,1 npm run bench -- workers)';
      ctx.log(why);
      return { title: 'Worker processes', table: [['result'], [why]], notes: [], data: { skipped: why } };
    }
    const peers: Peer[] = [];
    try {
      peers.push(await startBlotcdn(ctx.originUrl, { name: 'blotcdn --workers 2', args: ['--workers', '2'], startTimeoutMs: 60_000 }));
      peers.push(await startBlotcdn(ctx.originUrl, { name: 'blotcdn --workers 1', args: ['--workers', '1'], startTimeoutMs: 60_000 }));
      const nginx = await startNginx(ctx.originUrl, { name: 'nginx (2 workers)' });
      if (nginx) peers.push(nginx);
      else ctx.log('nginx not installed: skipped (apt-get install nginx)');
      await ctx.resetOriginCounts();
      // Each worker has its own cache: the warm-up run before the measured ones fills both.
      await warm(peers, PATH);
      const { runs } = await interleaved(ctx, peers, (p) => p.url + PATH, { label: '4k' });
      const counts = await ctx.originCounts();
      const summaries = new Map<string, Summary>([...runs].map(([name, rs]) => [name, summarize(rs)]));
      const two = summaries.get('blotcdn --workers 2')!;
      const table = [['server', ...LOAD_HEADER, '--workers 2 ÷ server, req/s', '--workers 2 ÷ server, per CPU-s']];
      const data: Record<string, unknown> = {};
      for (const peer of peers) {
        const s = summaries.get(peer.name)!;
        const self = s === two;
        const byRate = ratio(two, s, (x) => x.rps);
        const byCpu = ratio(two, s, (x) => x.requestsPerCpuSecond);
        const { runs: raw, ...medians } = s;
        data[peer.name] = { ...medians, runs: raw, ratio: self ? undefined : { rps: byRate, perCpuSecond: byCpu } };
        table.push([peer.name, ...loadCells(s), ...(self ? ['—', '—'] : [byRate.text, byCpu.text])]);
      }
      return {
        title: 'Worker processes: 4 KiB hits (wrk, 1 thread, 64 connections)',
        table,
        notes: [
          `servers pinned to cores ${SERVER_CORE}, wrk to cores ${CLIENT_CORE}: the load generator competes with the proxy for the same two cores, so req/s is what the proxy got beside wrk, and "server CPU" is the whole process tree (blotcdn: primary + workers; nginx: master + workers)`,
          `${ctx.rounds} rounds of ${ctx.seconds} s, order rotating, medians; access logs ${benchLogs()} for every server (BENCH_LOGS)`,
          ...loadNotes([...summaries.values()]),
          `origin requests, warm-up included (one per cache: 2 + 1 + 1 expected): ${JSON.stringify(counts)}`,
        ],
        data,
      };
    } finally {
      await stopAll(peers);
    }
  },
};
