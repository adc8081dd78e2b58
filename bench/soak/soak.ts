// The soak: blotcdn (in a child process of its own, from src/) before two origins on loopback,
// under a steady mix of hits, misses, large objects, ranges, purges, config reloads (SIGHUP and
// POST /reload, alternately) and origin faults — some the edge must hide (a 503, a reset or a
// stall from the first member: the second answers), some it cannot (a body cut off mid-way). Every
// answer is checked byte for byte. It reports the requests that should have succeeded and did not
// (target 0), pages served stale after a purge returned (target 0), cut-off bodies served as
// complete (target 0), reloads not applied, and the edge's heap after a forced GC at intervals
// after the warm-up (it should stay flat). `npm run soak`; a short run is part of the test suite.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import type { ConfigInput } from '../../src/config/schema.js';
import { startEdgeProcess, type EdgeProcess } from '../../test/helpers/edge-process.js';

export interface SoakOptions {
  /** Length of the run after the warm-up, seconds. */
  seconds: number;
  /** Warm-up: every page and large object stored, the memory tier filled past its budget. */
  warmupSeconds: number;
  /** Heap samples (forced GC in the edge) this often after the warm-up, seconds. */
  sampleEverySeconds: number;
  /** A config reload this often, seconds (SIGHUP and POST /reload in turn). */
  reloadEverySeconds: number;
  /** Clients sending at once. */
  concurrency: number;
  /** Pages kept hot (default 2,000, 2–16 KB each). */
  pages?: number;
  /** The memory tier's budget, MiB (default 32); the disk tier's is four times as much, and the
   * warm-up sends misses past both, so the run measures a cache that is full and evicting. */
  memoryMiB?: number;
  log?: (line: string) => void;
}

export type Kind = 'hit' | 'miss' | 'big' | 'range' | 'purge' | 'failover-503' | 'failover-reset' | 'failover-slow' | 'cut';
/** Kinds whose every request must succeed; `cut` must fail (and never look complete). */
const MUST_SUCCEED: ReadonlySet<Kind> = new Set(['hit', 'miss', 'big', 'range', 'purge', 'failover-503', 'failover-reset', 'failover-slow']);

export interface HeapSample {
  atSeconds: number;
  heapUsedMiB: number;
  rssMiB: number;
  /** The edge's own memory figure (cache structures), MiB. */
  cacheMiB: number;
  /** That figure's parts: bytes and entries of each. */
  parts: Record<string, { bytes: number; entries: number }>;
  requests: number;
}

export interface SoakReport {
  seconds: number;
  requests: number;
  byKind: Record<Kind, { sent: number; ok: number; failed: number }>;
  /** Requests that should have succeeded and did not (first 20 kept). */
  failures: { kind: Kind; path: string; why: string }[];
  failedCount: number;
  staleAfterPurge: number;
  cutServedComplete: number;
  reloads: { sighup: number; post: number; notApplied: number };
  heap: HeapSample[];
}

const BIGS = 16;
const MISS_BYTES = 32 * 1024;
const pageBytes = (i: number) => 2_000 + ((i * 7919) % 14_000);
const bigBytes = (i: number) => 256 * 1024 + ((i * 104_729) % (768 * 1024));

/** Deterministic bytes: a mix-up between objects shows. */
function pattern(seed: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = (seed * 131 + i * 31 + (i >> 9)) & 0xff;
  return out;
}
const bigs = Array.from({ length: BIGS }, (_, i) => pattern(i + 1, bigBytes(i)));

