// A worker's PurgeBus: purges travel between the workers of one machine through the primary (IPC),
// and to other nodes through the bus the edge would use alone (Redis), which this one wraps. On
// start it asks the primary for the purges it missed while it was down (its disk folder outlived
// it) and applies them before the edge listens, so a restarted worker never serves what a purge
// removed. Relayed purges are applied one at a time, in the primary's order, and acknowledged.
import type { PurgeRecord, PurgeRequest } from '../../cache/purger.js';
import type { PurgeBus } from '../../control/purge-bus.js';
import type { FromWorker, ToWorker } from './messages.js';

/** The IPC channel as the worker sees it (process.send / process.on('message') in a real worker). */
export interface WorkerChannel {
  send(message: FromWorker): void;
  on(listener: (message: ToWorker) => void): void;
}

export class WorkerPurgeBus implements PurgeBus {
  private apply: ((request: PurgeRequest) => Promise<unknown>) | undefined;
  /** Relayed purges, applied in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly channel: WorkerChannel,
    /** The bus to other nodes (Redis), when there is one. */
    private readonly remote: PurgeBus | undefined,
    private readonly onError: (err: Error) => void,
  ) {}

  /** A purge made in this worker: to its siblings through the primary, and to the other nodes. */
  async publish(request: PurgeRequest): Promise<void> {
    this.channel.send({ t: 'publish', request });
    await this.remote?.publish(request);
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
    await this.remote?.start(apply);
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
