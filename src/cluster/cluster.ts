// The edge's side of cluster mode (on with `redis.url`): it builds the purge bus, applies the other
// members' purges through the Purger, publishes this node's, answers receipts and GET /nodes, and
// turns the bus's events into log lines and counted codes. When the node missed purges it cannot
// read any more, it stops trusting what it held (EdgeCache.distrustBefore), and remembers that
// beside the disk cache so a restart does not trust it again either; the purges it holds while
// Redis is unreachable are kept there too.
import type { EdgeConfig } from '../config/schema.js';
import type { EdgeCache } from '../cache/edge-cache.js';
import type { Purger, PurgeRequest } from '../cache/purger.js';
import { clock } from '../clock.js';
import type { ErrorCode } from '../errors.js';
import { ERRORS } from '../errors.js';
import type { EventLog } from '../observe/event-log.js';
import type { TaskRunner } from '../tasks/task-runner.js';
import { FileClusterState, MemoryClusterState, type ClusterStateStore } from './cluster-state.js';
import { FilePurgeQueue, MemoryPurgeQueue } from './purge-queue.js';
import type { NodeIdentity } from './node-identity.js';
import type { BusMember, BusStatus, PurgeBus, Receipt } from './purge-bus.js';
import { RedisPurgeBus, type BusEvent } from './redis-bus.js';
import { ClusterKeys } from './redis-client.js';

export interface NodesReport {
  self: string;
  bus: BusStatus | undefined;
  nodes: BusMember[];
}

/** What became of a purge sent to the other members. */
export interface PurgeSent {
  /** Waiting in this node's queue for Redis to come back. */
  queued: boolean;
  /** The acknowledgements, when they were waited for. */
  receipt?: Receipt;
  /** Why it could not be sent at all (applied here only). */
  error?: string;
}

export class Cluster {
  readonly bus: PurgeBus;
  readonly keys: ClusterKeys;
  private readonly state: ClusterStateStore;
  /** How long POST /purge with "wait": true waits for acknowledgements. */
  readonly ackTimeoutMs: number;

  constructor(
    config: EdgeConfig & { redis: NonNullable<EdgeConfig['redis']> },
    readonly identity: NodeIdentity,
    private readonly cache: EdgeCache,
    private readonly events: EventLog,
    count: (code: ErrorCode) => void,
    tasks: TaskRunner,
  ) {
    const redis = config.redis;
    const dir = config.cache.disk?.dir;
    this.keys = new ClusterKeys(redis.keyPrefix);
    this.ackTimeoutMs = redis.ackTimeout;
    this.state = dir ? new FileClusterState(dir) : new MemoryClusterState();
    cache.distrustBefore = this.state.load().floor;
    const onEvent = (event: BusEvent, detail: Record<string, unknown>) => {
      if (event === 'redis_back') return events.info({ code: event, ...detail }, ERRORS.redis_back.message);
      count(event);
      events.warn({ code: event, ...detail }, ERRORS[event].message);
    };
    this.bus = new RedisPurgeBus({
      url: redis.url,
      identity,
      keys: this.keys,
      maxLen: redis.streamMaxLen,
      heartbeatMs: redis.heartbeat,
      startTimeoutMs: redis.startTimeout,
      queueMax: redis.queueMax,
      // Beside the disk cache, so a restart during an outage still sends them (a memory tier: in memory).
      queue: dir
        ? new FilePurgeQueue(dir, (problem, detail) => {
            count(problem);
            events.warn({ code: problem, ...detail }, ERRORS[problem].message);
          })
        : new MemoryPurgeQueue(),
      scheduler: tasks,
      state: this.state,
      // A disk tier may hold objects from before this start; a memory tier starts empty.
      hasHistory: () => dir !== undefined,
      onGap: () => this.distrustAll(),
      onEvent,
    });
  }

  /** Applies the other members' purges from now on, after those missed while this node was away. */
  start(purger: Purger): Promise<void> {
    return this.bus.start((request) => purger.purge(request));
  }

  /** Nothing stored before now is served again (it is refetched); kept across restarts. */
  private distrustAll(): void {
    const now = clock.now();
    this.cache.distrustBefore = now;
    this.state.save({ ...this.state.load(), floor: now });
  }

  /**
   * Sends a purge this node applied to every other member; with `waitMs`, waits (at most that long)
   * for their acknowledgements. A purge the bus cannot take (its queue is full during an outage)
   * is logged, counted and reported, never thrown: it is applied here already.
   */
  async publish(request: PurgeRequest, waitMs?: number): Promise<PurgeSent> {
    return (await this.send(request))(waitMs);
  }

  /** publish() in two steps: resolves once the purge is out (or queued, or refused), with the wait for its receipts. */
  async send(request: PurgeRequest): Promise<(waitMs?: number) => Promise<PurgeSent>> {
    try {
      const publication = await this.bus.publish(request);
      return async (waitMs) => (waitMs === undefined ? { queued: publication.queued } : { queued: publication.queued, receipt: await publication.receipt(waitMs) });
    } catch (err) {
      const sent: PurgeSent = { queued: false, error: (err as Error).message };
      return async () => sent;
    }
  }

  async nodes(): Promise<NodesReport> {
    return { self: this.bus.id, bus: this.bus.status(), nodes: await this.bus.members().catch(() => []) };
  }

  close(): Promise<void> {
    return this.bus.close();
  }
}
