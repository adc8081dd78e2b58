// A worker's machine bus: purges travel between the workers of one machine through the primary
// (IPC); each worker is also a member of the cluster on Redis (its own identity), where the edge
// publishes its own purges and the primary's reach other nodes through one worker (`remote`). On
// start it asks the primary for the purges it missed while it was down (its disk folder outlived
// it) and applies them before the edge listens, so a restarted worker never serves what a purge
// removed. Relayed purges are applied one at a time, in the primary's order, and acknowledged.
import type { PurgeRecord, PurgeRequest } from '../../cache/purger.js';

/** The machine's bus between workers: a purge made here goes to the siblings; theirs are applied here. */
export interface MachineBus {
  publish(request: PurgeRequest): Promise<void>;
  start(apply: (request: PurgeRequest) => Promise<unknown>): Promise<void>;
  close(): Promise<void>;
}
import type { FromWorker, ToWorker } from './messages.js';

/** The IPC channel as the worker sees it (process.send / process.on('message') in a real worker). */
export interface WorkerChannel {
  send(message: FromWorker): void;
  on(listener: (message: ToWorker) => void): void;
}

export class WorkerPurgeBus implements MachineBus {
  private apply: ((request: PurgeRequest) => Promise<unknown>) | undefined;
  /** Relayed purges, applied in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly channel: WorkerChannel,
    /** The way to other nodes (the cluster on Redis), for purges the primary accepted itself. */
    private readonly remote: MachineBus | undefined,
    private readonly onError: (err: Error) => void,
  ) {}

  /** A purge made in this worker: to its siblings through the primary (the edge tells the cluster itself). */
  async publish(request: PurgeRequest): Promise<void> {
    this.channel.send({ t: 'publish', request });
  }

  async start(apply: (request: PurgeRequest) => Promise<unknown>): Promise<void> {
    this.apply = apply;
    const replayed = new Promise<void>((resolve) => {
      this.channel.on((m) => {
        if (m.t === 'replay') {
          for (const p of m.purges) this.enqueue(p.seq, p.request, false, false);
          void this.chain.then(resolve);
        } else if (m.t === 'purge') {
          this.enqueue(m.seq, m.request, m.remote, m.own === true);
        }
      });
    });
    this.channel.send({ t: 'hello' });
    await replayed;
  }

  private enqueue(seq: number, request: PurgeRequest, remote: boolean, own: boolean): void {
    this.chain = this.chain.then(async () => {
      let record: PurgeRecord | undefined;
      if (own) return this.channel.send({ t: 'applied', seq, record });
      try {
        record = (await this.apply!(request)) as PurgeRecord;
        if (remote) await this.remote?.publish(request);
      } catch (err) {
        this.onError(err as Error);
      }
      this.channel.send({ t: 'applied', seq, record });
    });
  }

  async close(): Promise<void> {
    await this.remote?.close();
  }
}
