// Edge nodes of one cluster for a test: each a real Edge on loopback, sharing a real redis-server
// (cluster mode: redis.url) and one origin, each with its admin API; a disk tier when a folder is
// given, so a node can be stopped and started again on what it cached.
import type { ConfigInput } from '../../src/config/schema.js';
import { startEdge, type TestEdge } from './edge.js';
import { request, type Reply } from './client.js';

export interface NodeOptions {
  id: string;
  redisUrl: string;
  originUrl: string;
  /** A disk tier in this folder (kept across restarts of the node). */
  diskDir?: string;
  /** More of the redis block (stream length, timeouts). */
  redis?: Partial<NonNullable<ConfigInput['redis']>>;
  /** Anything else in the config. */
  extra?: Partial<ConfigInput>;
}

/** The platform's purge secret every test node accepts (X-Blot-Purge-Token). */
export const PURGE_SECRET = 'cluster-purge-secret';

export function startNode(o: NodeOptions): Promise<TestEdge> {
  return startEdge({
    node: { id: o.id },
    redis: { url: o.redisUrl, heartbeat: 200, ...o.redis },
    admin: { listen: '127.0.0.1:0', purgeToken: PURGE_SECRET },
    ...(o.diskDir ? { cache: { disk: { dir: o.diskDir } } } : {}),
    originGroups: { g: { members: [{ url: o.originUrl }] } },
    sites: [{ hosts: ['*'], originGroup: 'g' }],
    ...o.extra,
  });
}

/** POST /purge on a node's admin API. */
export function purgeOn(node: TestEdge, body: Record<string, unknown>): Promise<Reply> {
  return request(`${node.adminUrl}/purge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** The Cache-Status of a GET through `node` for `path` on `host`. */
export async function cacheStatus(node: TestEdge, path: string, host: string): Promise<string> {
  return String((await request(`${node.url}${path}`, { headers: { host } })).headers['cache-status']);
}
