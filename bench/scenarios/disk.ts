// Large hits: a 64 MiB object served by blotcdn from its disk tier (too large for the default
// memory tier) beside nginx serving it from proxy_cache (always on disk, sendfile), and by blotcdn
// from a memory tier configured to hold it beside Varnish's malloc store (issue 16: memory against
// memory). Throughput in MB/s with four keep-alive connections.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heldBackCell, interleaved, loadNotes, ratio, summarize, type Summary } from '../lib/load.js';
import { startBlotcdn, startNginx, startVarnish, stopAll, type Peer } from '../lib/peers.js';
import { fmt, type BenchContext, type Scenario } from '../lib/scenario.js';

const PATH = '/disk/64m';

export const disk: Scenario = {
  name: 'disk',
  description: 'disk-tier hits on a 64 MiB object, blotcdn vs nginx proxy_cache',
  async run(ctx: BenchContext) {
    const peers: Peer[] = [];
    try {
      peers.push(await startBlotcdn(ctx.originUrl, { cacheDir: await mkdtemp(join(tmpdir(), 'bench-disk-')) }));
      const nginx = await startNginx(ctx.originUrl);
      if (nginx) peers.push(nginx);
      peers.push(
        await startBlotcdn(ctx.originUrl, {
          name: 'blotcdn (memory)',
          configYaml: (origin, port, accessLog) => `listen: { http: "127.0.0.1:${port}" }
log: { access: "${accessLog}", events: "off" }
cache: { memory: { maxSize: 512MiB, maxObjectSize: 128MiB } }
originGroups: { o: { members: [ { url: "${origin}" } ] } }
sites: [ { name: s, hosts: ["*"], originGroup: o } ]
`,
        }),
      );
      const varnish = await startVarnish(ctx.originUrl);
      if (varnish) peers.push(varnish);
      for (const peer of peers) {
        for (let i = 0; i < 2; i++) await fetch(peer.url + PATH).then((r) => r.arrayBuffer());
        const status = (await fetch(peer.url + PATH)).headers.get('cache-status');
        // (the Varnish and nginx answers carry no Cache-Status; their hits show in the origin count)
        ctx.log(`${peer.name} warm: cache-status ${status}`);
      }
      const { runs } = await interleaved(ctx, peers, (p) => p.url + PATH, { connections: 4 });
      const counts = await ctx.originCounts();
      const summaries = new Map<string, Summary>([...runs].map(([name, rs]) => [name, summarize(rs)]));
      const ours = summaries.get('blotcdn')!;
      const table = [['server', 'MB/s (median)', 'MB per server CPU-s', 'server CPU %', 'wrk CPU %', 'client core busy %', 'req/s', 'p50 ms', 'held-back rounds', 'blotcdn ÷ server, MB/s', 'blotcdn ÷ server, per CPU-s']]; // vs nginx: the disk tier; vs Varnish: the memory tier
      const data: Record<string, unknown> = {};
      for (const peer of peers) {
        const s = summaries.get(peer.name)!;
        // Memory against memory (Varnish), disk against disk (nginx).
        const mine = peer.name === 'varnish' ? summaries.get('blotcdn (memory)')! : ours;
        const byRate = ratio(mine, s, (x) => x.mbps);
        const byCpu = ratio(mine, s, (x) => x.mbPerCpuSecond);
        data[peer.name] = { ...s, ratio: { mbps: byRate, perCpuSecond: byCpu } };
        table.push([peer.name, fmt(s.mbps), fmt(s.mbPerCpuSecond), fmt(s.serverCpuPct), fmt(s.wrkCpuPct), fmt(s.clientCoreBusyPct), fmt(s.rps, 1), fmt(s.p50), heldBackCell(s), ...(peer.name.startsWith('blotcdn') ? ['—', '—'] : [byRate.text, byCpu.text])]);
      }
      return {
        title: 'Large hits: 64 MiB from disk and from memory (wrk, 4 connections)',
        table,
        notes: [
          `${ctx.rounds} rounds of ${ctx.seconds} s, order rotating, medians`,
          ...loadNotes([...summaries.values()]),
          `blotcdn: memory tier limited to 16 MiB objects (the default), so this object is read from disk (page cache) on every hit; nginx uses sendfile. blotcdn (memory): a memory tier allowed 128 MiB objects, against Varnish's malloc store; its ratio is blotcdn (memory) ÷ Varnish`,
          `origin requests during the run: ${counts[PATH] ?? 0}`,
        ],
        data,
      };
    } finally {
      await stopAll(peers);
    }
  },
};