/** The two origins: `a` misbehaves on /fault/*, `b` answers everything; pages count their fetches. */
function origins(): { a: Server; b: Server; fetches: Map<string, number> } {
  const fetches = new Map<string, number>();
  const serve = (member: 'a' | 'b') => (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const send = (status: number, body: Buffer | string, cacheControl: string) => {
      res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(body), 'cache-control': cacheControl });
      res.end(body);
    };
    let m: RegExpExecArray | null;
    if ((m = /^\/page\/(\d+)$/.exec(url))) {
      const n = (fetches.get(url) ?? 0) + 1;
      fetches.set(url, n);
      return send(200, `page ${m[1]} v${n}\n${'p'.repeat(pageBytes(Number(m[1])))}`, 'max-age=300');
    }
    if ((m = /^\/miss\/(\d+)$/.exec(url))) return send(200, `miss ${m[1]}\n${'m'.repeat(MISS_BYTES)}`, 'max-age=300');
    if ((m = /^\/big\/(\d+)$/.exec(url))) return send(200, bigs[Number(m[1])]!, 'max-age=300');
    if (url.startsWith('/fault/cut/')) {
      res.writeHead(200, { 'content-length': 65_536, 'cache-control': 'max-age=300' });
      res.write(Buffer.alloc(32_768, 'c'));
      return void setImmediate(() => res.destroy());
    }
    if (url.startsWith('/fault/') && member === 'a') {
      if (url.startsWith('/fault/503/')) return send(503, 'down for a moment', 'no-store');
      if (url.startsWith('/fault/reset/')) return void req.socket.destroy();
      if (url.startsWith('/fault/slow/')) return; // never answers: the edge gives up at headersTimeout
    }
    if (url.startsWith('/fault/')) return send(200, `answered by ${member}`, 'no-store');
    send(200, 'ok', 'no-store'); // the breaker's probe path and anything else
  };
  return { a: createServer(serve('a')), b: createServer(serve('b')), fetches };
}

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

function config(originA: string, originB: string, cacheDir: string, generation: number, memoryMiB: number, diskMiB: number): ConfigInput {
  return {
    listen: { http: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    log: { access: 'off', events: 'off' },
    cache: { memory: { maxSize: `${memoryMiB}MiB` }, disk: { dir: cacheDir, maxSize: `${diskMiB}MiB` }, compression: { enabled: false } },
    originGroups: { main: { members: [{ name: 'a', url: originA, headersTimeout: '1s' }, { name: 'b', url: originB, headersTimeout: '1s' }] } },
    sites: [{ hosts: ['*'], originGroup: 'main', responseHeaders: { set: { 'x-soak-generation': String(generation) } } }],
  };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  error?: string;
}

async function call(pool: Pool, path: string, options: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  try {
    const res = await pool.request({ path, method: options.method ?? 'GET', headers: { host: 'soak.test', ...options.headers }, body: options.body });
    try {
      const body = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: res.headers, body };
    } catch (err) {
      return { status: res.statusCode, headers: res.headers, body: Buffer.alloc(0), error: `body: ${(err as Error).message}` };
    }
  } catch (err) {
    return { status: 0, headers: {}, body: Buffer.alloc(0), error: (err as Error).message };
  }
}

