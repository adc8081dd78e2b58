// What the primary and its workers say to each other over the IPC channel node:cluster opens
// (JSON). Calls carry an id and are answered once; the other messages are one-way. Kept in one
// file so both sides read the same shapes.
import type { AddressInfo } from 'node:net';
import type { PurgeRecord, PurgeRequest } from '../../cache/purger.js';
import type { ConfigInput } from '../../config/schema.js';

/** Where the config comes from: a file's text (re-read on SIGHUP) or quick mode's input object. */
export type ConfigSource = { kind: 'file'; path: string; text: string } | { kind: 'input'; input: ConfigInput };

/** Requests the primary makes of a worker, answered with a `reply`. */
export type CallMethod = 'snapshot' | 'warm' | 'certs' | 'jobs' | 'reload' | 'reopen-logs' | 'inspect' | 'rehydrate' | 'nodes';

export type ToWorker =
  | { t: 'init'; worker: number; workers: number; source: ConfigSource; ticketKey: string | undefined }
  | { t: 'call'; id: number; method: CallMethod; args: unknown[] }
  /**
   * A purge for this worker to apply, in `seq` order; `remote`: also publish it to the other nodes;
   * `own`: the worker made it and has applied it already (acknowledge it in its turn, no more).
   */
  | { t: 'purge'; seq: number; request: PurgeRequest; remote: boolean; own?: boolean }
  /** Purges made while this worker was down (answer to `hello`), applied before it listens. */
  | { t: 'replay'; purges: { seq: number; request: PurgeRequest }[] }
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
  /** A purge this worker made itself (Edge.purge): the primary gives it a seq and relays it. */
  | { t: 'publish'; request: PurgeRequest }
  /** `seq` is applied here (every purge before it too); the record has this worker's count. */
  | { t: 'applied'; seq: number; record: PurgeRecord | undefined };
