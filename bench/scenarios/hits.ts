// Cache-hit throughput: a 4 KiB and a 100 KiB object, already cached, requested by wrk over 64
// keep-alive connections. Rounds are interleaved (peer order rotates) so drift in the machine's
// speed hits every peer alike; the report gives medians and blotcdn's ratio to each peer.
import { startBlotcdn, startNginx, startVarnish, type Peer } from '../lib/peers.js';
import { median } from '../lib/procs.js';
import { runWrk, type WrkResult } from '../lib/wrk.js';
import { fmt, type BenchContext, type Scenario } from '../lib/scenario.js';

const OBJECTS = ['4k', '100k'];

export const hits: Scenario = {
  name: 'hits',
  description: 'cache-hit throughput, 4 KiB and 100 KiB, blotcdn vs nginx proxy_cache vs Varnish',
  async run(ctx: BenchContext) {
    const peers: Peer[] = [];
    try {
      peers.push(await startBlotcdn(ctx.originUrl));
      const nginx = await startNginx(ctx.originUrl);
      if (nginx) peers.push(nginx);
      else ctx.log('nginx not installed: skipped (apt-get install nginx)');
      const varnish = await startVarnish(ctx.originUrl);
      if (varnish) peers.push(varnish);
      else ctx.log('varnish not installed: skipped (apt-get install varnish)');

      await ctx.resetOriginCounts();
      const results = new Map<string, WrkResult[]>();
      for (const object of OBJECTS) {
        const path = `/hits/${object}`;
        for (const peer of peers) {
          for (let i = 0; i < 3; i++) await fetch(peer.url + path).then((r) => r.arrayBuffer());
          // A short discarded run first: JIT warm-up and the first GCs are not the steady state.
          await runWrk(peer.url + path, { seconds: 3 });
        }
        for (let round = 0; round < ctx.rounds; round++) {
          const order = peers.map((_, i) => peers[(i + round) % peers.length]!);
          for (const peer of order) {
            const r = await runWrk(peer.url + path, { seconds: ctx.seconds });
            ctx.log(`${object} ${peer.name} round ${round + 1}: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms`);
            const key = `${object} ${peer.name}`;
            results.set(key, [...(results.get(key) ?? []), r]);
          }
        }
      }
      const counts = await ctx.originCounts();

      const table = [['object', 'server', 'req/s (median)', 'p50 ms', 'p99 ms', 'errors', 'blotcdn ÷ server']];
      const data: Record<string, unknown> = {};
      for (const object of OBJECTS) {
        const ours = median(results.get(`${object} blotcdn`)!.map((r) => r.rps));
        for (const peer of peers) {
          const rs = results.get(`${object} ${peer.name}`)!;
          const rps = median(rs.map((r) => r.rps));
          const row = {
            rps,
            p50: median(rs.map((r) => r.p50)),
            p99: median(rs.map((r) => r.p99)),
            errors: rs.reduce((n, r) => n + r.errors, 0),
            rounds: rs.map((r) => Math.round(r.rps)),
          };
          data[`${object} ${peer.name}`] = row;
          table.push([object, peer.name, fmt(rps), fmt(row.p50, 2), fmt(row.p99, 2), String(row.errors), peer.name === 'blotcdn' ? '—' : `${fmt(ours / rps, 2)}×`]);
        }
      }
      return {
        title: 'Cache hits (wrk, 1 thread, 64 connections)',
        table,
        notes: [
          `each server pinned to one core, wrk to the other; ${ctx.rounds} rounds of ${ctx.seconds} s, medians`,
          `origin requests during the run (each server should fetch each object once): ${JSON.stringify(counts)}`,
        ],
        data,
      };
    } finally {
      for (const p of peers) await p.stop();
    }
  },
};
