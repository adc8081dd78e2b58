// Purges at scale: 100,000 objects cached (1,000 hosts × 100 objects, each tagged obj-<n> and
// grp-<n mod 1000>), then URL, host and tag purges timed from the admin API call to its answer —
// after which the next request must be a miss (checked every time). Then hit throughput on an
// edge holding all that plus 10,000 purges held against in-flight fetches, beside a fresh edge.
import { startBlotcdn, stopAll, type Peer } from '../lib/peers.js';
import { freePort, median } from '../lib/procs.js';
import { runWrk } from '../lib/wrk.js';
import { fmt, type BenchContext, type Scenario } from '../lib/scenario.js';

const OBJECTS = Number(process.env.BENCH_PURGE_OBJECTS ?? 100_000);
const HOSTS = 1000;
const TOKEN = 'bench-admin-token';
const SAMPLES = 50;

function config(adminPort: number) {
  return (originUrl: string, port: number, accessLog: string) => `
listen: { http: "127.0.0.1:${port}" }
admin: { listen: "127.0.0.1:${adminPort}", token: "${TOKEN}", warmConcurrency: 64 }
log: { access: "${accessLog}" }
cache: { memory: { maxSize: 2GiB } }
originGroups: { o: { members: [ { url: "${originUrl}" } ] } }
sites: [ { hosts: ["*"], originGroup: o } ]
`;
}

async function api(admin: string, path: string, body: unknown): Promise<{ ms: number; json: any }> {
  const started = performance.now();
  const res = await fetch(`${admin}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return { ms: performance.now() - started, json };
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const urlOf = (n: number) => `http://h${n % HOSTS}.bench/tagged/${n}/1k`;

async function cacheStatus(edge: Peer, n: number): Promise<string> {
  const res = await fetch(`${edge.url}/tagged/${n}/1k`, { headers: { host: `h${n % HOSTS}.bench` } });
  await res.arrayBuffer();
  return res.headers.get('cache-status') ?? '';
}

export const purge: Scenario = {
  name: 'purge',
  description: `purge latency with ${OBJECTS.toLocaleString('en-US')} objects cached; hit throughput with 10,000 purges held`,
  async run(ctx: BenchContext) {
    const adminPort = await freePort();
    const admin = `http://127.0.0.1:${adminPort}`;
    const edge = await startBlotcdn(ctx.originUrl, { configYaml: config(adminPort) });
    const fresh = await startBlotcdn(ctx.originUrl);
    try {
      const warmStarted = performance.now();
      for (let i = 0; i < OBJECTS; i += 2000) {
        const urls = Array.from({ length: Math.min(2000, OBJECTS - i) }, (_, k) => urlOf(i + k));
        const { json } = await api(admin, '/warm', { urls, concurrency: 64 });
        if (json.errors) throw new Error(`warming failed: ${JSON.stringify(json.results.find((r: { result: string }) => r.result === 'error'))}`);
      }
      ctx.log(`warmed ${OBJECTS} objects in ${fmt((performance.now() - warmStarted) / 1000, 1)} s`);

      const times: Record<string, number[]> = { url: [], host: [], tag: [] };
      const counts: Record<string, number[]> = { url: [], host: [], tag: [] };
      let wrong = 0;
      for (let i = 0; i < SAMPLES; i++) {
        const n = (i * 7919) % OBJECTS;
        const kinds: [string, Record<string, string>, number][] = [
          ['url', { url: urlOf(n) }, n],
          ['host', { host: `h${(n + 1) % HOSTS}.bench` }, (n + 1) % HOSTS],
          ['tag', { tag: `grp-${(n + 2) % 1000}` }, (n + 2) % 1000],
        ];
        for (const [kind, body, probe] of kinds) {
          const { ms, json } = await api(admin, '/purge', body);
          times[kind]!.push(ms);
          counts[kind]!.push(json.purged);
          if (!/fwd=miss/.test(await cacheStatus(edge, probe))) wrong++;
        }
      }
      if (wrong > 0) throw new Error(`${wrong} purged objects were still served as hits`);

      // 10,000 more purges, so that many are held against fetches in flight while hits run.
      for (let i = 0; i < 10_000; i += 500) {
        await api(admin, '/purge', { tag: Array.from({ length: 500 }, (_, k) => `unused-${i + k}`) });
      }
      const stats = (await (await fetch(`${admin}/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { activePurges: number; cache: { total: { entries: number }; tags: number } };
      ctx.log(`held purges: ${stats.activePurges}, objects: ${stats.cache.total.entries}, tags indexed: ${stats.cache.tags}`);

      const hitRps: Record<string, number[]> = { loaded: [], fresh: [] };
      for (const peer of [edge, fresh]) {
        for (let k = 0; k < 3; k++) await fetch(`${peer.url}/hits/4k`).then((r) => r.arrayBuffer());
        await runWrk(`${peer.url}/hits/4k`, { seconds: 3 });
      }
      for (let round = 0; round < ctx.rounds; round++) {
        for (const [name, peer] of (round % 2 ? [['fresh', fresh], ['loaded', edge]] : [['loaded', edge], ['fresh', fresh]]) as [string, Peer][]) {
          const r = await runWrk(`${peer.url}/hits/4k`, { seconds: ctx.seconds });
          hitRps[name]!.push(r.rps);
          ctx.log(`hits on the ${name} edge, round ${round + 1}: ${fmt(r.rps)} req/s`);
        }
      }
      const loaded = median(hitRps.loaded!);
      const none = median(hitRps.fresh!);
      const table = [['purge', 'objects per purge (median)', 'API call p50 ms', 'API call p99 ms']];
      for (const kind of ['url', 'host', 'tag']) table.push([kind, fmt(median(counts[kind]!)), fmt(pct(times[kind]!, 50), 2), fmt(pct(times[kind]!, 99), 2)]);
      table.push(['—', '—', '—', '—']);
      table.push(['4 KiB hits, fresh edge', fmt(none), 'req/s', '']);
      table.push([`4 KiB hits, ${OBJECTS.toLocaleString('en-US')} objects + ${stats.activePurges} held purges`, fmt(loaded), 'req/s', `${fmt((loaded / none) * 100, 1)}% of fresh`]);
      return {
        title: `Purges with ${OBJECTS.toLocaleString('en-US')} objects cached`,
        table,
        notes: [
          `${SAMPLES} purges of each kind; every purge was followed by a request for a purged object, which was a miss every time`,
          `a host holds ${OBJECTS / HOSTS} objects and a tag ${OBJECTS / 1000}; times are the admin API round trip (the purge is complete when it answers)`,
        ],
        data: { times, counts, hitRps, stats: { activePurges: stats.activePurges, entries: stats.cache.total.entries, tags: stats.cache.tags } },
      };
    } finally {
      await stopAll([edge, fresh]);
    }
  },
};