/** Picks a kind by weight. */
function pick(r: number): Kind {
  const table: [Kind, number][] = [
    ['hit', 62],
    ['miss', 10],
    ['big', 6],
    ['range', 6],
    ['purge', 4],
    ['failover-503', 4],
    ['failover-reset', 3],
    ['failover-slow', 1],
    ['cut', 4],
  ];
  let at = r * table.reduce((n, [, w]) => n + w, 0);
  for (const [kind, w] of table) if ((at -= w) < 0) return kind;
  return 'hit';
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const PAGES = options.pages ?? 2_000;
  const memoryMiB = options.memoryMiB ?? 32;
  const diskMiB = memoryMiB * 4;
  const prefillMisses = Math.ceil((diskMiB * 1.25 * 1024) / (MISS_BYTES / 1024));
  const { a, b, fetches } = origins();
  const [portA, portB] = [await listen(a), await listen(b)];
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-soak-'));
  const file = join(dir, 'blotcdn.json');
  let generation = 1;
  const writeConfig = () => writeFile(file, JSON.stringify(config(`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`, join(dir, 'cache'), generation, memoryMiB, diskMiB)));
  await writeConfig();
  let edge: EdgeProcess | undefined;
  const pools: Pool[] = [];
  try {
    edge = await startEdgeProcess({ file });
    await edge.ready;
    const pool = new Pool(edge.url, { connections: options.concurrency, headersTimeout: 30_000, bodyTimeout: 30_000 });
    const admin = new Pool(edge.adminUrl!, { connections: 2 });
    // The admin API answers only to its own address (the admin guard: no DNS rebinding).
    const adminHost = new URL(edge.adminUrl!).host;
    pools.push(pool, admin);

    const counters = () => Object.fromEntries([...MUST_SUCCEED, 'cut'].map((k) => [k, { sent: 0, ok: 0, failed: 0 }])) as SoakReport['byKind'];
    let byKind = counters();
    const failures: SoakReport['failures'] = [];
    let failedCount = 0;
    let staleAfterPurge = 0;
    let cutServedComplete = 0;
    let misses = 0;
    let faults = 0;
    let requests = 0;
    const fail = (kind: Kind, path: string, why: string) => {
      failedCount++;
      byKind[kind].failed++;
      if (failures.length < 20) failures.push({ kind, path, why });
    };

    /** One request of `kind`; checks the answer byte for byte. */
    const one = async (kind: Kind): Promise<void> => {
      byKind[kind].sent++;
      requests++;
      let path = '';
      let why: string | undefined;
      switch (kind) {
        case 'hit': {
          const i = Math.floor(Math.random() * PAGES);
          path = `/page/${i}`;
          const r = await call(pool, path);
          const prefix = `page ${i} v`;
          if (r.error || r.status !== 200) why = `${r.status} ${r.error ?? ''}`;
          else if (!r.body.subarray(0, prefix.length).equals(Buffer.from(prefix)) || r.body.length !== r.body.indexOf('\n') + 1 + pageBytes(i)) why = 'wrong or short body';
          break;
        }
        case 'miss': {
          const n = misses++;
          path = `/miss/${n}`;
          const r = await call(pool, path);
          if (r.error || r.status !== 200) why = `${r.status} ${r.error ?? ''}`;
          else if (!r.body.equals(Buffer.from(`miss ${n}\n${'m'.repeat(MISS_BYTES)}`))) why = `other bytes (${r.body.length})`;
          break;
        }
        case 'big': {
          const i = Math.floor(Math.random() * BIGS);
          path = `/big/${i}`;
          const r = await call(pool, path);
          if (r.error || r.status !== 200) why = `${r.status} ${r.error ?? ''}`;
          else if (!r.body.equals(bigs[i]!)) why = `other bytes (${r.body.length} of ${bigs[i]!.length})`;
          break;
        }
        case 'range': {
          const i = Math.floor(Math.random() * BIGS);
          const start = Math.floor(Math.random() * (bigs[i]!.length - 5000));
          path = `/big/${i}`;
          const r = await call(pool, path, { headers: { range: `bytes=${start}-${start + 4095}` } });
          if (r.error || r.status !== 206) why = `${r.status} ${r.error ?? ''}`;
          else if (!r.body.equals(bigs[i]!.subarray(start, start + 4096))) why = 'other bytes than the range';
          break;
        }
        case 'purge': {
          const i = Math.floor(Math.random() * PAGES);
          path = `/page/${i}`;
          // Fetches that reached the origin before the purge was sent; a later one may have begun
          // before the purge took effect too, so this can miss a stale page but never invent one.
          const fetchedBefore = fetches.get(path) ?? 0;
          const p = await call(admin, '/purge', { method: 'POST', headers: { host: adminHost, 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://soak.test${path}` }) });
          if (p.error || p.status !== 200) {
            why = `purge: ${p.status} ${p.error ?? p.body.toString()}`;
            break;
          }
          const r = await call(pool, path);
          const version = Number(/^page \d+ v(\d+)/.exec(r.body.toString('latin1', 0, 40))?.[1]);
          if (r.error || r.status !== 200) why = `${r.status} ${r.error ?? ''}`;
          else if (!(version > fetchedBefore)) {
            staleAfterPurge++;
            why = `stale after the purge: v${version}, origin had served v${fetchedBefore} before`;
          }
          break;
        }
        case 'failover-503':
        case 'failover-reset':
        case 'failover-slow': {
          path = `/fault/${kind.slice('failover-'.length)}/${faults++}`;
          const r = await call(pool, path);
          if (r.error || r.status !== 200 || r.body.toString() !== 'answered by b') why = `${r.status} ${r.error ?? r.body.toString().slice(0, 300)}`;
          break;
        }
        case 'cut': {
          path = `/fault/cut/${faults++}`;
          const r = await call(pool, path);
          if (!r.error && r.status === 200) {
            cutServedComplete++;
            why = `a body cut at 32 KiB of 64 KiB was served as complete (${r.body.length} bytes)`;
          }
          byKind.cut[why ? 'failed' : 'ok']++;
          if (why) fail(kind, path, why);
          return;
        }
      }
      if (why) fail(kind, path, why);
      else byKind[kind].ok++;
    };

    // Warm-up: every page and large object, and misses past the memory tier's budget.
    const started = performance.now();
    log(`warm-up: ${PAGES} pages, ${BIGS} large objects, ${prefillMisses} misses of 32 KiB (the tiers hold ${memoryMiB} MiB in memory, ${diskMiB} MiB on disk), then the mix`);
    const work: (() => Promise<void>)[] = [
      ...Array.from({ length: PAGES }, (_, i) => async () => void (await call(pool, `/page/${i}`))),
      ...Array.from({ length: BIGS }, (_, i) => async () => void (await call(pool, `/big/${i}`))),
      ...Array.from({ length: prefillMisses }, () => () => one('miss')),
    ];
    await Promise.all(Array.from({ length: options.concurrency }, async () => {
      for (let job = work.shift(); job; job = work.shift()) await job();
    }));
    const mixUntil = started + options.warmupSeconds * 1000;
    await Promise.all(Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < mixUntil) await one(pick(Math.random()));
    }));

    if (failedCount > 0) log(`${failedCount} requests failed during the warm-up`);
    // The run: the mix, reloads in turn, and heap samples; counted from here.
    byKind = counters();
    requests = 0;
    const reloads = { sighup: 0, post: 0, notApplied: 0 };
    const heap: HeapSample[] = [];
    const sample = async (atSeconds: number) => {
      const { usage, figure } = await edge!.memory();
      const parts = Object.fromEntries(Object.entries(figure.parts).map(([name, p]) => [name, { bytes: p.bytes, entries: p.entries }]));
      const s = { atSeconds, heapUsedMiB: usage.heapUsed / 2 ** 20, rssMiB: usage.rss / 2 ** 20, cacheMiB: figure.bytes / 2 ** 20, parts, requests };
      heap.push(s);
      log(`t=${String(Math.round(atSeconds)).padStart(4)} s  heap ${s.heapUsedMiB.toFixed(1)} MiB  rss ${s.rssMiB.toFixed(1)} MiB  cache structures ${s.cacheMiB.toFixed(1)} MiB  requests ${requests}  failed ${failedCount}`);
    };
    const runStart = performance.now();
    const until = runStart + options.seconds * 1000;
    const elapsed = () => (performance.now() - runStart) / 1000;
    await sample(0);
    let stopping = false;
    const clients = Promise.all(Array.from({ length: options.concurrency }, async () => {
      while (!stopping && performance.now() < until) await one(pick(Math.random()));
    }));
    const reloader = (async () => {
      let next = options.reloadEverySeconds;
      while (performance.now() < until) {
        await new Promise((r) => setTimeout(r, Math.max(0, Math.min(runStart + next * 1000, until) - performance.now())));
        if (performance.now() >= until) break;
        next += options.reloadEverySeconds;
        generation++;
        await writeConfig();
        if (generation % 2 === 0) {
          reloads.sighup++;
          edge!.child.kill('SIGHUP');
        } else {
          reloads.post++;
          const r = await call(admin, '/reload', { method: 'POST', headers: { host: adminHost, 'content-type': 'application/json' }, body: '{}' });
          if (r.status !== 200) log(`POST /reload: ${r.status} ${r.body.toString()}`);
        }
        // Applied when a page says so (SIGHUP has no answer to wait for).
        const deadline = performance.now() + 10_000;
        let seen: unknown;
        while (performance.now() < deadline) {
          seen = (await call(pool, '/page/0')).headers['x-soak-generation'];
          if (seen === String(generation)) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        if (seen !== String(generation)) {
          reloads.notApplied++;
          log(`reload ${generation} not applied within 10 s (a page says ${String(seen)})`);
        }
      }
    })();
    const sampler = (async () => {
      let next = options.sampleEverySeconds;
      while (performance.now() + options.sampleEverySeconds * 1000 * 0.5 < until) {
        await new Promise((r) => setTimeout(r, Math.max(0, runStart + next * 1000 - performance.now())));
        if (performance.now() >= until) break;
        await sample(elapsed());
        next += options.sampleEverySeconds;
      }
    })();
    await Promise.all([reloader, sampler]);
    stopping = true;
    await clients;
    await sample(elapsed());
    return { seconds: elapsed(), requests, byKind, failures, failedCount, staleAfterPurge, cutServedComplete, reloads, heap };
  } finally {
    for (const p of pools) await p.close().catch(() => undefined);
    await edge?.stop().catch(() => edge?.kill());
    await new Promise((r) => a.close(r));
    await new Promise((r) => b.close(r));
    a.closeAllConnections();
    b.closeAllConnections();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The report as text. */
export function formatReport(r: SoakReport, options: SoakOptions): string {
  const lines = [
    `soak: ${r.seconds.toFixed(0)} s after a ${options.warmupSeconds} s warm-up, ${options.concurrency} clients, loopback`,
    `requests: ${r.requests}`,
    ...Object.entries(r.byKind).map(([k, v]) => `  ${k.padEnd(15)} sent ${String(v.sent).padStart(7)}  ok ${String(v.ok).padStart(7)}  failed ${v.failed}`),
    `failed requests that should have succeeded: ${r.failedCount - r.byKind.cut.failed}`,
    `stale pages after a purge returned: ${r.staleAfterPurge}`,
    `cut-off bodies served as complete: ${r.cutServedComplete}`,
    `reloads: ${r.reloads.sighup} by SIGHUP, ${r.reloads.post} by POST /reload, not applied: ${r.reloads.notApplied}`,
    'heap after GC (the edge process), after the warm-up:',
    ...r.heap.map((h) => `  t=${String(Math.round(h.atSeconds)).padStart(4)} s  heapUsed ${h.heapUsedMiB.toFixed(1).padStart(6)} MiB  rss ${h.rssMiB.toFixed(1).padStart(6)} MiB  cache structures ${h.cacheMiB.toFixed(1)} MiB  requests ${h.requests}`),
  ];
  if (r.heap.length >= 2) {
    const first = r.heap[0]!.heapUsedMiB;
    const last = r.heap.at(-1)!.heapUsedMiB;
    const max = Math.max(...r.heap.map((h) => h.heapUsedMiB));
    lines.push(`heap: first ${first.toFixed(1)} MiB, last ${last.toFixed(1)} MiB, highest ${max.toFixed(1)} MiB (${last >= first ? '+' : ''}${(last - first).toFixed(1)} MiB)`);
    const [a, b] = [r.heap[0]!.parts, r.heap.at(-1)!.parts];
    const grew = Object.keys(b)
      .map((name) => ({ name, bytes: b[name]!.bytes - (a[name]?.bytes ?? 0), entries: b[name]!.entries - (a[name]?.entries ?? 0) }))
      .filter((d) => d.bytes !== 0 || d.entries !== 0)
      .map((d) => `${d.name} ${d.bytes >= 0 ? '+' : ''}${(d.bytes / 1024).toFixed(0)} KiB (${d.entries >= 0 ? '+' : ''}${d.entries} entries)`);
    lines.push(`cache structures, first to last sample: ${grew.length ? grew.join(', ') : 'unchanged'}`);
  }
  for (const f of r.failures) lines.push(`  failure: ${f.kind} ${f.path}: ${f.why}`);
  return lines.join('\n');
}
