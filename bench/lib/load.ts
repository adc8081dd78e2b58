// Measured load runs: wrk against one server while the CPU of the server's process tree, of wrk and
// of both cores is read over the same window. A run whose load generator had no room left is flagged
// client-bound, one whose server shared its core with other work is flagged shared: either way the
// rate is not the server's own limit, so ratios against it are bounds, not results.
import { busyPercent, coreTimes, parseCoreList, treeCpuSeconds } from './cpu.js';
import { CLIENT_CORE, median, SERVER_CORE, type Proc } from './procs.js';
import { runWrk } from './wrk.js';
import { fmt, type BenchContext } from './scenario.js';

/** wrk at or above this share of its core, or the client core this busy, means the client was the limit. */
export const WRK_SATURATED_PCT = 90;
export const CLIENT_CORE_SATURATED_PCT = 95;
/** Other work taking at least this share of the server's core(s) means the server did not have them. */
export const SERVER_CORE_SHARED_PCT = 10;

const SERVER_CORES = parseCoreList(SERVER_CORE);
const CLIENT_CORES = parseCoreList(CLIENT_CORE);

/** A server under load: `procs` (default: just `proc`) and all their descendants are its CPU. */
export interface Measurable {
  name: string;
  proc: Proc;
  procs?: Proc[];
}

export interface MeasuredRun {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  mbps: number;
  errors: number;
  /** Wall-clock length of the window the CPU figures cover. */
  seconds: number;
  serverCpuSeconds: number;
  /** The server's CPU as a share of the cores it is pinned to. */
  serverCpuPct: number;
  requestsPerCpuSecond: number;
  /** MB moved per server CPU-second. */
  mbPerCpuSecond: number;
  wrkCpuPct: number;
  clientCoreBusyPct: number;
  serverCoreBusyPct: number;
  /** Busy time on the server's cores not used by the server: other processes (ours idle, or other people's). */
  othersOnServerCoresPct: number;
  clientBound: boolean;
  serverShared: boolean;
  /** wrk's errors by kind ("timeout 12"), empty when none. */
  errorKinds: string;
}

export async function measuredWrk(target: Measurable, url: string, options: { connections?: number; seconds: number }): Promise<MeasuredRun> {
  const pids = (target.procs ?? [target.proc]).map((p) => p.child.pid!);
  const cpu0 = treeCpuSeconds(pids);
  const server0 = coreTimes(SERVER_CORES);
  const client0 = coreTimes(CLIENT_CORES);
  const started = performance.now();
  const r = await runWrk(url, options);
  const seconds = (performance.now() - started) / 1000;
  const serverCpuSeconds = treeCpuSeconds(pids) - cpu0;
  const serverCoreBusyPct = busyPercent(server0, coreTimes(SERVER_CORES));
  const clientCoreBusyPct = busyPercent(client0, coreTimes(CLIENT_CORES));
  const serverCpuPct = (serverCpuSeconds / (seconds * SERVER_CORES.length)) * 100;
  const wrkCpuPct = (r.wrkCpuSeconds / seconds) * 100;
  const mb = r.transferMBps * options.seconds; // wrk reports MB/s over its own run
  return {
    rps: r.rps,
    requests: r.requests,
    p50: r.p50,
    p99: r.p99,
    mbps: r.transferMBps,
    errors: r.errors,
    seconds,
    serverCpuSeconds,
    serverCpuPct,
    requestsPerCpuSecond: r.requests / Math.max(serverCpuSeconds, 0.01),
    mbPerCpuSecond: mb / Math.max(serverCpuSeconds, 0.01),
    wrkCpuPct,
    clientCoreBusyPct,
    serverCoreBusyPct,
    othersOnServerCoresPct: Math.max(0, serverCoreBusyPct - serverCpuPct),
    clientBound: wrkCpuPct >= WRK_SATURATED_PCT || clientCoreBusyPct >= CLIENT_CORE_SATURATED_PCT,
    serverShared: serverCoreBusyPct - serverCpuPct >= SERVER_CORE_SHARED_PCT,
    errorKinds: r.errorKinds,
  };
}

