// Who this process is in the cluster. A node's name is what an operator configured (`node.id`) or
// the host name; CDN-Loop and Via use it. On the purge bus every process also needs a part of its
// own, so two processes on one host (workers, or two edges) never mistake each other's purges for
// their own echo: the bus id is `name/pid.random`.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

export interface NodeIdentity {
  /** The node's name (config `node.id`, or the host name): CDN-Loop, Via, logs. */
  readonly name: string;
  /** Unique to this process and this start: the bus's member id, acknowledgements, heartbeats. */
  readonly id: string;
  /** The worker's number on this machine, when it is one of several (set by the workers layer). */
  readonly worker?: number;
}

/** The host name as a node name: letters, digits, ".", "_" and "-" only. */
export function defaultNodeName(): string {
  return hostname().replace(/[^A-Za-z0-9._-]/g, '-');
}

export function nodeIdentity(configured?: string, worker?: number, pid = process.pid): NodeIdentity {
  const name = configured ?? defaultNodeName();
  const part = `${pid}.${randomBytes(3).toString('hex')}`;
  return { name, id: `${name}/${worker === undefined ? '' : `w${worker}.`}${part}`, ...(worker === undefined ? {} : { worker }) };
}
