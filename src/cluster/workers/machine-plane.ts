// The machine's control plane, for the admin API the primary serves: every reading is the merge of
// the workers' snapshots (asked for before each admin request: `refresh`), purges go to every
// worker through the relay and answer with the machine's count and receipts (the cluster's, from
// the worker that published the purge to the other nodes; without one, the workers'), warming runs in every worker
// (each has its own cache). Certificates and the publishing queue are shared state: one worker
// answers for all.
import type { PurgeRecord, PurgeRequest } from '../../cache/purger.js';
import type { MemoryFigure } from '../../cache/memory-figure.js';
import type { CertInfo, ControlPlane, Readiness, WorkerInfo } from '../../control/control-plane.js';
import type { NodesReport, PurgeSent } from '../cluster.js';
import type { BusStatus, Receipt } from '../purge-bus.js';
import type { QueueReport } from '../../origin-lib/index.js';
import type { MemberStatus } from '../../origins/origin-group.js';
import type { WarmResult } from '../../pipeline/warm.js';
import type { TaskCounts } from '../../tasks/task-runner.js';
import { MachineStats, mergeCache, mergeMemory, mergeOrigins, mergePurgeTotals, mergeReadiness, mergeTasks } from './machine-stats.js';
import type { CallMethod } from './messages.js';
import type { PurgeRelay } from './purge-relay.js';
import type { WorkerSnapshot } from './worker-snapshot.js';

/** What the plane needs of the primary. */
export interface MachineWorkers {
  /** How many workers the machine runs. */
  readonly count: number;
  /** Workers up and listening now, by number. */
  up(): number[];
  restarts(n: number): number;
  call<T>(n: number, method: CallMethod, args?: unknown[], timeoutMs?: number): Promise<T>;
  /** Re-reads the config, validates it once, and has every worker apply it. */
  reload(): Promise<{ restartNeeded: string[] }>;
}

/** How long a worker may take to send its figures before the machine's leave it out. */
const SNAPSHOT_MS = 5000;

export class MachinePlane implements ControlPlane {
  readonly stats = new MachineStats();
  private snaps: WorkerSnapshot[] = [];

  constructor(
    readonly nodeId: string,
    private readonly pool: MachineWorkers,
    private readonly relay: PurgeRelay,
    private readonly onUnresponsive: (worker: number) => void,
    /** How long POST /purge with "wait": true waits for the other nodes (redis.ackTimeout; 0 without Redis). */
    readonly ackTimeoutMs = 0,
  ) {}

  async refresh(): Promise<void> {
    const replies = await Promise.all(
      this.pool.up().map((n) =>
        this.pool.call<WorkerSnapshot>(n, 'snapshot', [], SNAPSHOT_MS).catch(() => {
          this.onUnresponsive(n);
          return undefined;
        }),
      ),
    );
    this.snaps = replies.filter((s): s is WorkerSnapshot => s !== undefined);
    this.stats.absorb(this.snaps);
  }

  /**
   * Applied by every worker up (the answer counts them all), and published to the other nodes once,
   * by one worker, which waits `waitMs` for their receipts. The cluster's receipt counts every worker
   * of every node (each is a member on Redis, this machine's included); when there is none (no
   * Redis, Redis unreachable, the publisher gone) the receipt is the machine's: its workers up when
   * the purge went out, and those that applied it.
   */
  async purge(request: PurgeRequest, waitMs?: number): Promise<PurgeRecord & { sent: PurgeSent }> {
    const { workers, sent, ...record } = await this.relay.purge(request, undefined, { waitMs });
    const machine: Receipt = {
      acked: workers.acked,
      nodes: workers.nodes,
      ms: record.ms,
      queued: sent?.queued ?? false,
      missing: workers.missing.map((n) => `${this.nodeId}/w${n}`),
    };
    const receipt = sent?.receipt !== undefined && !sent.receipt.queued ? sent.receipt : machine;
    return { ...record, sent: { ...sent, queued: sent?.queued ?? false, receipt } };
  }

  purgeLog(): readonly PurgeRecord[] {
    return this.relay.records;
  }

  purgeTotals(): ReadonlyMap<string, { purges: number; objects: number }> {
    return mergePurgeTotals(this.snaps.map((s) => s.purgeTotals));
  }

  activePurges(): number {
    return this.snaps.reduce((n, s) => n + s.activePurges, 0);
  }

  cacheStats(): ReturnType<ControlPlane['cacheStats']> {
    return mergeCache(this.snaps.map((s) => s.cache));
  }

  memory(): MemoryFigure {
    return mergeMemory(this.snaps.map((s) => s.memory));
  }

  originStatus(): { group: string; members: MemberStatus[] }[] {
    return mergeOrigins(this.snaps.map((s) => s.origins));
  }

  private first(): number {
    const n = this.pool.up()[0];
    if (n === undefined) throw new Error('no worker is up');
    return n;
  }

  certs(): Promise<CertInfo[]> {
    return this.pool.call<CertInfo[]>(this.first(), 'certs');
  }

  /** Every worker up is ready (one being restarted catches up on purges before it listens). */
  isReady(): boolean {
    return this.snaps.length > 0 && this.snaps.every((s) => s.ready);
  }

  /** Every worker warms (each keeps its own cache); the answer is the first worker's. */
  async warm(urls: string[], concurrency: number): Promise<WarmResult[]> {
    const all = await Promise.all(this.pool.up().map((n) => this.pool.call<WarmResult[]>(n, 'warm', [urls, concurrency], 0)));
    return all[0] ?? [];
  }

  /** What every worker holds for the host (each has its own cache folder), each key once. */
  async inspect(host: string): Promise<string[]> {
    const all = await Promise.all(this.pool.up().map((n) => this.pool.call<string[]>(n, 'inspect', [host])));
    return [...new Set(all.flat())].sort();
  }

  /**
   * Each worker is a member of the cluster (Redis) under its own identity; the list is the first
   * worker's view of it.
   */
  nodes(): Promise<NodesReport> {
    return this.pool.call<NodesReport>(this.first(), 'nodes');
  }

  clusterStatus(): BusStatus | undefined {
    return undefined;
  }

  /** Resolves once every worker's index is whole. */
  async rehydrate(): Promise<void> {
    await Promise.all(this.pool.up().map((n) => this.pool.call<void>(n, 'rehydrate', [], 0)));
  }

  jobs(): Promise<QueueReport | undefined> {
    return this.pool.call<QueueReport | undefined>(this.first(), 'jobs');
  }

  reloadFromSource(): Promise<{ restartNeeded: string[] }> {
    return this.pool.reload();
  }

  readiness(): Readiness {
    return mergeReadiness(this.snaps.map((s) => s.readiness));
  }

  taskCounts(): TaskCounts[] {
    return mergeTasks(this.snaps.map((s) => s.tasks));
  }

  workers(): WorkerInfo[] {
    return this.snaps.map((s) => ({
      worker: s.worker,
      pid: s.pid,
      restarts: this.pool.restarts(s.worker),
      startedAt: s.startedAt,
      cpuSeconds: s.cpuSeconds,
      rssBytes: s.rssBytes,
      requests: s.stats.requests,
    }));
  }
}
