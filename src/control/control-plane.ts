// What the admin API, the dashboard and the metrics exporter may see and do — implemented by Edge.
// Keeping it to this interface lets the control plane be tested and reasoned about apart from the
// request path.
import type { PurgeRecord, PurgeRequest } from '../cache/purger.js';
import type { StoreStats } from '../cache/store.js';
import type { MemoryFigure } from '../cache/memory-figure.js';
import type { EdgeStats } from '../observe/stats.js';
import type { MemberStatus } from '../origins/origin-group.js';
import type { WarmResult } from '../pipeline/warm.js';
import type { QueueReport } from '../origin-lib/index.js';
import type { TaskCounts } from '../tasks/task-runner.js';
import type { NodesReport, PurgeSent } from '../cluster/cluster.js';
import type { BusStatus } from '../cluster/purge-bus.js';

export interface CertInfo {
  host: string;
  notAfter: string;
  notBefore?: string;
  issuer?: string;
  source?: string;
}

export interface ControlPlane {
  readonly nodeId: string;
  readonly stats: EdgeStats;
  /** Purges here and (in cluster mode) everywhere; with `waitMs`, waits that long at most for the other nodes' receipts. */
  purge(request: PurgeRequest, waitMs?: number): Promise<PurgeRecord & { sent?: PurgeSent }>;
  /** The purge bus's state, read at scrape time (undefined on a lone node). */
  clusterStatus(): BusStatus | undefined;
  /** The cluster's nodes (GET /nodes). */
  nodes(): Promise<NodesReport>;
  /** Longest wait for receipts (redis.ackTimeout; 0 without a cluster). */
  readonly ackTimeoutMs: number;
  purgeLog(): readonly PurgeRecord[];
  /** Purges and objects purged since start, by `kind mode` (e.g. `host hard`). */
  purgeTotals(): ReadonlyMap<string, { purges: number; objects: number }>;
  /** Purges still held against fetches in flight. */
  activePurges(): number;
  cacheStats(): {
    total: StoreStats;
    tiers?: Record<string, StoreStats>;
    flights: number;
    indexed: number;
    /** How the disk tier found its index at start: its snapshot (plus journal records replayed), or the files. */
    diskIndexLoad?: { from: 'snapshot' | 'files' | 'new'; replayed: number; torn: number; ms: number };
  };
  /** What the cache's bookkeeping holds in memory, part by part, with each part's bound. */
  memory(): MemoryFigure;
  originStatus(): { group: string; members: MemberStatus[] }[];
  certs(): Promise<CertInfo[]>;
  /** False while a disk tier is still finding what it held (purges cannot be counted yet). */
  isReady(): boolean;
  /** The keys a purge of the host would remove (the platform's GET /inspect). */
  inspect(host: string): Promise<string[]>;
  /** Resolves once the per-host index is whole (the platform's GET /rehydrate: it is kept whole, so nothing is rebuilt). */
  rehydrate(): Promise<void>;
  warm(urls: string[], concurrency: number, onResult?: (r: WarmResult) => void): Promise<WarmResult[]>;
  /** The publishing queue (config `jobs`): counts, recent publishes, failed jobs; undefined without one. */
  jobs(): Promise<QueueReport | undefined>;
  /** Re-reads the config and applies it in place; rejects when it is invalid (the old one stays). */
  reloadFromSource(): Promise<{ restartNeeded: string[] }>;
  /** Whether the edge can take traffic: its checks, each true or false. */
  readiness(): Readiness;
  /** The edge's background tasks by name: running, queued, scheduled, done, failed. */
  taskCounts(): TaskCounts[];
  /** Gathers the figures the other methods answer from (the primary of worker processes asks its workers). */
  refresh?(): Promise<void>;
  /** The worker processes, when the edge runs several (GET /stats → workers). */
  workers?(): WorkerInfo[];
}

export interface WorkerInfo {
  worker: number;
  pid: number;
  /** Times it was restarted after dying. */
  restarts: number;
  startedAt: number;
  cpuSeconds: number;
  rssBytes: number;
  requests: number;
}

export interface Readiness {
  ready: boolean;
  checks: {
    /** The disk tier has found what it held (purges can be counted). */
    cache: boolean;
    /** Every origin group has a member that is not known to be down. */
    origins: boolean;
    /** The certificate side has started (default certificate loaded). */
    certificates: boolean;
  };
}
