// The port helpers that keep tests clear of the close-then-bind race: a child told a port that
// another process took meanwhile is seen to fail (never mistaken for that other process, which does
// answer on the port), and the start is tried again on new ports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { childListening, PortTaken, withFreePorts } from './helpers/ports.js';
import { startRelay } from './helpers/relay.js';
import { startOrigin, respond } from './helpers/origin.js';
import { get } from './helpers/client.js';

function redisOn(port: number) {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return { child, output: () => out };
}

test('a child whose port another process holds is PortTaken, though the port answers', async (t) => {
  const squatter = createServer((s) => s.end());
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.after(() => squatter.close());
  const port = (squatter.address() as AddressInfo).port;
  const redis = redisOn(port);
  t.after(() => redis.child.kill('SIGKILL'));
  await assert.rejects(childListening(redis.child, [port], redis.output, 'redis-server'), PortTaken);
});

test('childListening returns once the child itself listens', async (t) => {
  const [port] = await withFreePorts(1, async (ports) => ports);
  const redis = redisOn(port!);
  t.after(() => redis.child.kill('SIGKILL'));
  await childListening(redis.child, [port!], redis.output, 'redis-server');
  assert.equal(redis.child.exitCode, null);
});

test('withFreePorts tries again on new ports after PortTaken, and gives up after its attempts', async () => {
  const tried: number[][] = [];
  const result = await withFreePorts(2, async (ports) => {
    tried.push(ports);
    if (tried.length < 3) throw new PortTaken('taken');
    return 'started';
  });
  assert.equal(result, 'started');
  assert.equal(tried.length, 3);
  for (const ports of tried) assert.equal(new Set(ports).size, 2, 'distinct ports in one attempt');
  await assert.rejects(withFreePorts(1, async () => Promise.reject(new PortTaken('always')), 2), PortTaken);
  await assert.rejects(withFreePorts(1, async () => Promise.reject(new Error('other'))), /other/, 'other failures are not retried');
});

test('a relay holds its port and passes connections to the port it is sent to', async (t) => {
  const relay = await startRelay();
  const origin = await startOrigin(respond('behind the relay'));
  t.after(async () => {
    await relay.close();
    await origin.close();
  });
  await assert.rejects(get(`http://127.0.0.1:${relay.port}/`), 'nothing to relay to yet: the connection is closed');
  relay.to(origin.port);
  assert.equal((await get(`http://127.0.0.1:${relay.port}/`)).text, 'behind the relay');
});
