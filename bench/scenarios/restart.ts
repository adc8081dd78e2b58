// Restart at scale: a disk cache holding N objects (1,000,000 by default, BENCH_RESTART_OBJECTS),
// written in the disk tier's format (bench/lib/fill-disk-cache.ts), then `blotcdn start` (dist/,
// with --expose-gc) started on it three ways: after a clean stop (index snapshot), after kill -9 with
// changes since the snapshot (snapshot + journal), and with no index at all (rebuilt from the
// files). Each reports time to listen, time until the platform's purge call answers (not 503),
// RSS and heap after a forced GC, and the index's bytes per object; a sample of objects is checked
// through the edge (hits, byte-exact), and purges are timed against the restarted index.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { get } from '../../test/helpers/client.js';
import { BODY, hostOf, pathOf } from '../lib/fill-disk-cache.js';
import { fmt, type BenchContext, type Scenario } from '../lib/scenario.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { MemoryFigure } from '../../src/cache/memory-figure.js';

const OBJECTS = Number(process.env.BENCH_RESTART_OBJECTS ?? 1_000_000);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MiB = 1024 * 1024;

interface Start {
  how: string;
  listenMs: number;
  readyMs: number;
  indexLoadMs: number;
  rss: number;
  heap: number;
  indexBytes: number;
  perObject: number;
  entries: number;
  note: string;
}

interface Edge {
  child: ChildProcess;
  url: string;
  admin: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function runFill(dir: string, log: (m: string) => void): Promise<{ objects: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/fill-disk-cache.ts'), dir, String(OBJECTS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let last = '';
    child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) line.startsWith('{') ? (last = line) : log(line.trim());
    });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(last)) : reject(new Error(`fill exited with ${code}`))));
  });
}

/**
 * Runs the real `blotcdn start` (dist/, as the command runs it) with a preload that answers "gc"
 * over IPC; resolves once it prints its listening addresses.
 */
function startEdge(configFile: string): Promise<Edge> {
  const child = fork(join(ROOT, 'dist/cli/main.js'), ['start', '--workers', '1', '--config', configFile], {
    execArgv: ['--max-semi-space-size=32', '--expose-gc', '--require', join(ROOT, 'bench/lib/gc-on-message.cjs')],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      const admin = /admin API and dashboard on (http:\/\/[^/\s]+)/.exec(out)?.[1];
      if (url && admin) {
        child.stderr!.off('data', onData);
        resolve({
          child,
          url,
          admin,
          stop: async (signal = 'SIGTERM') => {
            child.kill(signal);
            await exited;
          },
        });
      }
    };
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`blotcdn exited before listening:\n${out}`)));
  });
}

