// Purge propagation across three nodes (cluster mode, one redis-server): each sample is a URL purge
// made on one node's admin API with "wait": true, timed from the call to its answer — which comes
// once every node has applied the purge and acknowledged it (the receipt must say 3 of 3, or the
// run fails). The node taking the purge rotates. The next request on another node must be a miss.
import { startBlotcdn, stopAll, type Peer } from '../lib/peers.js';
import { freePort } from '../lib/procs.js';
import { fmt, type BenchContext, type Scenario } from '../lib/scenario.js';
import { startRedis } from '../../test/helpers/redis.js';
import { request } from '../../test/helpers/client.js';

const SAMPLES = Number(process.env.BENCH_PROPAGATION_SAMPLES ?? 500);
const TOKEN = 'bench-admin-token';

function config(id: string, adminPort: number, redisUrl: string) {
  return (originUrl: string, port: number, accessLog: string) => `
node: { id: "${id}" }
listen: { http: "127.0.0.1:${port}" }
admin: { listen: "127.0.0.1:${adminPort}", token: "${TOKEN}" }
redis: { url: "${redisUrl}" }
log: { access: "${accessLog}", events: off }
originGroups: { o: { members: [ { url: "${originUrl}" } ] } }
sites: [ { hosts: ["*"], originGroup: o } ]
`;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** (fetch() would send its own Host: node:http sends ours.) */
async function get(node: Peer, n: number): Promise<string> {
  const res = await request(`${node.url}/prop/${n}/1k`, { headers: { host: 'prop.bench' } });
  return String(res.headers['cache-status'] ?? '');
}

export const purgePropagation: Scenario = {
  name: 'purge-propagation',
  description: `purge propagation across 3 nodes on one Redis: ${SAMPLES} URL purges, API call to the last acknowledgement`,
  async run(ctx: BenchContext) {
    const redis = await startRedis();
    const nodes: Peer[] = [];
    const admins: string[] = [];
    try {
      for (const id of ['node-a', 'node-b', 'node-c']) {
        const adminPort = await freePort();
        nodes.push(await startBlotcdn(ctx.originUrl, { name: id, configYaml: config(id, adminPort, redis.url) }));
        admins.push(`http://127.0.0.1:${adminPort}`);
      }
      // Wait until every node lists all three (heartbeats), so every receipt expects three.
      const deadline = performance.now() + 15_000;
      for (;;) {
        const listed = await Promise.all(admins.map(async (a) => ((await (await fetch(`${a}/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { nodes: unknown[] }).nodes.length));
        if (listed.every((n) => n === 3)) break;
        if (performance.now() > deadline) throw new Error(`nodes never saw each other: ${listed}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const client: number[] = [];
      const server: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        for (const n of nodes) await get(n, i);
        const on = i % 3;
        const started = performance.now();
        const res = await fetch(`${admins[on]}/purge`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url: `http://prop.bench/prop/${i}/1k`, wait: true }),
        });
        const json = (await res.json()) as { acked: number; nodes: number; ms: number; purged: number };
        client.push(performance.now() - started);
        if (json.acked !== 3 || json.nodes !== 3 || json.purged !== 1) throw new Error(`sample ${i}: ${JSON.stringify(json)}`);
        server.push(json.ms);
        const other = nodes[(on + 1) % 3]!;
        const status = await get(other, i);
        if (!status.includes('fwd=miss')) throw new Error(`sample ${i}: ${other.name} still had the object after the receipt (${status})`);
      }
      ctx.log(`${SAMPLES} purges, each acknowledged by 3 of 3 nodes and a miss on another node afterwards`);
      const row = (label: string, v: number[]) => [label, fmt(pct(v, 50), 2), fmt(pct(v, 90), 2), fmt(pct(v, 99), 2), fmt(Math.max(...v), 2)];
      return {
        title: 'Purge propagation across 3 nodes (ms)',
        table: [
          ['measured', 'p50', 'p90', 'p99', 'max'],
          row('API call → answer after the last acknowledgement (client)', client),
          row('publish → last acknowledgement (the receipt\'s ms)', server),
        ],
        notes: [
          `3 blotcdn nodes pinned to the server core(s), one redis-server (unpinned, no persistence), loopback; ${SAMPLES} URL purges, each on the next node in turn, with "wait": true.`,
          'Every receipt said acked 3 of 3 nodes, and the purged URL was a miss on another node right after the answer.',
        ],
        data: { samples: SAMPLES, client, server },
      };
    } finally {
      await stopAll(nodes);
      await redis.stop();
    }
  },
};
