// The platform's domain lists as HostPolicy sees them: the Redis keys the Blot app writes
// (`domain:{host}`) and an HTTP "ask" endpoint on the origin (2xx yes, 4xx no, anything else an
// error), each behind CachedDomainSource so a flood of names costs one question per name.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { AskDomainSource } from '../src/sites/ask-domains.js';
import { CachedDomainSource } from '../src/sites/cached-domains.js';
import { RedisDomainSource } from '../src/sites/redis-domains.js';
import { HostPolicy } from '../src/tls/host-policy.js';

describe('domain sources', () => {
  let redisServer: TestRedis;
  let redis: Redis;
  let ask: Server;
  let askUrl: string;
  const asked: string[] = [];
  let mode: 'normal' | 'error' | 'slow' = 'normal';

  before(async () => {
    redisServer = await startRedis();
    redis = new Redis(redisServer.url);
    ask = createServer((req, res) => {
      const domain = new URL(req.url!, 'http://x').searchParams.get('domain')!;
      asked.push(domain);
      if (mode === 'error') return void res.writeHead(503).end('busy');
      if (mode === 'slow') return; // never answers: the source's own timeout must give up
      res.writeHead(domain.endsWith('.customer.org') ? 200 : 404).end();
    });
    await new Promise<void>((r) => ask.listen(0, '127.0.0.1', r));
    askUrl = `http://127.0.0.1:${(ask.address() as AddressInfo).port}/ask?token=t`;
  });

  after(async () => {
    redis?.disconnect();
    ask?.close();
    await redisServer?.stop();
  });

  test("Redis: a host is listed when domain:{host} exists (the platform's own keys)", async () => {
    await redis.set('domain:blog.customer.net', 'blog_0123456789abcdef0123456789abcdef');
    await redis.set('custom:domain:other.customer.net', 'x');
    const plain = new RedisDomainSource(redis);
    assert.equal(await plain.lookup('blog.customer.net'), true);
    assert.equal(await plain.lookup('other.customer.net'), false);
    assert.equal(await new RedisDomainSource(redis, { prefix: 'custom:domain:' }).lookup('other.customer.net'), true);
  });

  test('ask: 2xx allows, 4xx denies, 5xx and timeouts are errors', async () => {
    // The default timeout for answers that come: a short one would make "yes" a race with the clock.
    const source = new AskDomainSource({ url: askUrl });
    assert.equal(await source.lookup('shop.customer.org'), true);
    assert.equal(await source.lookup('nobody.example'), false);
    assert.equal(asked.at(-1), 'nobody.example');
    mode = 'error';
    await assert.rejects(source.lookup('shop.customer.org'), /503/);
    mode = 'slow';
    await assert.rejects(new AskDomainSource({ url: askUrl, timeoutMs: 200 }).lookup('shop.customer.org'), /time/i);
    mode = 'normal';
  });

  test('a flood of names through the policy: one question per name, then cached', async () => {
    const cachedAsk = new CachedDomainSource(new AskDomainSource({ url: askUrl }), { positiveTtlMs: 60_000, negativeTtlMs: 60_000 });
    const policy = new HostPolicy({ names: ['*.blot.im'], sources: [new CachedDomainSource(new RedisDomainSource(redis)), cachedAsk] });
    asked.length = 0;
    const names = Array.from({ length: 50 }, (_, i) => `n${i % 10}.flood.example`);
    const answers = await Promise.all(names.map((n) => policy.allows(n)));
    assert.ok(answers.every((a) => a === false));
    assert.equal(asked.length, 10, 'ten distinct names, ten questions');
    assert.equal(await policy.allows('blog.customer.net'), true, 'Redis answers first');
    assert.equal(await policy.allows('shop.customer.org'), true, 'then the ask endpoint');
  });
});
