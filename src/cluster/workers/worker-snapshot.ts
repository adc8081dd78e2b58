// What a worker tells the primary when asked for its figures: its counters, histograms, history and
// the control plane's readings, as plain JSON. The primary merges them (machine-stats.ts) into the
// machine's view for the admin API, the metrics and the dashboard.
import type { Edge } from '../../edge.js';
import type { ControlPlane, Readiness } from '../../control/control-plane.js';
import type { MemoryFigure } from '../../cache/memory-figure.js';
import type { Sample } from '../../observe/stats.js';
import type { Histogram } from '../../observe/histogram.js';
import type { MemberStatus } from '../../origins/origin-group.js';
import type { TaskCounts } from '../../tasks/task-runner.js';

export interface HistogramData {
  counts: number[];
  sum: number;
  count: number;
}

export interface WorkerSnapshot {
  worker: number;
  pid: number;
  startedAt: number;
  /** CPU seconds this worker has used (user + system). */
  cpuSeconds: number;
  rssBytes: number;
  stats: {
    requests: number;
    outcomes: Record<string, number>;
    statuses: [number, number][];
    bytesServed: number;
    bytesFromOrigin: number;
    originFetches: number;
    collapsed: number;
    stored: number;
    notStored: [string, number][];
    errors: [string, number][];
    denied: [string, number][];
    rateLimited: [string, number][];
    durations: [string, HistogramData][];
    originLatency: HistogramData;
    series: Sample[];
    topMissed: { url: string; misses: number }[];
  };
  cache: ReturnType<ControlPlane['cacheStats']>;
  memory: MemoryFigure;
  activePurges: number;
  origins: { group: string; members: MemberStatus[] }[];
  tasks: TaskCounts[];
  purgeTotals: [string, { purges: number; objects: number }][];
  readiness: Readiness;
  ready: boolean;
}

const histogram = (h: Histogram): HistogramData => ({ counts: [...h.counts], sum: h.sum, count: h.count });

export function takeSnapshot(edge: Edge, worker: number): WorkerSnapshot {
  const s = edge.stats;
  const cpu = process.cpuUsage();
  return {
    worker,
    pid: process.pid,
    startedAt: s.startedAt,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    rssBytes: process.memoryUsage.rss(),
    stats: {
      requests: s.requests,
      outcomes: { ...s.outcomes },
      statuses: [...s.statuses],
      bytesServed: s.bytesServed,
      bytesFromOrigin: s.bytesFromOrigin,
      originFetches: s.originFetches,
      collapsed: s.collapsed,
      stored: s.stored,
      notStored: [...s.notStored],
      errors: [...s.errors],
      denied: [...s.denied],
      rateLimited: [...s.rateLimited],
      durations: [...s.durations].map(([outcome, h]) => [outcome, histogram(h)]),
      originLatency: histogram(s.originLatency),
      series: s.series(),
      // Enough for the machine's top 20 after merging: a URL missed on several workers adds up.
      topMissed: s.topMissed(200),
    },
    cache: edge.cacheStats(),
    memory: edge.memory(),
    activePurges: edge.activePurges(),
    origins: edge.originStatus(),
    tasks: edge.taskCounts(),
    purgeTotals: [...edge.purgeTotals()],
    readiness: edge.readiness(),
    ready: edge.isReady(),
  };
}
