// A real redis-server for a test: started on 127.0.0.1 and a free port in its own temporary folder,
// stopped (by PID) when the test is done. Needs Debian's redis-server (npm test installs it as root).
// redis-server is told its port up front: if another process took the port meanwhile, it starts
// again on another (see ports.ts).
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childListening, withFreePorts } from './ports.js';

export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function startRedis(): Promise<TestRedis> {
  return withFreePorts(1, async ([port]) => {
    const dir = await mkdtemp(join(tmpdir(), 'blotcdn-redis-'));
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    };
    try {
      await childListening(child, [port!], () => out, 'redis-server');
    } catch (err) {
      await stop();
      throw err;
    }
    return { url: `redis://127.0.0.1:${port}`, port: port!, stop };
  });
}
