// The purge bus between nodes, on a Redis Stream. Every purge is appended (XADD, capped at
// `maxLen`) and every member reads the stream from its own last applied position, so a member that
// was stopped or cut off reads what it missed — before its start() resolves, and again after every
// reconnect — instead of losing a pub/sub message. When what it missed is gone (trimmed away, or a
// Redis that lost its data: a new epoch) it calls `onGap`, and the edge stops trusting what it held.
// Acknowledgements go back to the sender on its own channel; heartbeats keep the member list.
// While Redis is down the edge keeps serving; purges made here wait in a bounded queue (status().queued;
// kept beside the disk cache, so a restart does not lose them: purge-queue.ts) and go out, in order,
// when it is back.
import type { Redis } from 'ioredis';
import type { PurgeKind, PurgeRequest } from '../cache/purge-target.js';
import type { TaskRunner } from '../tasks/task-runner.js';
import type { ClusterStateStore } from './cluster-state.js';
import { MemoryPurgeQueue, type PurgeQueue } from './purge-queue.js';
import type { NodeIdentity } from './node-identity.js';
import type { ApplyPurge, BusMember, BusStatus, Publication, PurgeBus, PurgeEvent } from './purge-bus.js';
import { queuedPublication, Receipts } from './receipts.js';
import { ClusterKeys, createRedisClient } from './redis-client.js';
import { RedisMembers } from './redis-members.js';
import { entriesLostAfter, newestId } from './stream-reads.js';

export type BusEvent = 'redis_unavailable' | 'redis_back' | 'purge_catch_up_gap' | 'purge_apply_failed' | 'purge_queued' | 'purge_queue_full';

export interface RedisBusOptions {
  url: string;
  identity: NodeIdentity;
  keys?: ClusterKeys;
  /** Entries the stream keeps (approximately: XADD MAXLEN ~). */
  maxLen?: number;
  heartbeatMs?: number;
  /** Runs the heartbeat (the edge's TaskRunner). */
  scheduler: Pick<TaskRunner, 'every'>;
  /** Where the position is remembered: beside the disk cache, or in memory. */
  state: ClusterStateStore;
  /** Whether this member holds objects from before it started (a disk cache that is not empty). */
  hasHistory: () => boolean;
  /** Called when purges were missed that can no longer be read: distrust what is held. */
  onGap: (reason: string) => void | Promise<void>;
  /** How long start() waits for Redis before serving without it (catching up when it returns). */
  startTimeoutMs?: number;
  /** Purges held while Redis is down. */
  queueMax?: number;
  /** Where they are held (beside the disk cache, or in memory: the default). */
  queue?: PurgeQueue;
  onEvent?: (event: BusEvent, detail: Record<string, unknown>) => void;
}

type Entry = [id: string, fields: string[]];

export class RedisPurgeBus implements PurgeBus {
  readonly id: string;
  private readonly keys: ClusterKeys;
  private readonly cmd: Redis;
  private readonly reader: Redis;
  private readonly sub: Redis;
  private readonly registry: RedisMembers;
  private readonly receipts = new Receipts();
  private readonly queue: PurgeQueue;
  private readonly heartbeatMs: number;
  private apply: ApplyPurge | undefined;
  private position: string | undefined;
  private epoch: string | undefined;
  private synced = false;
  private up = false;
  private closed = false;
  private applied = 0;
  private seq = 0;
  private lastBeat = 0;
  private stopBeat: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private caughtUp: (() => void) | undefined;
  private wakeLoop: (() => void) | undefined;

  constructor(private readonly options: RedisBusOptions) {
    this.id = options.identity.id;
    this.keys = options.keys ?? new ClusterKeys();
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.queue = options.queue ?? new MemoryPurgeQueue();
    const name = `blotcdn:${this.id}`;
    this.cmd = createRedisClient(options.url, { name: `${name}:cmd`, lazy: true });
    this.reader = createRedisClient(options.url, { name: `${name}:read`, lazy: true });
    this.sub = createRedisClient(options.url, { name: `${name}:acks`, lazy: true });
    this.registry = new RedisMembers(this.cmd, this.keys, this.heartbeatMs);
    this.cmd.on('ready', () => this.setUp(true));
    this.cmd.on('close', () => this.setUp(false));
    this.sub.on('message', (_channel: string, text: string) => this.onAck(text));
    const saved = options.state.load();
    this.position = saved.position;
    this.epoch = saved.epoch;
  }

