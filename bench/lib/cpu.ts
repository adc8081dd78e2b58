// CPU accounting for benchmarks, read from /proc: the CPU time of a process tree (a server and every
// descendant, e.g. nginx's workers or varnishd's child) and the busy time of a set of cores. A run
// is only a result if the load generator had room to spare; these readings are how we know.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second for /proc times (USER_HZ, 100 on Linux; asked once). */
const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The fields of /proc/<pid>/stat after `comm` (which may hold spaces and parentheses). */
export function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(') ') + 2).trim().split(' ');
}

/** utime + stime (field 14 + 15) of a stat line, in seconds; with `waited`, cutime + cstime (16 + 17). */
export function statCpuSeconds(text: string, waited = false): number {
  const f = statFields(text);
  // f[0] is field 3 (state), so field n is f[n - 3].
  return waited ? (Number(f[13]) + Number(f[14])) / TICKS : (Number(f[11]) + Number(f[12])) / TICKS;
}

function readStat(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone
  }
}

/** Every live descendant of `roots` (and the roots), found through each process's parent id. */
export function processTree(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (!stat) continue;
    const ppid = Number(statFields(stat)[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const seen = new Set<number>();
  const walk = (pid: number) => {
    if (seen.has(pid)) return;
    seen.add(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  roots.forEach(walk);
  return [...seen];
}

/** CPU seconds used so far by the process trees under `roots` (threads included, as /proc sums them). */
export function treeCpuSeconds(roots: number[]): number {
  return processTree(roots).reduce((sum, pid) => {
    const stat = readStat(pid);
    return sum + (stat ? statCpuSeconds(stat) : 0);
  }, 0);
}

/** The cores a taskset list names: "0", "0-1", "0,2-3". */
export function parseCoreList(spec: string): number[] {
  const cores: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`not a core list: "${spec}" (e.g. 0, 0-1, 0,2)`);
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) cores.push(c);
  }
  return cores;
}

export interface CoreTimes {
  /** Seconds busy: user, nice, system, irq, softirq, and steal (taken by the hypervisor: not ours to use). */
  busy: number;
  /** busy + idle + iowait. */
  total: number;
}

/** Summed times of `cores` from a /proc/stat text. */
export function coreTimesOf(procStat: string, cores: number[]): CoreTimes {
  let busy = 0;
  let total = 0;
  for (const core of cores) {
    const line = procStat.split('\n').find((l) => l.startsWith(`cpu${core} `));
    if (!line) throw new Error(`core ${core} is not in /proc/stat`);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
    const b = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
    busy += b / TICKS;
    total += (b + idle! + iowait!) / TICKS;
  }
  return { busy, total };
}

export function coreTimes(cores: number[]): CoreTimes {
  return coreTimesOf(readFileSync('/proc/stat', 'utf8'), cores);
}

/** Percent busy of `cores` between two readings (0 when no time passed). */
export function busyPercent(before: CoreTimes, after: CoreTimes): number {
  const total = after.total - before.total;
  return total > 0 ? ((after.busy - before.busy) / total) * 100 : 0;
}
