// Runs the real `blotcdn` command (through tsx, straight from src/) as a child process; runCommand
// runs any other command (an installed blotcdn) the same way.
import { spawn, type ChildProcess } from 'node:child_process';
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
    // machine has taken over 15 s before `start` printed where it listens.
    waitFor: (pattern, timeoutMs = 30_000) =>
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