type Figures = Omit<MeasuredRun, 'clientBound' | 'serverShared' | 'errorKinds'>;

/** Medians of every figure over a server's rounds, and how many rounds were held back, and how. */
export type Summary = Figures & { clientBoundRounds: number; serverSharedRounds: number; rounds: number; runs: MeasuredRun[] };

export function summarize(runs: MeasuredRun[]): Summary {
  const keys = Object.keys(runs[0]!).filter((k) => typeof runs[0]![k as keyof MeasuredRun] === 'number') as (keyof Figures)[];
  const medians = Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]))])) as Figures;
  return {
    ...medians,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    clientBoundRounds: runs.filter((r) => r.clientBound).length,
    serverSharedRounds: runs.filter((r) => r.serverShared).length,
    rounds: runs.length,
    runs,
  };
}

/** Whether any round of a server was held back (client-bound or its core shared). */
export const heldBack = (s: Summary) => s.clientBoundRounds > 0 || s.serverSharedRounds > 0;

/**
 * `ours ÷ theirs` of a figure, and what it is worth: a server held back (by the client, or by other
 * work on its core) measured less than it can do, so a ratio against it is a bound (`≤` when theirs
 * was held back, `≥` when ours was) and, when both were, says nothing about which is faster. This
 * holds for per-CPU-second figures too, as a rule: a server with room to spare batches less per wakeup.
 */
export type RatioKind = 'result' | 'upperBound' | 'lowerBound' | 'unknown';

export function ratio(ours: Summary, theirs: Summary, pick: (s: Summary) => number): { value: number; kind: RatioKind; text: string } {
  const value = pick(ours) / pick(theirs);
  const a = heldBack(ours);
  const b = heldBack(theirs);
  const kind: RatioKind = a && b ? 'unknown' : b ? 'upperBound' : a ? 'lowerBound' : 'result';
  const mark = { result: '', upperBound: '≤', lowerBound: '≥', unknown: '?' }[kind];
  return { value, kind, text: kind === 'unknown' ? `${fmt(value, 2)}×?` : `${mark}${fmt(value, 2)}×` };
}

/**
 * What a feature costs (off → on) within each round's back-to-back pair (same index = same round): the median
 * drop in requests per CPU-second and the median CPU µs added per request, with the pairs in which
 * either run was held back counted (their drops are bounds, not results).
 */
export function pairedCost(off: MeasuredRun[], on: MeasuredRun[]): { drop: number; addedUs: number; heldBack: number; pairs: number; text: string } {
  const n = Math.min(off.length, on.length);
  const drops: number[] = [];
  const added: number[] = [];
  let held = 0;
  for (let i = 0; i < n; i++) {
    drops.push(1 - on[i]!.requestsPerCpuSecond / off[i]!.requestsPerCpuSecond);
    added.push(1e6 / on[i]!.requestsPerCpuSecond - 1e6 / off[i]!.requestsPerCpuSecond);
    if (off[i]!.clientBound || off[i]!.serverShared || on[i]!.clientBound || on[i]!.serverShared) held++;
  }
  const drop = median(drops);
  return { drop, addedUs: median(added), heldBack: held, pairs: n, text: `${fmt(drop * 100, 1)} %${held > 0 ? ` (${held}/${n} pairs held back)` : ''}` };
}

/** The cells every load table shares, and their header. */
export const LOAD_HEADER = ['req/s', 'req per server CPU-s', 'server CPU %', 'others on server core %', 'wrk CPU %', 'client core busy %', 'p50 ms', 'p99 ms', 'errors', 'held-back rounds'];
export function loadCells(s: Summary): string[] {
  return [fmt(s.rps), fmt(s.requestsPerCpuSecond), fmt(s.serverCpuPct), fmt(s.othersOnServerCoresPct), fmt(s.wrkCpuPct), fmt(s.clientCoreBusyPct), fmt(s.p50, 2), fmt(s.p99, 2), String(s.errors), heldBackCell(s)];
}

/** "0/3", or the rounds held back and how: "**3/3** (client 2, core 3)". */
export function heldBackCell(s: Summary): string {
  const held = s.runs.filter((r) => r.clientBound || r.serverShared).length;
  return held === 0 ? `0/${s.rounds}` : `**${held}/${s.rounds}** (client ${s.clientBoundRounds}, core ${s.serverSharedRounds})`;
}

