// wrk as the load generator, pinned to the client core; its text output parsed into numbers, and
// the CPU time wrk itself used (read by the shell that ran it, from its children's times), so a
// run can tell whether the load generator, not the server, was the limit.
import { spawn } from 'node:child_process';
import { statCpuSeconds } from './cpu.js';
import { CLIENT_CORE } from './procs.js';

export interface WrkResult {
  rps: number;
  /** Requests completed in the run. */
  requests: number;
  /** Latency percentiles in ms. */
  p50: number;
  p99: number;
  transferMBps: number;
  errors: number;
  /** What the errors were, e.g. "timeout 12" (empty when none). */
  errorKinds: string;
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

function toMB(value: string): number {
  const m = /^([\d.]+)(B|KB|MB|GB)$/.exec(value.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'B' ? n / 1e6 : m[2] === 'KB' ? n / 1024 : m[2] === 'MB' ? n : n * 1024;
}

export function parseWrk(text: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const p50 = toMs(/^\s+50%\s+(\S+)/m.exec(text)?.[1] ?? '');
  const p99 = toMs(/^\s+99%\s+(\S+)/m.exec(text)?.[1] ?? '');
  const transferMBps = toMB(/Transfer\/sec:\s+(\S+)/.exec(text)?.[1] ?? '');
  const errLine = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const errors = (errLine ? errLine.slice(1).reduce((n, v) => n + Number(v), 0) : 0) + non2xx;
  const kinds = ['connect', 'read', 'write', 'timeout'].map((k, i) => [k, Number(errLine?.[i + 1] ?? 0)] as const).concat([['non-2xx/3xx', non2xx]]);
  const errorKinds = kinds.filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
  const requests = Number(/(\d+) requests in/.exec(text)?.[1]);
  return { rps, requests, p50, p99, transferMBps, errors, errorKinds };
}

/** Marks the line the wrapping shell prints after wrk: its own /proc stat, whose cutime+cstime is wrk's CPU. */
const CPU_MARK = '@@shell-stat ';

/**
 * wrk's result plus the CPU seconds wrk used. The shell (pinned with wrk) has waited for wrk, so its
 * "children's times" are wrk's own; `$$` in the command substitution is still that shell.
 */
export interface WrkRun extends WrkResult {
  wrkCpuSeconds: number;
}

export function runWrk(url: string, options: { threads?: number; connections?: number; seconds?: number; headers?: string[] } = {}): Promise<WrkRun> {
  const script = `wrk "$@"; rc=$?; echo "${CPU_MARK}$(cat /proc/$$/stat)"; exit $rc`;
  const args = ['-c', CLIENT_CORE, 'sh', '-c', script, 'sh', `-t${options.threads ?? 1}`, `-c${options.connections ?? 64}`, `-d${options.seconds ?? 8}s`, '--latency'];
  for (const h of options.headers ?? []) args.push('-H', h);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    child.stderr.on('data', (d) => (out += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk failed (${code}): ${out}`));
      const result = parseWrk(out);
      const shellStat = out.split('\n').find((l) => l.startsWith(CPU_MARK));
      if (!Number.isFinite(result.rps) || !shellStat) return reject(new Error(`could not read wrk output:\n${out}`));
      resolve({ ...result, wrkCpuSeconds: statCpuSeconds(shellStat.slice(CPU_MARK.length), true) });
    });
  });
}
