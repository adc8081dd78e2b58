// The machine's figures from its workers' snapshots: counters and histograms summed, hour series
// added sample by sample (aligned from the newest: workers sample every 10 s from their own start),
// top missed URLs merged, and the control plane's readings combined part by part. `MachineStats` is
// an EdgeStats whose fields are overwritten on each merge, so the admin API and the Prometheus
// exporter read it exactly as they read one process's.
import type { ControlPlane, Readiness } from '../../control/control-plane.js';
import type { MemoryFigure } from '../../cache/memory-figure.js';
import type { StoreStats } from '../../cache/store.js';
import type { Outcome } from '../../pipeline/context.js';
import { Histogram } from '../../observe/histogram.js';
import { EdgeStats, type Sample } from '../../observe/stats.js';
import type { MemberStatus } from '../../origins/origin-group.js';
import type { TaskCounts } from '../../tasks/task-runner.js';
import type { HistogramData, WorkerSnapshot } from './worker-snapshot.js';

function sumInto<K>(map: Map<K, number>, entries: Iterable<[K, number]>): void {
  for (const [k, n] of entries) map.set(k, (map.get(k) ?? 0) + n);
}

function addHistogram(h: Histogram, d: HistogramData): void {
  for (let i = 0; i < h.counts.length; i++) h.counts[i]! += d.counts[i] ?? 0;
  h.sum += d.sum;
  h.count += d.count;
}

/** Series added sample by sample from the newest; times are the longest series' own. */
export function mergeSeries(all: Sample[][]): Sample[] {
  const longest = all.reduce<Sample[]>((a, b) => (b.length > a.length ? b : a), []);
  const out = longest.map((s) => ({ ...s, requests: 0, hits: 0, bytesServed: 0, bytesFromOrigin: 0 }));
  for (const series of all) {
    const shift = out.length - series.length;
    series.forEach((s, i) => {
      const o = out[i + shift]!;
      o.requests += s.requests;
      o.hits += s.hits;
      o.bytesServed += s.bytesServed;
      o.bytesFromOrigin += s.bytesFromOrigin;
    });
  }
  return out;
}

export class MachineStats extends EdgeStats {
  private mergedSeries: Sample[] = [];
  private mergedMissed: { url: string; misses: number }[] = [];

  /** Replaces every figure with the sum of these workers'. */
  absorb(snapshots: WorkerSnapshot[]): void {
    const counters = ['requests', 'bytesServed', 'bytesFromOrigin', 'originFetches', 'collapsed', 'stored'] as const;
    for (const c of counters) this[c] = snapshots.reduce((n, s) => n + s.stats[c], 0);
    for (const k of Object.keys(this.outcomes) as Outcome[]) this.outcomes[k] = snapshots.reduce((n, s) => n + (s.stats.outcomes[k] ?? 0), 0);
    const maps = [
      [this.statuses, 'statuses'],
      [this.notStored, 'notStored'],
      [this.errors, 'errors'],
      [this.denied, 'denied'],
      [this.rateLimited, 'rateLimited'],
    ] as const;
    for (const [map, field] of maps) {
      map.clear();
      for (const s of snapshots) sumInto(map as Map<unknown, number>, s.stats[field] as [unknown, number][]);
    }
    this.durations.clear();
    for (const s of snapshots) {
      for (const [outcome, d] of s.stats.durations) {
        let h = this.durations.get(outcome as Outcome);
        if (h === undefined) this.durations.set(outcome as Outcome, (h = new Histogram()));
        addHistogram(h, d);
      }
    }
    this.originLatency.counts.fill(0);
    this.originLatency.sum = 0;
    this.originLatency.count = 0;
    for (const s of snapshots) addHistogram(this.originLatency, s.stats.originLatency);
    this.mergedSeries = mergeSeries(snapshots.map((s) => s.stats.series));
    const missed = new Map<string, number>();
    for (const s of snapshots) sumInto(missed, s.stats.topMissed.map((m) => [m.url, m.misses] as [string, number]));
    this.mergedMissed = [...missed].map(([url, misses]) => ({ url, misses })).sort((a, b) => b.misses - a.misses);
  }

  override series(): Sample[] {
    return this.mergedSeries;
  }

  override topMissed(n = 20): { url: string; misses: number }[] {
    return this.mergedMissed.slice(0, n);
  }
}

const addStore = (a: StoreStats, b: StoreStats): StoreStats => ({ entries: a.entries + b.entries, bytes: a.bytes + b.bytes, maxBytes: a.maxBytes + b.maxBytes });

