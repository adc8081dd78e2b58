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

export interface RestartableRedis extends TestRedis {
  /** kill -9: no goodbye to any client. */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder (with `persist`, on the data it had). */
  restart(): Promise<void>;
}

/**
 * A redis-server that can be killed and started again, for outage tests. With `persist`, every
 * write is in its append-only file before it is answered, so a restart keeps the data.
 */
export async function startRestartableRedis(options: { persist?: boolean } = {}): Promise<RestartableRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-redis-'));
  let current = await startRedis({ dir, persist: options.persist });
  const port = current.port;
  let child = current.child;
  return {
    url: current.url,
    port,
    stop: () => current.stop(),
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    restart: async () => {
      current = await startRedis({ dir, persist: options.persist, port });
      child = current.child;
    },
  };
}

export function startRedis(options: { dir?: string; persist?: boolean; port?: number } = {}): Promise<TestRedis & { child: ReturnType<typeof spawn> }> {
  const onPorts = <T>(fn: (ports: (number | undefined)[]) => Promise<T>) => (options.port === undefined ? withFreePorts(1, fn) : fn([options.port]));
  return onPorts(async ([port]) => {
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'blotcdn-redis-')));
    const persistence = options.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence, '--protected-mode', 'yes'], {
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
    return { url: `redis://127.0.0.1:${port}`, port: port!, stop, child };
  });
}
