// The ACME order budget shared by every node of a cluster: one sliding window of orders in Redis
// (a sorted set of order times), so three nodes together place no more orders than one would —
// the CA's rate limits are per account, and the nodes share the account. Checked and spent in one
// Lua script, so two nodes cannot both take the last order. Without Redis nothing is spent: the
// caller places no order (as it could not take the issuance lock either).
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';

const SPEND = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tonumber(first[2]) + tonumber(ARGV[2]) - tonumber(ARGV[1])
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return -1`;

export interface SharedOrderBudget {
  /** Spends one order for `host`; resolves undefined when spent, or the ms until one is free. Rejects when the budget cannot be reached. */
  spend(host: string): Promise<number | undefined>;
  close(): Promise<void>;
}

export class RedisOrderBudget implements SharedOrderBudget {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly ordersPerWindow: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async spend(host: string): Promise<number | undefined> {
    const member = `${this.now()}:${host}:${randomBytes(4).toString('hex')}`;
    const wait = Number(await this.redis.eval(SPEND, 1, this.key, this.now(), this.windowMs, this.ordersPerWindow, member));
    return wait < 0 ? undefined : Math.max(1, wait);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
