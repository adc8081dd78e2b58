// What the primary and its workers say to each other over the IPC channel node:cluster opens
// (JSON). Calls carry an id and are answered once; the other messages are one-way. Kept in one
// file so both sides read the same shapes.
import type { AddressInfo } from 'node:net';
import type { PurgeRecord, PurgeRequest } from '../../cache/purger.js';
import type { ConfigInput } from '../../config/schema.js';
import type { PurgeSent } from '../cluster.js';

/** Where the config comes from: a file's text (re-read on SIGHUP) or quick mode's input object. */
export type ConfigSource = { kind: 'file'; path: string; text: string } | { kind: 'input'; input: ConfigInput };

/**
 * A purge as the relay carries it. `invalidate`: not an operator's purge but an unsafe request's
 * invalidation (RFC 9111 §4.4) of the URL whose cache key is `request.value`, made in one worker and
 * applied by its siblings (Purger.invalidate); it never goes to other nodes (they are other caches).
 */
export interface RelayedPurge {
  seq: number;
  request: PurgeRequest;
  invalidate?: true;
}

/** Requests the primary makes of a worker, answered with a `reply`. */
export type CallMethod = 'snapshot' | 'warm' | 'certs' | 'jobs' | 'reload' | 'reopen-logs' | 'inspect' | 'rehydrate' | 'nodes';

export type ToWorker =
  | { t: 'init'; worker: number; workers: number; source: ConfigSource; ticketKey: string | undefined }
  | { t: 'call'; id: number; method: CallMethod; args: unknown[] }
  /**
   * A purge for this worker to apply, in `seq` order; `remote`: also publish it to the other nodes
   * (then say how that went: `sent`), waiting `wait` ms for their receipts when given;
   * `own`: the worker made it and has applied it already (acknowledge it in its turn, no more).
   */
  | (RelayedPurge & { t: 'purge'; remote: boolean; own?: boolean; wait?: number })
  /**
   * Purges made while this worker was down (answer to `hello`), applied before it listens; those
   * marked `remote` never reached the other nodes (no worker was up to send them): it sends them.
   */
  | { t: 'replay'; purges: (RelayedPurge & { remote?: true })[] }
  /** Every worker up has applied the purge or invalidation this worker asked to relay with this `id`. */
  | { t: 'relayed'; id: number }
  | { t: 'ticket-key'; key: string }
  | { t: 'stop' };

export type FromWorker =
  /**
   * The worker is loaded and listening for messages: send `init` now. (A message sent while a
   * worker is still loading its ES modules finds no listener and is lost, so the primary waits.)
   */
  | { t: 'boot' }
  /** The worker's purge bus is starting: it asks for what it missed. */
  | { t: 'hello' }
  | { t: 'listening'; http: AddressInfo[]; https: AddressInfo[] }
  /** The worker could not start: the operator's one-line explanation (cli/fail.ts), then it exits. */
  | { t: 'failed'; message: string; expected: boolean }
  | { t: 'reply'; id: number; ok: true; value: unknown }
  | { t: 'reply'; id: number; ok: false; error: string }
  /**
   * A purge (or an invalidation) this worker made and applied itself: the primary gives it a seq and
   * relays it; with an `id`, it answers `relayed` once every worker up has applied it.
   */
  | { t: 'publish'; request: PurgeRequest; invalidate?: true; id?: number }
  /** `seq` is applied here (every purge before it too); the record has this worker's count. */
  | { t: 'applied'; seq: number; record: PurgeRecord | undefined }
  /** What became of purge `seq`, which this worker published to the other nodes (`remote`): undefined without Redis. */
  | { t: 'sent'; seq: number; sent: PurgeSent | undefined };
