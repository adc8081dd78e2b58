// `blotcdn start --workers N` as a test runs it: the real CLI, with BLOTCDN_WORKER_HEADER=1 so each
// response names the worker that answered (x-blotcdn-worker: w1…), and helpers that ask until
// every worker has answered, and that read the machine's view from the admin API.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get, request, type Reply } from './client.js';
import { startOrigin, type TestOrigin } from './origin.js';
import { runCli, type Running } from './cli.js';
import { waitFor } from './wait.js';

export const ADMIN_TOKEN = 'workers-admin-token';

export interface Machine {
  run: Running;
  url: string;
  admin: string;
  /** GET on the admin API with the token, parsed. */
  adminJson<T = Record<string, unknown>>(path: string): Promise<T>;
  adminPost(path: string, body: unknown): Promise<Reply>;
  /** Worker number → PID, as GET /stats lists them. */
  pids(): Promise<Map<number, number>>;
}

export async function startMachine(t: { after(fn: () => Promise<void>): void }, args: string[], env: NodeJS.ProcessEnv = {}, listening = /listening on (http:\/\/\S+)/): Promise<Machine> {
  const run = runCli(['start', ...args], { BLOTCDN_ADMIN_TOKEN: ADMIN_TOKEN, BLOTCDN_WORKER_HEADER: '1', ...env });
  t.after(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
  });
  // Workers compile through tsx as they start: on a loaded machine that takes a while.
  const [, url] = await run.waitFor(listening, 90_000);
  const [, admin] = await run.waitFor(/admin API and dashboard on (http:\/\/[^/\s]+)/, 30_000);
  await run.waitFor(/\d+ workers \(pids/, 30_000);
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const adminJson = async <T>(path: string) => {
    const r = await get(`${admin}${path}`, auth);
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`);
    return JSON.parse(r.text) as T;
  };
  return {
    run,
    url: url!,
    admin: admin!,
    adminJson,
    adminPost: (path, body) => request(`${admin}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    pids: async () => new Map((await adminJson<{ workers: { worker: number; pid: number }[] }>('/stats')).workers.map((w) => [w.worker, w.pid])),
  };
}

/** GETs `url` (a fresh connection each time) until every one of `workers` has answered; their answers. */
export async function untilEvery(url: string, workers = 2, headers?: Record<string, string>): Promise<Map<string, Reply>> {
  const seen = new Map<string, Reply>();
  await waitFor(async () => {
    const r = await get(url, headers);
    const w = r.headers['x-blotcdn-worker'];
    if (typeof w === 'string' && !seen.has(w)) seen.set(w, r);
    return seen.size >= workers;
  }, `answers from ${workers} workers`, 30_000);
  return seen;
}

export function config(origin: string, dir: string, extra: string[] = []): string {
  return [
    'listen: { http: "127.0.0.1:0" }',
    'admin: { listen: "127.0.0.1:0" }',
    'log: { access: "off" }',
    `cache: { disk: { dir: "${join(dir, 'cache')}" } }`,
    'originGroups:',
    `  app: { members: [ { url: "${origin}" } ] }`,
    'sites:',
    '  - hosts: ["*"]',
    '    originGroup: app',
    ...extra,
  ].join('\n');
}

/** An origin that numbers its answers per path (so a refetch shows), and holds /slow/* until released. */
export async function countingOrigin(tag = 'a'): Promise<TestOrigin & { release(): void }> {
  const served = new Map<string, number>();
  let held: (() => void)[] = [];
  const origin = await startOrigin((req, res) => {
    const answer = () => {
      const n = (served.get(req.url!) ?? 0) + 1;
      served.set(req.url!, n);
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
      res.end(`${tag} ${req.url} #${n}`);
    };
    if (req.url!.startsWith('/slow')) held.push(answer);
    else answer();
  });
  return Object.assign(origin, { release: () => held.splice(0).forEach((a) => a()) });
}

/** A scratch folder, a counting origin and a config file naming both (not started). */
export async function prepare(t: { after(fn: () => Promise<void>): void }, extra: string[] = []) {
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-workers-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const origin = await countingOrigin();
  t.after(() => origin.close());
  const file = join(dir, 'edge.yaml');
  await writeFile(file, config(origin.url, dir, extra));
  return { dir, origin, file };
}

/** prepare(), then `blotcdn start --config … --workers 2`. */
export async function setup(t: { after(fn: () => Promise<void>): void }, extra: string[] = []) {
  const prepared = await prepare(t, extra);
  const machine = await startMachine(t, ['--config', prepared.file, '--workers', '2']);
  return { ...prepared, machine };
}
