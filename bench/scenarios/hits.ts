// Cache-hit throughput: a 4 KiB and a 100 KiB object, already cached, requested by wrk over 64
// keep-alive connections, for blotcdn, nginx, Varnish and a bare Node server (Node's own ceiling).
// Rounds are interleaved (the order rotates); the report gives medians, each server's CPU and
// requests per CPU-second, wrk's CPU, and blotcdn's ratios — marked as bounds when a server was
// held back (wrk or its core at the limit, or other work on the server's core).
import { startBareNode, startRawNode } from '../lib/bare-node.js';
import { interleaved, LOAD_HEADER, loadCells, loadNotes, ratio, summarize, type Summary } from '../lib/load.js';
import { benchLogs } from '../lib/logs.js';
import { startCaches, stopAll, warm, type Peer } from '../lib/peers.js';
import type { BenchContext, Scenario } from '../lib/scenario.js';

const OBJECTS = ['4k', '100k'];

export const hits: Scenario = {
  name: 'hits',
  description: 'cache-hit throughput, 4 KiB and 100 KiB: blotcdn vs nginx proxy_cache vs Varnish vs a bare Node server',
  async run(ctx: BenchContext) {
    const peers: Peer[] = [];
    try {
      await startCaches(ctx, peers);
      peers.push(await startBareNode());
      peers.push(await startRawNode());
      await ctx.resetOriginCounts();
      const summaries = new Map<string, Summary>();
      for (const object of OBJECTS) {
        const path = `/hits/${object}`;
        await warm(peers, path);
        const { runs } = await interleaved(ctx, peers, (p) => p.url + path, { label: object });
        for (const [name, rs] of runs) summaries.set(`${object} ${name}`, summarize(rs));
      }
      const counts = await ctx.originCounts();

      const table = [['object', 'server', ...LOAD_HEADER, 'blotcdn ÷ server, req/s', 'blotcdn ÷ server, per CPU-s']];
      const data: Record<string, unknown> = {};
      for (const object of OBJECTS) {
        const ours = summaries.get(`${object} blotcdn`)!;
        for (const peer of peers) {
          const s = summaries.get(`${object} ${peer.name}`)!;
          const byRate = ratio(ours, s, (x) => x.rps);
          const byCpu = ratio(ours, s, (x) => x.requestsPerCpuSecond);
          const { runs, ...medians } = s;
          data[`${object} ${peer.name}`] = { ...medians, runs, ratio: peer.name === 'blotcdn' ? undefined : { rps: byRate, perCpuSecond: byCpu } };
          table.push([object, peer.name, ...loadCells(s), ...(peer.name === 'blotcdn' ? ['—', '—'] : [byRate.text, byCpu.text])]);
        }
      }
      return {
        title: 'Cache hits (wrk, 1 thread, 64 connections)',
        table,
        notes: [
          `each server pinned to the server core(s), wrk to the client core; ${ctx.rounds} rounds of ${ctx.seconds} s, order rotating, medians; access logs ${benchLogs()} for every server (BENCH_LOGS)`,
          ...loadNotes([...summaries.values()]),
          '`node (bare)`: node:http createServer answering a fixed in-memory buffer of the size asked (content-type, content-length, cache-control), same V8 flags as blotcdn: Node\'s own ceiling for a hit',
          '`node (raw net)`: a node:net server finding each request by its blank line and writing a prepared response (head and body in one buffer) — not a usable HTTP server: the floor of a Node process answering a hit, below Node\'s HTTP layer',
          `origin requests during the run (each cache should fetch each object once): ${JSON.stringify(counts)}`,
        ],
        data,
      };
    } finally {
      await stopAll(peers);
    }
  },
};
