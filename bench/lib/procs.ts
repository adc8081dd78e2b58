// Child processes for benchmarks: pinned to a core with taskset, waited for until their port
// answers, and stopped by PID (only what we started).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { waitForPort as waitForPortOf } from '../../test/helpers/ports.js';

export interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  /** Stops it with `signal` (SIGTERM by default), SIGKILL after 5 s. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** The core the server under test runs on, and the one the load generator uses. */
export const SERVER_CORE = process.env.BENCH_SERVER_CORE ?? '0';
export const CLIENT_CORE = process.env.BENCH_CLIENT_CORE ?? '1';

/** The full path of a command, looking in PATH and the sbin folders (nginx, varnishd live there). */
export function findCommand(cmd: string): string | undefined {
  const paths = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin']);
  return paths.map((p) => `${p}/${cmd}`).find((p) => existsSync(p));
}

export function pinned(name: string, core: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn('taskset', ['-c', core, cmd, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  // Keep only the tail of what it prints (enough for an error message), never an ever-growing string.
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65_536) out = out.slice(-32_768);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    name,
    child,
    output: () => out,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export { freePort } from '../../test/helpers/ports.js';

/** Waits until `port` accepts connections (failing with the process's output if it exits). */
export function waitForPort(port: number, proc?: Proc, timeoutMs = 15_000): Promise<void> {
  return waitForPortOf(port, proc?.child, () => proc?.output() ?? '', proc?.name ?? 'server', timeoutMs);
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
