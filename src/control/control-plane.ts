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
  purge(request: PurgeRequest): Promise<PurgeRecord>;
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
  warm(urls: string[], concurrency: number, onResult?: (r: WarmResult) => void): Promise<WarmResult[]>;
  /** The publishing queue (config `jobs`): counts, recent publishes, failed jobs; undefined without one. */
  jobs(): Promise<QueueReport | undefined>;
  /** Re-reads the config and applies it in place; rejects when it is invalid (the old one stays). */
  reloadFromSource(): Promise<{ restartNeeded: string[] }>;
  /** Whether the edge can take traffic: its checks, each true or false. */
  readiness(): Readiness;
  /** The edge's background tasks by name: running, queued, scheduled, done, failed. */
  taskCounts(): TaskCounts[];
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
