// Coalescing: 200 clients ask at the same moment for one cold 1 MiB URL whose origin takes 200 ms
// to answer. Counts the requests that reach the origin (the goal is 1) and each client's time to
// first byte and to the last byte, for blotcdn, nginx (proxy_cache_lock on) and Varnish. Right
// after each cold burst the same 200 clients ask again (a hit): the floor a cold burst can reach is
// the origin's own time plus that hit burst's p99 (issue 16's target: cold p99 ≤ floor + 20 ms).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startBlotcdn, startNginx, startVarnish, stopAll, type Peer } from '../lib/peers.js';
import { CLIENT_CORE, median } from '../lib/procs.js';
import { fmt, type BenchContext, type Scenario } from '../lib/scenario.js';

const CLIENT = fileURLToPath(new URL('../lib/burst-client.ts', import.meta.url));
const CLIENTS = 200;

interface Timing {
  ttfb: number;
  total: number;
  bytes: number;
}

function burst(url: string, count = CLIENTS): Timing[] {
  const out = execFileSync('taskset', ['-c', CLIENT_CORE, process.execPath, '--import', 'tsx', CLIENT, url, String(count)], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out.toString()) as Timing[];
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export const coalescing: Scenario = {
  name: 'coalescing',
  description: `${CLIENTS} simultaneous clients on one cold 1 MiB URL, origin answers after 200 ms`,
  async run(ctx: BenchContext) {
    const peers: Peer[] = [];
    try {
      peers.push(await startBlotcdn(ctx.originUrl));
      const nginx = await startNginx(ctx.originUrl, { location: 'proxy_cache_lock_timeout 30s; proxy_cache_lock_age 30s;' });
      if (nginx) peers.push(nginx);
      const varnish = await startVarnish(ctx.originUrl);
      if (varnish) peers.push(varnish);

      // The origin's own latency for one client, for reference.
      const direct = burst(`${ctx.originUrl}/coalesce/direct/1m?delay=200`, 1);
      const rows = new Map<string, { ttfb50: number[]; ttfb99: number[]; total50: number[]; total99: number[]; hit99: number[]; origin: number[]; complete: boolean[] }>();
      for (let round = 0; round < ctx.rounds; round++) {
        for (const peer of peers) {
          const path = `/coalesce/${peer.name}-r${round}/1m`;
          await ctx.resetOriginCounts();
          const timings = burst(`${peer.url}${path}?delay=200`);
          const counts = await ctx.originCounts();
          const hits = burst(`${peer.url}${path}?delay=200`);
          const ttfb = timings.map((t) => t.ttfb);
          const total = timings.map((t) => t.total);
          const r = rows.get(peer.name) ?? { ttfb50: [], ttfb99: [], total50: [], total99: [], hit99: [], origin: [], complete: [] };
          r.hit99.push(pct(hits.map((t) => t.total), 99));
          r.ttfb50.push(pct(ttfb, 50));
          r.ttfb99.push(pct(ttfb, 99));
          r.total50.push(pct(total, 50));
          r.total99.push(pct(total, 99));
          r.origin.push(counts[path] ?? 0);
          r.complete.push([...timings, ...hits].every((t) => t.bytes > 1024 * 1024));
          rows.set(peer.name, r);
          ctx.log(`${peer.name} round ${round + 1}: origin requests ${counts[path] ?? 0}, first byte p50 ${fmt(pct(ttfb, 50))} ms p99 ${fmt(pct(ttfb, 99))} ms, complete p50 ${fmt(pct(total, 50))} ms p99 ${fmt(pct(total, 99))} ms`);
        }
      }
      const table = [['server', 'origin requests', 'first byte p50 ms', 'first byte p99 ms', 'complete p50 ms', 'complete p99 ms', 'same burst as hits, p99 ms', 'floor: origin + hits, ms', 'cold p99 − floor, ms', 'all bodies whole']];
      const data: Record<string, unknown> = { originAlone: direct[0] };
      for (const [name, r] of rows) {
        const row = {
          origin: Math.max(...r.origin),
          ttfb50: median(r.ttfb50),
          ttfb99: median(r.ttfb99),
          total50: median(r.total50),
          total99: median(r.total99),
          hit99: median(r.hit99),
          floor: direct[0]!.total + median(r.hit99),
          complete: r.complete.every(Boolean),
        };
        data[name] = row;
        table.push([name, String(row.origin), fmt(row.ttfb50), fmt(row.ttfb99), fmt(row.total50), fmt(row.total99), fmt(row.hit99), fmt(row.floor), fmt(row.total99 - row.floor), row.complete ? 'yes' : 'NO']);
      }
      return {
        title: `Coalescing (${CLIENTS} clients, cold 1 MiB, origin 200 ms)`,
        table,
        notes: [
          `the origin alone answers one client in ${fmt(direct[0]!.ttfb)} ms to first byte, ${fmt(direct[0]!.total)} ms complete`,
          `${ctx.rounds} rounds (a new cold URL each), medians of each round's p50/p99; client on its own core; "origin requests" is the most seen in any round`,
          '"floor" is the origin alone (complete) plus the p99 of the same burst answered as hits right after: what a cache that waited for nothing but the origin could reach; the target is cold p99 within 20 ms of it',
          `all ${CLIENTS} clients move 200 MiB through loopback together, so "complete" is bounded by bandwidth on one core; "first byte" shows the waiting`,
        ],
        data,
      };
    } finally {
      await stopAll(peers);
    }
  },
};
