// Runs the real `blotcdn` command (through tsx, straight from src/) as a child process; runCommand
// runs any other command (an installed blotcdn) the same way.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface Running {
  child: ChildProcess;
  output: () => string;
  /** Resolves when the output matches, rejects after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  return runCommand(process.execPath, ['--import', 'tsx', CLI, ...args], env);
}

export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  // 'close' comes once the output pipes are drained too: nothing more can match after it.
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    child,
    output: () => out,
    exited,
    // A deadline, not a measurement: the command compiles through tsx as it starts, which on a busy
    // machine has taken over 30 s before `start` printed where it listens. A command that exits
    // fails the wait at once, so only a hung one waits this long.
    waitFor: (pattern, timeoutMs = 120_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`));
        }, timeoutMs);
        listeners.add(check);
        check();
        void closed.then(() => {
          if (!listeners.has(check)) return;
          listeners.delete(check);
          clearTimeout(timer);
          reject(new Error(`process exited before ${pattern}; output:\n${out}`));
        });
      }),
  };
}

/** Runs the command to completion. */
export async function runCliToEnd(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const r = runCli(args, env);
  const { code } = await r.exited;
  return { code, output: r.output() };
}

/**
 * A config file for `blotcdn start --config`: one origin, a disk cache folder, the access log off.
 * The member's bodyTimeout is long: tests that hold an origin body half-sent (heldStream) hold it
 * for as long as they need, e.g. while another edge starts, and quick mode (--origin) cannot set it.
 */
export async function diskEdgeConfig(originUrl: string, cacheDir: string, options: { admin?: boolean } = {}): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'blotcdn-edge-config-')), 'edge.json');
  await writeFile(
    file,
    JSON.stringify({
      listen: { http: '127.0.0.1:0' },
      ...(options.admin ? { admin: { listen: '127.0.0.1:0' } } : {}),
      log: { access: 'off' },
      cache: { disk: { dir: cacheDir } },
      originGroups: { default: { members: [{ url: originUrl, bodyTimeout: '10m' }] } },
      sites: [{ hosts: ['*'], originGroup: 'default' }],
    }),
  );
  return file;
}
