// The cluster's member list in Redis: each member writes a heartbeat (its details under
// `node:{id}`, expiring after three intervals, and its time in the `nodes` sorted set); the list is
// the members whose heartbeat is fresh, with their lag behind the newest purge.
import type { Redis } from 'ioredis';
import type { BusMember } from './purge-bus.js';
import type { ClusterKeys } from './redis-client.js';
import { compareIds, idTime } from './stream-id.js';
import { newestId } from './stream-reads.js';

export interface Heartbeat {
  id: string;
  name: string;
  at: number;
  position?: string;
  queued: number;
}

export class RedisMembers {
  constructor(
    private readonly cmd: Redis,
    private readonly keys: ClusterKeys,
    private readonly heartbeatMs: number,
  ) {}

  /** Members alive by heartbeat (read in a MULTI by the publisher too: see `liveQuery`). */
  live(): Promise<string[]> {
    return this.cmd.zrangebyscore(...this.liveQuery());
  }

  liveQuery(): [string, number, string] {
    return [this.keys.nodes, Date.now() - 3 * this.heartbeatMs, '+inf'];
  }

  async beat(heartbeat: Heartbeat): Promise<void> {
    const { id, at } = heartbeat;
    await this.cmd
      .multi()
      .set(this.keys.node(id), JSON.stringify(heartbeat), 'PX', 3 * this.heartbeatMs)
      .zadd(this.keys.nodes, at, id)
      .zremrangebyscore(this.keys.nodes, '-inf', at - 60 * this.heartbeatMs)
      .exec();
  }

  async leave(id: string): Promise<void> {
    await this.cmd.multi().del(this.keys.node(id)).zrem(this.keys.nodes, id).exec();
  }

  /** Every live member with its heartbeat age and its lag behind the newest purge. */
  async list(self: string): Promise<BusMember[]> {
    const now = Date.now();
    const ids = await this.live();
    const infos = ids.length ? await this.cmd.mget(ids.map((id) => this.keys.node(id))) : [];
    const last = await newestId(this.cmd, this.keys.purges);
    const members: BusMember[] = [];
    for (const text of infos) {
      if (text === null) continue;
      const m = JSON.parse(text) as Heartbeat;
      const behind = m.position !== undefined && compareIds(m.position, last) < 0;
      members.push({ id: m.id, name: m.name, self: m.id === self, heartbeatAgeMs: now - m.at, lagMs: behind ? idTime(last) - idTime(m.position!) : 0, position: m.position, queued: m.queued });
    }
    return members;
  }
}
