// The purge bus inside one process: members share a hub and receive each other's purges in order,
// each through its own queue, as a separate process would. Used by tests of everything above the
// bus and as the reference carrier of the contract test; a lone edge needs no bus at all.
import type { PurgeRequest } from '../cache/purge-target.js';
import type { ApplyPurge, BusMember, BusStatus, Publication, PurgeBus, PurgeEvent } from './purge-bus.js';
import { Receipts } from './receipts.js';
import type { NodeIdentity } from './node-identity.js';

export class InProcessHub {
  readonly members = new Map<string, InProcessBus>();
  private seq = 0;

  join(identity: NodeIdentity): InProcessBus {
    return new InProcessBus(this, identity);
  }

  /** The event for a purge, numbered in the order purges are published. */
  prepare(from: InProcessBus, purge: PurgeRequest): PurgeEvent {
    return { id: String(++this.seq), from: from.id, purge, at: Date.now() };
  }

  /** Hands the event to every started member but its sender. */
  send(event: PurgeEvent): void {
    for (const member of this.members.values()) if (member.id !== event.from) member.deliver(event);
  }

  ack(event: PurgeEvent, member: string): void {
    this.members.get(event.from)?.receipts.ack(event.id, member);
  }
}

export class InProcessBus implements PurgeBus {
  readonly id: string;
  readonly receipts = new Receipts();
  private apply: ApplyPurge | undefined;
  /** Events are applied one after another, in the order they were sent. */
  private chain: Promise<void> = Promise.resolve();
  private applied = 0;
  private position = 0;

  constructor(
    private readonly hub: InProcessHub,
    private readonly identity: NodeIdentity,
  ) {
    this.id = identity.id;
  }

  async start(apply: ApplyPurge): Promise<void> {
    this.apply = apply;
    this.hub.members.set(this.id, this);
  }

  deliver(event: PurgeEvent): void {
    this.chain = this.chain.then(async () => {
      if (this.apply === undefined) return;
      try {
        await this.apply(event.purge, event);
      } catch {
        return; // not applied: no acknowledgement
      }
      this.applied++;
      this.position = Number(event.id);
      this.hub.ack(event, this.id);
    });
  }

  async publish(purge: PurgeRequest): Promise<Publication> {
    const others = [...this.hub.members.keys()].filter((id) => id !== this.id);
    const event = this.hub.prepare(this, purge);
    // Tracked before anyone can acknowledge it.
    const publication = this.receipts.track(event.id, others);
    this.hub.send(event);
    return publication;
  }

  async members(): Promise<BusMember[]> {
    return [...this.hub.members.values()].map((m) => ({
      id: m.id,
      name: m.identity.name,
      self: m === this,
      heartbeatAgeMs: 0,
      lagMs: 0,
      position: String(m.position),
      queued: 0,
    }));
  }

  status(): BusStatus {
    return { carrier: 'in-process', up: true, queued: 0, applied: this.applied, position: String(this.position) };
  }

  async close(): Promise<void> {
    this.hub.members.delete(this.id);
    this.apply = undefined;
  }
}
