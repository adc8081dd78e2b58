// The purge bus: how a purge accepted by one process reaches every other one, and how the one that
// accepted it learns who applied it (receipts). One interface, three carriers — in-process (tests,
// one process), IPC between the workers of a machine, Redis Streams between nodes — held to one
// contract test (bus-contract.ts), so the edge cannot tell them apart.
import type { PurgeRequest } from '../cache/purge-target.js';

/** A purge as it travels: who sent it and when. */
export interface PurgeEvent {
  /** The carrier's id for it (a Redis Stream entry id, a counter…). */
  id: string;
  /** The sending member's bus id. */
  from: string;
  purge: PurgeRequest;
  /** Epoch ms it was published. */
  at: number;
}

/** Who applied a purge: every member that was alive when it was published, or as many as answered in time. */
export interface Receipt {
  /** Members that applied it, this one included. */
  acked: number;
  /** Members alive when it was published (this one included), or more if others acknowledged too. */
  nodes: number;
  /** From publish to the last acknowledgement (or to the deadline). */
  ms: number;
  /** The bus was down: the purge waits in this process's queue and goes out when it is back. */
  queued: boolean;
  /** Bus ids that had not acknowledged at the deadline. */
  missing: string[];
}

export interface Publication {
  queued: boolean;
  /** Waits for the acknowledgements, at most `timeoutMs`. */
  receipt(timeoutMs: number): Promise<Receipt>;
}

/** A member of the bus, for GET /nodes and the dashboard. */
export interface BusMember {
  id: string;
  /** Node name (config node.id or the host name). */
  name: string;
  self: boolean;
  /** Since its last heartbeat. */
  heartbeatAgeMs: number;
  /** How far its applied position is behind the newest purge (0: up to date). */
  lagMs: number;
  /** Its last applied position on the carrier, when the carrier has positions. */
  position?: string;
  /** Purges it accepted while the bus was unreachable, still waiting to go out. */
  queued: number;
}

export interface BusStatus {
  carrier: 'in-process' | 'ipc' | 'redis';
  /** The carrier is reachable. */
  up: boolean;
  /** Purges waiting to be published (accepted while the carrier was down). */
  queued: number;
  /** Purges received from other members and applied. */
  applied: number;
  /** This member's last applied position, when the carrier has positions. */
  position?: string;
}

/** Applies another member's purge here; the bus acknowledges once it resolves (a rejection is no acknowledgement). */
export type ApplyPurge = (purge: PurgeRequest, event: PurgeEvent) => Promise<unknown>;

export interface PurgeBus {
  /** This member's id (unique per process: see node-identity.ts). */
  readonly id: string;
  /** Starts receiving the other members' purges (never this member's own); resolves once caught up. */
  start(apply: ApplyPurge): Promise<void>;
  /** Tells every other member; this member has applied it already. */
  publish(purge: PurgeRequest): Promise<Publication>;
  /** Members alive now (by heartbeat), this one included. */
  members(): Promise<BusMember[]>;
  status(): BusStatus;
  /** Stops receiving and leaves the member list. */
  close(): Promise<void>;
}