export function mergeCache(all: WorkerSnapshot['cache'][]): ReturnType<ControlPlane['cacheStats']> {
  const zero: StoreStats = { entries: 0, bytes: 0, maxBytes: 0 };
  const out: ReturnType<ControlPlane['cacheStats']> = { total: zero, flights: 0, indexed: 0 };
  for (const c of all) {
    out.total = addStore(out.total, c.total);
    out.flights += c.flights;
    out.indexed += c.indexed;
    if (c.tiers) {
      out.tiers ??= {};
      for (const [tier, st] of Object.entries(c.tiers)) out.tiers[tier] = addStore(out.tiers[tier] ?? zero, st);
    }
    if (c.diskIndexLoad) {
      const d = out.diskIndexLoad;
      // The slowest worker's load says when the machine was ready; "files" if any had to rebuild.
      out.diskIndexLoad = d
        ? { from: d.from === 'files' || c.diskIndexLoad.from === 'files' ? 'files' : d.from, replayed: d.replayed + c.diskIndexLoad.replayed, torn: d.torn + c.diskIndexLoad.torn, ms: Math.max(d.ms, c.diskIndexLoad.ms) }
        : { ...c.diskIndexLoad };
    }
  }
  return out;
}

export function mergeMemory(all: MemoryFigure[]): MemoryFigure {
  const parts: MemoryFigure['parts'] = {};
  const process = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  let bytes = 0;
  for (const m of all) {
    bytes += m.bytes;
    for (const [name, p] of Object.entries(m.parts)) {
      const o = (parts[name] ??= { entries: 0, max: 0, bytes: 0 });
      o.entries += p.entries;
      o.max += p.max;
      o.bytes += p.bytes;
    }
    for (const k of Object.keys(process) as (keyof typeof process)[]) process[k] += m.process[k];
  }
  const perObject = all.length === 0 ? 0 : all.reduce((n, m) => n + m.indexBytesPerObject, 0) / all.length;
  return { bytes, parts, indexBytesPerObject: perObject, process };
}

/** Each member as the machine sees it: open if any worker's breaker is open; counts summed. */
export function mergeOrigins(all: { group: string; members: MemberStatus[] }[][]): { group: string; members: MemberStatus[] }[] {
  const groups = new Map<string, Map<string, MemberStatus>>();
  for (const worker of all) {
    for (const g of worker) {
      const members = groups.get(g.group) ?? new Map<string, MemberStatus>();
      groups.set(g.group, members);
      for (const m of g.members) {
        const o = members.get(m.name);
        if (!o) members.set(m.name, { ...m });
        else {
          if (m.state === 'open') o.state = 'open';
          o.retryAt = Math.max(o.retryAt, m.retryAt);
          o.failures += m.failures;
          o.successes += m.successes;
          o.opened += m.opened;
          o.trials += m.trials;
          o.lastError ??= m.lastError;
        }
      }
    }
  }
  return [...groups].map(([group, members]) => ({ group, members: [...members.values()] }));
}

export function mergeTasks(all: TaskCounts[][]): TaskCounts[] {
  const out = new Map<string, TaskCounts>();
  for (const t of all.flat()) {
    const o = out.get(t.name);
    if (!o) out.set(t.name, { ...t });
    else {
      o.running += t.running;
      o.queued += t.queued;
      o.scheduled += t.scheduled;
      o.done += t.done;
      o.failed += t.failed;
      o.lastError ??= t.lastError;
    }
  }
  return [...out.values()];
}

/** Every worker applies every purge: the machine made as many as the worker that saw most, and purged the sum. */
export function mergePurgeTotals(all: [string, { purges: number; objects: number }][][]): Map<string, { purges: number; objects: number }> {
  const out = new Map<string, { purges: number; objects: number }>();
  for (const [key, v] of all.flat()) {
    const o = out.get(key);
    if (!o) out.set(key, { ...v });
    else {
      o.purges = Math.max(o.purges, v.purges);
      o.objects += v.objects;
    }
  }
  return out;
}

/** Ready when every worker up is (and one is: the machine takes traffic while one restarts). */
export function mergeReadiness(all: Readiness[]): Readiness {
  const every = (k: keyof Readiness['checks']) => all.length > 0 && all.every((r) => r.checks[k]);
  const checks = { cache: every('cache'), origins: every('origins'), certificates: every('certificates') };
  return { ready: checks.cache && checks.origins && checks.certificates, checks };
}