  private event(event: BusEvent, detail: Record<string, unknown> = {}): void {
    this.options.onEvent?.(event, detail);
  }

  private setUp(up: boolean): void {
    if (this.closed || up === this.up) return;
    this.up = up;
    if (up) {
      this.event('redis_back', { queued: this.queue.length });
      void this.flush();
      void this.beat();
    } else {
      this.synced = false;
      this.event('redis_unavailable', { queued: this.queue.length });
    }
  }

  async start(apply: ApplyPurge): Promise<void> {
    this.apply = apply;
    const caughtUp = new Promise<void>((resolve) => (this.caughtUp = resolve));
    // Connection failures are reported by setUp; the clients keep retrying on their own.
    for (const client of [this.cmd, this.reader, this.sub]) client.connect().catch(() => {});
    // Acknowledgements come back on this member's own channel (resubscribed after a reconnect).
    const subscribed = new Promise<void>((resolve) => this.sub.once('ready', () => void this.sub.subscribe(this.ackChannel(this.id)).then(() => resolve(), () => {})));
    this.stopBeat = this.options.scheduler.every('cluster-heartbeat', this.heartbeatMs, () => this.beat());
    this.loopDone = this.loop();
    const timeout = this.options.startTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeout)));
    const outcome = await Promise.race([Promise.all([caughtUp, subscribed]).then(() => 'caught-up' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') this.event('redis_unavailable', { starting: true, waitedMs: timeout });
    else await this.beat(); // listed before the first purge is published to it
  }

  private ackChannel(member: string): string {
    return `${this.keys.acks}:${member}`;
  }

  /** Reads the stream from this member's position for as long as it runs; resyncs after every outage. */
  private async loop(): Promise<void> {
    while (!this.closed) {
      try {
        if (this.reader.status !== 'ready') await this.readerReady();
        if (this.closed) return;
        if (!this.synced) {
          await this.sync();
          this.synced = true;
          this.caughtUp?.();
        }
        const reply = (await this.reader.xread('COUNT', 200, 'BLOCK', 2000, 'STREAMS', this.keys.purges, this.position!)) as [string, Entry[]][] | null;
        if (reply) await this.applyEntries(reply[0]![1]);
      } catch {
        if (this.closed) return;
        this.synced = false;
        await this.readerReady();
      }
    }
  }

  /** Resolves when the reader is connected again, or the bus is closed (a client disconnected while reconnecting emits nothing). */
  private readerReady(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || this.reader.status === 'ready') return resolve();
      const done = () => {
        this.reader.off('ready', done);
        this.wakeLoop = undefined;
        resolve();
      };
      this.reader.on('ready', done);
      this.wakeLoop = done;
    });
  }

  /** Checks the epoch and the position against what the stream still holds, then applies what was missed. */
  private async sync(): Promise<void> {
    const candidate = `${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 10)}`;
    const previous = (await this.reader.set(`${this.keys.prefix}epoch`, candidate, 'NX', 'GET')) as string | null;
    const epoch = previous ?? candidate;
    const last = await newestId(this.reader, this.keys.purges);
    let gap: string | undefined;
    if (this.position === undefined) {
      if (this.options.hasHistory()) gap = 'no position was kept for the objects this node holds';
    } else if (this.epoch !== epoch) {
      gap = 'Redis lost the purge stream (a new epoch): purges made meanwhile cannot be read';
    } else {
      if (await entriesLostAfter(this.reader, this.keys.purges, this.position)) gap = `the stream was trimmed past this node's position (${this.position})`;
    }
    if (gap !== undefined || this.position === undefined) {
      if (gap !== undefined) {
        this.event('purge_catch_up_gap', { reason: gap, position: this.position });
        await this.options.onGap(gap);
      }
      this.epoch = epoch;
      this.position = last;
      this.save();
      return;
    }
    // Apply what was missed, in order, before the caller is told it is caught up.
    for (;;) {
      const entries = (await this.reader.xrange(this.keys.purges, `(${this.position}`, '+', 'COUNT', 500)) as Entry[];
      if (entries.length === 0) break;
      await this.applyEntries(entries);
    }
  }

  private async applyEntries(entries: Entry[]): Promise<void> {
    for (const [id, fields] of entries) {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
      if (f.from !== this.id && this.apply !== undefined) {
        const purge: PurgeRequest = { kind: f.kind as PurgeKind, value: f.value ?? '', soft: f.soft === '1' };
        const event: PurgeEvent = { id, from: f.from ?? '', purge, at: Number(f.at) };
        try {
          await this.apply(purge, event);
          this.applied++;
          await this.cmd.publish(this.ackChannel(event.from), `${f.eid} ${this.id}`).catch(() => {});
        } catch (err) {
          this.event('purge_apply_failed', { purge, from: event.from, err: (err as Error).message });
        }
      }
      this.position = id;
    }
    this.save();
  }

  private save(): void {
    const state = this.options.state.load();
    this.options.state.save({ ...state, epoch: this.epoch, position: this.position });
  }

  private onAck(text: string): void {
    const space = text.indexOf(' ');
    if (space > 0) this.receipts.ack(text.slice(0, space), text.slice(space + 1));
  }

  async publish(purge: PurgeRequest): Promise<Publication> {
    // Behind the ones still waiting (from an outage, or a start during one), so all go out in order.
    if (this.queue.length > 0) {
      const queued = this.enqueue(purge);
      void this.flush();
      return queued;
    }
    if (!this.up) return this.enqueue(purge);
    const eid = `${this.id}#${++this.seq}`;
    try {
      // Tracked before it goes out; who is alive is read in the same round trip as the append.
      const publication = this.receipts.track(eid, []);
      const replies = await this.cmd.multi().zrangebyscore(...this.registry.liveQuery()).xadd(...this.entry(eid, purge)).exec();
      const failed = replies?.find(([err]) => err !== null);
      if (replies === null || failed) throw failed?.[0] ?? new Error('the purge was not appended');
      this.receipts.expect(eid, (replies[0]![1] as string[]).filter((id) => id !== this.id));
      return publication;
    } catch {
      this.receipts.forget(eid);
      return this.enqueue(purge);
    }
  }

  /** XADD's arguments for a purge. */
  private entry(eid: string, purge: PurgeRequest): [string, 'MAXLEN', '~', number, '*', ...(string | number)[]] {
    const maxLen = this.options.maxLen ?? 10_000;
    return [this.keys.purges, 'MAXLEN', '~', maxLen, '*', 'eid', eid, 'from', this.id, 'kind', purge.kind, 'value', purge.value, 'soft', purge.soft ? '1' : '0', 'at', Date.now()];
  }

  private async append(eid: string, purge: PurgeRequest): Promise<void> {
    await this.cmd.xadd(...this.entry(eid, purge));
  }

  private enqueue(purge: PurgeRequest): Publication {
    const max = this.options.queueMax ?? 10_000;
    if (this.queue.length >= max) {
      this.event('purge_queue_full', { purge, queued: this.queue.length });
      throw new Error(`Redis is unreachable and ${this.queue.length} purges already wait to go out to the other nodes; applied here only`);
    }
    this.queue.push(purge);
    this.event('purge_queued', { purge, queued: this.queue.length });
    return queuedPublication();
  }

  /** Sends the purges queued during an outage, in order; stops at the first failure (the next reconnect retries). */
  private flushing = false;
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0 && this.up) {
        await this.append(`${this.id}#${++this.seq}`, this.queue.peek()!);
        this.queue.shift();
      }
    } catch {
      // still down: kept for the next reconnect
    } finally {
      this.flushing = false;
    }
  }

  private async beat(): Promise<void> {
    if (!this.up || this.closed) return;
    const at = Date.now();
    try {
      await this.registry.beat({ id: this.id, name: this.options.identity.name, at, position: this.position, queued: this.queue.length });
      this.lastBeat = at;
    } catch {
      // down: setUp reports it
    }
  }

  async members(): Promise<BusMember[]> {
    const self: BusMember = { id: this.id, name: this.options.identity.name, self: true, heartbeatAgeMs: this.lastBeat ? Date.now() - this.lastBeat : -1, lagMs: 0, position: this.position, queued: this.queue.length };
    const members = this.up ? await this.registry.list(this.id) : [];
    return members.some((m) => m.self) ? members : [...members, self];
  }

  status(): BusStatus {
    return { carrier: 'redis', up: this.up, queued: this.queue.length, applied: this.applied, position: this.position };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.stopBeat?.();
    if (this.up) {
      await this.registry.leave(this.id).catch(() => {});
    }
    this.closed = true;
    for (const client of [this.reader, this.sub, this.cmd]) client.disconnect();
    this.wakeLoop?.();
    await this.loopDone;
  }
}