/** Starts the edge and measures, from the spawn, until it listens and until a purge is answered. */
async function startAndMeasure(how: string, configFile: string): Promise<{ edge: Edge; start: Omit<Start, 'note'> }> {
  const spawned = performance.now();
  const edge = await startEdge(configFile);
  const listenMs = performance.now() - spawned;
  // The platform's purge call, for a host with nothing cached: 503 until the index is whole.
  for (;;) {
    const res = await fetch(`${edge.admin}/purge?host=probe.invalid`).catch(() => undefined);
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const readyMs = performance.now() - spawned;
  const usage = await new Promise<NodeJS.MemoryUsage>((resolve) => {
    edge.child.once('message', (m: { usage: NodeJS.MemoryUsage }) => resolve(m.usage));
    edge.child.send('gc');
  });
  const stats = (await (await fetch(`${edge.admin}/stats`)).json()) as { memory: MemoryFigure; cache: { diskIndexLoad?: { ms: number } } };
  const disk = stats.memory.parts.diskIndex!;
  return {
    edge,
    start: { how, listenMs, readyMs, indexLoadMs: stats.cache.diskIndexLoad?.ms ?? NaN, rss: usage.rss, heap: usage.heapUsed, indexBytes: disk.bytes, perObject: stats.memory.indexBytesPerObject, entries: disk.entries },
  };
}

/** Requests `count` filled objects through the edge; returns how many were byte-exact hits. */
async function sample(edge: Edge, count: number, pick: (i: number) => number): Promise<number> {
  let hits = 0;
  for (let i = 0; i < count; i++) {
    const n = pick(i);
    const res = await get(`${edge.url}${pathOf(n)}`, { host: hostOf(n) });
    if (/hit/.test(String(res.headers['cache-status'])) && res.body.equals(BODY)) hits++;
  }
  return hits;
}

async function timed(what: () => Promise<Response>): Promise<{ ms: number; text: string }> {
  const started = performance.now();
  const res = await what();
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${text}`);
  return { ms: performance.now() - started, text };
}

const post = (admin: string, body: unknown) => fetch(`${admin}/purge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export const restart: Scenario = {
  name: 'restart',
  description: `edge restart on a disk cache of ${OBJECTS.toLocaleString('en-US')} objects: time to listen and to purge-ready, memory`,
  async run(ctx: BenchContext) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-restart-'));
    const cacheDir = join(dir, 'cache');
    const configFile = join(dir, 'config.json');
    const config: ConfigInput = {
      listen: { http: '127.0.0.1:0' },
      admin: { listen: '127.0.0.1:0' },
      log: { access: 'off', events: 'off' },
      cache: { disk: { dir: cacheDir, maxSize: '100GiB', maxObjects: OBJECTS + 100_000 } },
      originGroups: { o: { members: [{ url: ctx.originUrl }] } },
      sites: [{ hosts: ['*'], originGroup: 'o' }],
    };
    await writeFile(configFile, JSON.stringify(config));
    const starts: Start[] = [];
    const notes: string[] = [];
    // Objects no purge below touches (n mod 1000 in 500..899), spread over the whole cache.
    const spread = (i: number) => Math.min(OBJECTS - 1000, Math.floor(((i * 2_654_435_761) % OBJECTS) / 1000) * 1000) + 500 + (i % 400);
    const purgedByUrl = (i: number) => (20 + i * 997) % OBJECTS;
    const perHost = Math.round(OBJECTS / 1000).toLocaleString('en-US');
    let edge: Edge | undefined;
    try {
      const filled = await runFill(cacheDir, ctx.log);
      ctx.log(`filled ${filled.objects} objects in ${fmt(filled.ms / 1000, 1)} s (files and index snapshot written in the disk tier's format)`);

      // 1. After a clean stop: the snapshot alone.
      let start;
      ({ edge, start } = await startAndMeasure('after a clean stop (snapshot)', configFile));
      let hits = await sample(edge, 200, spread);
      starts.push({ ...start, note: `${hits}/200 sampled objects were byte-exact hits` });
      const admin = edge.admin;
      const purges: [string, () => Promise<Response>][] = [
        [`host (${perHost} objects)`, () => fetch(`${admin}/purge?host=h7.bench`)],
        [`tag (${perHost} objects)`, () => post(admin, { tag: 'grp-9' })],
        [`prefix (${perHost} objects)`, () => post(admin, { prefix: 'h10.bench/tagged/' })],
        ['URL', () => post(admin, { url: `http://${hostOf(11)}${pathOf(11)}` })],
      ];
      for (const [what, call] of purges) {
        const { ms, text } = await timed(call);
        const n = /"purged": (\d+)/.exec(text)?.[1] ?? /: (\d+)/.exec(text)?.[1];
        notes.push(`purge by ${what} on the restarted index: ${fmt(ms, 1)} ms, ${n} purged`);
      }

      // 2. Changes since the snapshot, then kill -9: the snapshot plus the journal.
      for (let i = 0; i < 5000; i++) await get(`${edge.url}${pathOf(OBJECTS + i)}`, { host: hostOf(OBJECTS + i) });
      for (let i = 0; i < 100; i++) await post(admin, { url: `http://${hostOf(purgedByUrl(i))}${pathOf(purgedByUrl(i))}` });
      await edge.stop('SIGKILL');
      ({ edge, start } = await startAndMeasure('after kill -9 (snapshot + journal)', configFile));
      const load = ((await (await fetch(`${edge.admin}/stats`)).json()) as { cache: { diskIndexLoad?: { replayed: number } } }).cache.diskIndexLoad;
      const fresh = await sample(edge, 100, (i) => OBJECTS + i * 50);
      const purged = 100 - (await sample(edge, 100, purgedByUrl));
      starts.push({ ...start, note: `${(load?.replayed ?? 0).toLocaleString('en-US')} journal records replayed; ${fresh}/100 objects stored since the snapshot were hits; ${purged}/100 URLs purged before the kill stayed purged` });
      await edge.stop();

      // 3. No index: rebuilt from every file's trailer (a cache from an older version, a lost index).
      await rm(join(cacheDir, 'index'), { recursive: true, force: true });
      ({ edge, start } = await startAndMeasure('without an index (rebuilt from the files)', configFile));
      hits = await sample(edge, 200, (i) => spread(i + 1000));
      starts.push({ ...start, note: `${fmt(start.entries / (start.indexLoadMs / 1000))} objects/s read; ${hits}/200 sampled hits` });
      await edge.stop();
      edge = undefined;
    } finally {
      await edge?.stop('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
    const table = [['start', 'listening', 'purges answered', 'index loaded in', 'RSS (after GC)', 'heap (after GC)', 'index', 'per object', '']];
    for (const s of starts) {
      table.push([s.how, `${fmt(s.listenMs)} ms`, `${fmt(s.readyMs)} ms`, `${fmt(s.indexLoadMs)} ms`, `${fmt(s.rss / MiB)} MiB`, `${fmt(s.heap / MiB)} MiB`, `${fmt(s.indexBytes / MiB, 1)} MiB`, `${s.perObject} B`, s.note]);
    }
    notes.unshift(
      `${OBJECTS.toLocaleString('en-US')} objects of 1 KiB on disk; \`blotcdn start\` (dist/, --expose-gc); times from spawning it to its listening line, and to the first 200 from GET /purge?host= (503 until the index is whole); "index loaded in": the disk tier's own figure (snapshot read + journal replay, or the rebuild)`,
    );
    return { title: `Restart with ${OBJECTS.toLocaleString('en-US')} objects on disk`, table, notes, data: { starts, notes } };
  },
};
