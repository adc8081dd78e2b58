// A worker's machine bus: purges travel between the workers of one machine through the primary
// (IPC); each worker is also a member of the cluster on Redis (its own identity), where the edge
// publishes its own purges and the primary's reach other nodes through one worker (`remote`), which
// reports their receipts back. On start it asks the primary for the purges it missed while it was
// down (its disk folder outlived it) and applies them before the edge listens, so a restarted worker
// never serves what a purge removed. Relayed purges are applied one at a time, in the primary's
// order, and acknowledged. An unsafe request's invalidation travels the same way, to siblings only.
import type { PurgeRecord, PurgeRequest } from '../../cache/purger.js';
import type { PurgeSent } from '../cluster.js';
import type { FromWorker, RelayedPurge, ToWorker } from './messages.js';

/** What a relayed purge does here: an operator's purge, or an unsafe request's invalidation of a cache key. */
export interface MachineApply {
  purge(request: PurgeRequest): Promise<PurgeRecord>;
  invalidate(primary: string): Promise<unknown>;
}

/** The machine's bus between workers: a purge made here goes to the siblings; theirs are applied here. */
export interface MachineBus {
  publish(request: PurgeRequest): Promise<void>;
  /** An invalidation made here (RFC 9111 §4.4): resolves once every sibling up has applied it too. */
  invalidate(primary: string): Promise<void>;
  start(apply: MachineApply): Promise<void>;
  close(): Promise<void>;
}

/**
 * The way to other nodes (the cluster on Redis), for purges the primary accepted itself: resolves
 * once the purge is out (or queued), with a wait for the receipts, so sending stays in order while
 * the receipts are awaited beside the next purges.
 */
export interface ClusterSender {
  send(request: PurgeRequest): Promise<(waitMs?: number) => Promise<PurgeSent>>;
}

/** The IPC channel as the worker sees it (process.send / process.on('message') in a real worker). */
export interface WorkerChannel {
  send(message: FromWorker): void;
  on(listener: (message: ToWorker) => void): void;
}

/** Longest a request that invalidated a URL waits for the siblings to have applied it (they still do after). */
const SIBLINGS_MS = 5000;

export class WorkerPurgeBus implements MachineBus {
  private apply: MachineApply | undefined;
  /** Relayed purges, applied in order. */
  private chain: Promise<void> = Promise.resolve();
  private nextId = 0;
  private readonly relaying = new Map<number, () => void>();

  constructor(
    private readonly channel: WorkerChannel,
    private readonly remote: ClusterSender | undefined,
    private readonly onError: (err: Error) => void,
  ) {}

  /** A purge made in this worker: to its siblings through the primary (the edge tells the cluster itself). */
  async publish(request: PurgeRequest): Promise<void> {
    this.channel.send({ t: 'publish', request });
  }

  async invalidate(primary: string): Promise<void> {
    const id = ++this.nextId;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.relaying.set(id, resolve);
      timer = setTimeout(resolve, SIBLINGS_MS);
      this.channel.send({ t: 'publish', request: { kind: 'url', value: primary }, invalidate: true, id });
    });
    clearTimeout(timer);
    this.relaying.delete(id);
  }

  async start(apply: MachineApply): Promise<void> {
    this.apply = apply;
    const replayed = new Promise<void>((resolve) => {
      this.channel.on((m) => {
        if (m.t === 'replay') {
          for (const p of m.purges) this.enqueue(p, { remote: p.remote === true, own: false });
          void this.chain.then(resolve);
        } else if (m.t === 'purge') {
          this.enqueue(m, { remote: m.remote, own: m.own === true, wait: m.wait });
        } else if (m.t === 'relayed') {
          this.relaying.get(m.id)?.();
        }
      });
    });
    this.channel.send({ t: 'hello' });
    await replayed;
  }

  private enqueue(p: RelayedPurge, how: { remote: boolean; own: boolean; wait?: number }): void {
    const { seq, request } = p;
    this.chain = this.chain.then(async () => {
      if (how.own) return this.channel.send({ t: 'applied', seq, record: undefined });
      let record: PurgeRecord | undefined;
      try {
        if (p.invalidate) await this.apply!.invalidate(request.value);
        else record = await this.apply!.purge(request);
      } catch (err) {
        this.onError(err as Error);
      }
      // To the other nodes even if it failed here; in order, before the next one is applied.
      let receipts: ((waitMs?: number) => Promise<PurgeSent>) | undefined;
      if (how.remote && this.remote) {
        try {
          receipts = await this.remote.send(request);
        } catch (err) {
          this.onError(err as Error);
        }
      }
      this.channel.send({ t: 'applied', seq, record });
      if (!how.remote) return;
      // The receipts are awaited beside the next purges, then reported to the primary.
      void (receipts ? receipts(how.wait) : Promise.resolve(undefined)).then((sent) => this.channel.send({ t: 'sent', seq, sent }));
    });
  }

  async close(): Promise<void> {
    for (const resolve of this.relaying.values()) resolve();
  }
}
