// Disk-tier hits: a 64 MiB object, too large for blotcdn's memory tier, served from its disk tier,
// beside nginx serving the same object from proxy_cache (which is always on disk). Throughput in
// MB/s with four keep-alive connections.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBlotcdn, startNginx, type Peer } from '../lib/peers.js';
import { median } from '../lib/procs.js';
import { runWrk, type WrkResult } from '../lib/wrk.js';
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
      for (const peer of peers) {
        for (let i = 0; i < 2; i++) await fetch(peer.url + PATH).then((r) => r.arrayBuffer());
        const status = (await fetch(peer.url + PATH)).headers.get('cache-status');
        ctx.log(`${peer.name} warm: cache-status ${status}`);
        await runWrk(peer.url + PATH, { seconds: 3, connections: 4 });
      }
      const results = new Map<string, WrkResult[]>();
      for (let round = 0; round < ctx.rounds; round++) {
        for (const peer of peers.map((_, i) => peers[(i + round) % peers.length]!)) {
          const r = await runWrk(peer.url + PATH, { seconds: ctx.seconds, connections: 4 });
          ctx.log(`${peer.name} round ${round + 1}: ${fmt(r.transferMBps)} MB/s, ${fmt(r.rps, 1)} req/s, p50 ${fmt(r.p50)} ms`);
          results.set(peer.name, [...(results.get(peer.name) ?? []), r]);
        }
      }
      const counts = await ctx.originCounts();
      const ours = median(results.get('blotcdn')!.map((r) => r.transferMBps));
      const table = [['server', 'MB/s (median)', 'req/s', 'p50 ms', 'blotcdn ÷ server']];
      const data: Record<string, unknown> = {};
      for (const peer of peers) {
        const rs = results.get(peer.name)!;
        const mbps = median(rs.map((r) => r.transferMBps));
        data[peer.name] = { mbps, rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), rounds: rs.map((r) => r.transferMBps) };
        table.push([peer.name, fmt(mbps), fmt(median(rs.map((r) => r.rps)), 1), fmt(median(rs.map((r) => r.p50))), peer.name === 'blotcdn' ? '—' : `${fmt(ours / mbps, 2)}×`]);
      }
      return {
        title: 'Disk-tier hits (64 MiB object, wrk, 4 connections)',
        table,
        notes: [`blotcdn: memory tier limited to 16 MiB objects, so this object is read from disk (page cache) on every hit; nginx uses sendfile`, `origin requests during the run: ${counts[PATH] ?? 0}`],
        data,
      };
    } finally {
      for (const p of peers) await p.stop();
    }
  },
};