/** What the CPU columns mean and what the run's readings say about the machine, for a table's notes. */
export function loadNotes(summaries: Summary[]): string[] {
  const runs = summaries.flatMap((s) => s.runs);
  const others = runs.map((r) => r.othersOnServerCoresPct);
  const bound = runs.filter((r) => r.clientBound).length;
  const shared = runs.filter((r) => r.serverShared).length;
  const wrk = runs.map((r) => r.wrkCpuPct);
  return [
    `CPU from /proc over each run's window: "server CPU" is the server's whole process tree (nginx master + worker, varnishd + its child, varnishncsa when logging) as a share of its ${SERVER_CORES.length} pinned core(s); "wrk CPU" is wrk's own share of its core; "client core busy" is the whole client core (${CLIENT_CORE}) from /proc/stat`,
    `a round is held back when it is client-bound (wrk used ≥ ${WRK_SATURATED_PCT} % of its core, or the client core was ≥ ${CLIENT_CORE_SATURATED_PCT} % busy) or its server core was shared (other work took ≥ ${SERVER_CORE_SHARED_PCT} % of it): that server's figures are then lower bounds, and ratios against it are bounds, not results (≤: the other server was held back; ≥: blotcdn was; ?: both were)`,
    bound + shared > 0
      ? `**of ${runs.length} rounds, ${bound} were client-bound and ${shared} had their server core shared**; wrk itself used at most ${fmt(Math.max(...wrk))} % of its core`
      : `no round was held back (${runs.length} rounds); wrk used at most ${fmt(Math.max(...wrk))} % of its core`,
    `"others on server core": busy time on the server core(s) not used by the measured server — the idle peers, and other people's processes on a shared machine (a server that does not get its core cannot reach its rate: per-CPU-second figures are the steadier ones then); over this table: median ${fmt(median(others), 1)} %, max ${fmt(Math.max(...others), 1)} %`,
  ];
}

/**
 * Rounds of wrk against each target in turn, the order rotating each round so drift in the
 * machine's speed falls on all alike, after a short discarded run each (JIT warm-up, first GCs).
 * `order` replaces the rotation (e.g. to keep two runs that are compared back to back).
 */
export async function interleaved<T extends Measurable>(
  ctx: BenchContext,
  targets: T[],
  url: (t: T) => string,
  options: { connections?: number; label?: string; order?: (round: number) => T[] } = {},
): Promise<{ runs: Map<string, MeasuredRun[]>; sent: Map<string, number> }> {
  /** Requests each target completed, warm-up included (to check an access log against). */
  const sent = new Map<string, number>();
  for (const t of targets) sent.set(t.name, (await runWrk(url(t), { seconds: 3, connections: options.connections })).requests);
  const results = new Map<string, MeasuredRun[]>();
  for (let round = 0; round < ctx.rounds; round++) {
    for (const t of options.order?.(round) ?? targets.map((_, i) => targets[(i + round) % targets.length]!)) {
      const r = await measuredWrk(t, url(t), { seconds: ctx.seconds, connections: options.connections });
      ctx.log(
        `${options.label ? options.label + ' ' : ''}${t.name} round ${round + 1}: ${fmt(r.rps)} req/s, ${fmt(r.requestsPerCpuSecond)} per server CPU-s ` +
          `(server ${fmt(r.serverCpuPct)} %, wrk ${fmt(r.wrkCpuPct)} %, client core ${fmt(r.clientCoreBusyPct)} %, others on server core ${fmt(r.othersOnServerCoresPct)} %)` +
          `, p99 ${fmt(r.p99, 2)} ms${r.errors ? `, errors: ${r.errorKinds}` : ''}${r.clientBound ? ' — CLIENT-BOUND' : ''}${r.serverShared ? ' — SERVER CORE SHARED' : ''}`,
      );
      results.set(t.name, [...(results.get(t.name) ?? []), r]);
      sent.set(t.name, sent.get(t.name)! + r.requests);
    }
  }
  return { runs: results, sent };
}
