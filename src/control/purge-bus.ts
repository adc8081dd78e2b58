// Purges reach every node. A purge made on one node (its admin API, the platform's purge call) is
// applied there and published on Redis; every other node applies it when the message arrives. Each
// node keeps its own cache, so only the instruction travels, never objects.
import { Redis } from 'ioredis';
import type { PurgeRequest } from '../cache/purger.js';

export interface PurgeBus {
  /** Tells the other nodes. */
  publish(request: PurgeRequest): Promise<void>;
  /** Starts receiving other nodes' purges. */
  start(apply: (request: PurgeRequest) => Promise<unknown>): Promise<void>;
  close(): Promise<void>;
}

interface Message extends PurgeRequest {
  from: string;
}

export class RedisPurgeBus implements PurgeBus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  /** Purges received from other nodes, for the admin API. */
  received = 0;

  constructor(
    url: string,
    private readonly nodeId: string,
    private readonly channel = 'blotcdn:purge',
    private readonly onError: (err: Error) => void = () => {},
  ) {
    // Purges must not wait for a reconnect forever; a lost message is reported, not retried.
    this.pub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    this.sub = new Redis(url, { lazyConnect: true });
    this.pub.on('error', onError);
    this.sub.on('error', onError);
  }

  async publish(request: PurgeRequest): Promise<void> {
    const message: Message = { kind: request.kind, value: request.value, soft: request.soft === true, from: this.nodeId };
    await this.pub.publish(this.channel, JSON.stringify(message));
  }

  async start(apply: (request: PurgeRequest) => Promise<unknown>): Promise<void> {
    await Promise.all([this.pub.connect(), this.sub.connect()]);
    this.sub.on('message', (channel: string, text: string) => {
      if (channel !== this.channel) return;
      let message: Message;
      try {
        message = JSON.parse(text) as Message;
      } catch {
        return;
      }
      if (message.from === this.nodeId) return;
      this.received++;
      apply({ kind: message.kind, value: message.value, soft: message.soft }).catch((err: unknown) => this.onError(err as Error));
    });
    await this.sub.subscribe(this.channel);
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    await this.pub.quit().catch(() => this.pub.disconnect());
  }
}
