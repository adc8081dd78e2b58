// The primary of `blotcdn start --workers N` (N > 1): forks the workers (node:cluster; they share the
// listeners, the primary hands out connections round-robin), restarts one that dies (with backoff),
// serves the admin API with the machine's view (MachinePlane), relays purges (PurgeRelay), makes
// the TLS session ticket key and sends it to every worker (rotated together, so a ticket resumes on
// any worker), and turns signals into machine-wide actions: SIGHUP re-reads and validates the
// config once, then every worker applies it; SIGUSR1 reopens every worker's logs; SIGTERM/SIGINT
// drain every worker and exit 0. It serves no traffic itself.
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { EdgeConfig } from '../../config/schema.js';
import { ConfigError } from '../../config/load.js';
import { CliError } from '../../cli/fail.js';
import { AdminApi, adminOptions } from '../../control/admin-api.js';
import { nodeIdOf } from '../../edge.js';
import { ERRORS } from '../../errors.js';
import { createEventLog } from '../../observe/event-log.js';
import { MachinePlane, type MachineWorkers } from './machine-plane.js';
import type { CallMethod, ConfigSource, FromWorker, ToWorker } from './messages.js';
import { PurgeRelay } from './purge-relay.js';
import { RestartBackoff } from './restart-backoff.js';
import { configFromSource, workerDiskDir } from './worker-config.js';

const WORKER_MAIN = fileURLToPath(new URL(`./worker-main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

interface Slot {
  worker: Worker | undefined;
  startedAt: number;
  restarts: number;
  listening: boolean;
  backoff: RestartBackoff;
}

const where = (a: AddressInfo, scheme: string) => `${scheme}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;

export async function runPrimary(initial: ConfigSource, count: number): Promise<void> {
  let source = initial;
  let config: EdgeConfig = configFromSource(source);
  const events = createEventLog(config.log.events === 'stderr');
  const slots = new Map<number, Slot>();
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; worker: number; timer?: NodeJS.Timeout }>();
  let nextCall = 0;
  let stopping = false;
  let started = false;

  const relay = new PurgeRelay({
    timeoutMs: Math.max(config.shutdownTimeout, 30_000),
    onTimeout: (seq, workers) => events.warn({ code: 'worker_unresponsive', seq, workers }, ERRORS.worker_unresponsive.message),
  });

  // One ticket key for every worker (unless the config names one), replaced for all at once.
  let ticketKey = config.tls && config.tls.ticketKeys === undefined ? randomBytes(48).toString('hex') : undefined;
  const sendAll = (m: ToWorker) => {
    for (const s of slots.values()) if (s.worker?.isConnected()) s.worker.send(m);
  };
  const rotateEvery = config.tls?.ticketKeyRotation ?? 0;
  const rotation =
    ticketKey !== undefined && rotateEvery > 0
      ? setInterval(() => {
          ticketKey = randomBytes(48).toString('hex');
          sendAll({ t: 'ticket-key', key: ticketKey });
        }, rotateEvery).unref()
      : undefined;

  let ready: (addresses: { http: AddressInfo[]; https: AddressInfo[] }) => void = () => undefined;
  let failed: (err: Error) => void = () => undefined;
  const allListening = new Promise<{ http: AddressInfo[]; https: AddressInfo[] }>((resolve, reject) => {
    let first: { http: AddressInfo[]; https: AddressInfo[] } | undefined;
    ready = (a) => {
      first ??= a;
      if ([...slots.values()].every((s) => s.listening)) resolve(first);
    };
    failed = reject;
  });

  cluster.setupPrimary({ exec: WORKER_MAIN, args: [] });

  const fork = (n: number) => {
    const slot = slots.get(n)!;
    if (relay.takeReset(n) && config.cache.disk) {
      const dir = workerDiskDir(config.cache.disk.dir, n);
      events.warn({ code: 'worker_cache_reset', worker: n, dir }, ERRORS.worker_cache_reset.message);
      rmSync(dir, { recursive: true, force: true });
    }
    const worker = cluster.fork({ BLOTCDN_WORKER: String(n) });
    slot.worker = worker;
    slot.startedAt = Date.now();
    worker.on('message', (m: FromWorker) => onMessage(n, worker, m));
    worker.on('exit', (code, signal) => onExit(n, worker, code, signal));
  };

  const onMessage = (n: number, worker: Worker, m: FromWorker) => {
    const slot = slots.get(n)!;
    if (m.t === 'failed') {
      if (!started) failed(m.expected ? new CliError(m.message) : new Error(m.message));
      else events.error({ code: 'worker_exited', worker: n, err: m.message }, `worker w${n} could not start: ${m.message}`);
      return;
    }
    if (slot.worker !== worker) return;
    if (m.t === 'boot') worker.send({ t: 'init', worker: n, workers: count, source, ticketKey } satisfies ToWorker);
    else if (m.t === 'hello') relay.hello(n, (out) => worker.isConnected() && worker.send(out));
    else if (m.t === 'listening') {
      slot.listening = true;
      ready({ http: m.http, https: m.https });
    } else if (m.t === 'publish') {
      const relayed = relay.purge(m.request, n, { invalidate: m.invalidate === true });
      const id = m.id;
      if (id !== undefined) void relayed.then(() => worker.isConnected() && worker.send({ t: 'relayed', id } satisfies ToWorker));
    } else if (m.t === 'applied') relay.applied(n, m.seq, m.record);
    else if (m.t === 'sent') relay.sent(n, m.seq, m.sent);
    else if (m.t === 'reply') {
      const call = pending.get(m.id);
      if (!call) return;
      pending.delete(m.id);
      clearTimeout(call.timer);
      if (m.ok) call.resolve(m.value);
      else call.reject(new Error(m.error));
    }
  };

  const onExit = (n: number, worker: Worker, code: number | null, signal: string | null) => {
    const slot = slots.get(n)!;
    if (slot.worker !== worker) return;
    const wasListening = slot.listening;
    slot.worker = undefined;
    slot.listening = false;
    relay.down(n);
    for (const [id, call] of pending) {
      if (call.worker !== n) continue;
      pending.delete(id);
      clearTimeout(call.timer);
      call.reject(new Error(`worker w${n} exited`));
    }
    if (stopping) return maybeDone();
    if (!started && !wasListening) {
      // Its `failed` message (the reason) may still be in the channel: read to its end first.
      const fail = () => failed(new Error(`worker w${n} exited before it listened (${signal ?? `code ${code}`})`));
      if (worker.isConnected()) worker.once('disconnect', fail);
      else setImmediate(fail);
      return;
    }
    const delay = slot.backoff.next(Date.now() - slot.startedAt);
    slot.restarts++;
    events.warn({ code: 'worker_exited', worker: n, pid: worker.process.pid, exitCode: code, signal, restartInMs: delay }, ERRORS.worker_exited.message);
    setTimeout(() => {
      if (!stopping) fork(n);
    }, delay);
  };

  const call = <T>(n: number, method: CallMethod, args: unknown[] = [], timeoutMs = 30_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const worker = slots.get(n)?.worker;
      if (!worker?.isConnected()) return reject(new Error(`worker w${n} is not running`));
      const id = ++nextCall;
      const timer = timeoutMs > 0 ? setTimeout(() => (pending.delete(id), reject(new Error(`worker w${n} did not answer ${method} in ${timeoutMs} ms`))), timeoutMs) : undefined;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, worker: n, timer });
      worker.send({ t: 'call', id, method, args } satisfies ToWorker);
    });
  const up = () => [...slots].filter(([, s]) => s.listening).map(([n]) => n);

  /** SIGHUP and POST /reload: validate once in the primary; invalid → every worker keeps the old one. */
  const reload = async (): Promise<{ restartNeeded: string[] }> => {
    if (source.kind !== 'file') throw new Error('this edge was started without a config file: there is nothing to re-read');
    let text: string;
    try {
      text = await readFile(source.path, 'utf8');
    } catch (err) {
      throw new ConfigError(source.path, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
    }
    const next: ConfigSource = { kind: 'file', path: source.path, text };
    const nextConfig = configFromSource(next);
    source = next;
    const answers = await Promise.all(up().map((n) => call<{ restartNeeded: string[] }>(n, 'reload', [next])));
    // What the primary itself holds (the admin listener, the worker count) also needs a restart.
    const own = (['admin', 'workers'] as const).filter((f) => JSON.stringify(config[f]) !== JSON.stringify(nextConfig[f]));
    config = { ...nextConfig, admin: config.admin, workers: config.workers };
    return { restartNeeded: [...new Set([...(answers[0]?.restartNeeded ?? []), ...own])] };
  };

  const pool: MachineWorkers = { count, up, restarts: (n) => slots.get(n)?.restarts ?? 0, call, reload };
  const plane = new MachinePlane(nodeIdOf(config), pool, relay, (n) => events.warn({ code: 'worker_unresponsive', worker: n }, ERRORS.worker_unresponsive.message), config.redis?.ackTimeout ?? 0);
  let admin: AdminApi | undefined;

  let exitCode = 0;
  const maybeDone = () => {
    if ([...slots.values()].some((s) => s.worker !== undefined)) return;
    void (admin?.close() ?? Promise.resolve()).then(() => process.exit(exitCode));
  };
  const stop = (signal: string) => {
    if (stopping) {
      for (const s of slots.values()) s.worker?.process.kill('SIGKILL');
      process.exit(1);
    }
    stopping = true;
    clearInterval(rotation);
    console.error(`blotcdn: ${signal} received, every worker finishes its in-flight requests (up to ${config.shutdownTimeout / 1000} s)…`);
    sendAll({ t: 'stop' });
    maybeDone();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGUSR1', () => {
    Promise.all(up().map((n) => call(n, 'reopen-logs'))).then(
      () => console.error('blotcdn: SIGUSR1: log files reopened in every worker'),
      (err: unknown) => console.error(`blotcdn: SIGUSR1: reopening the logs failed: ${(err as Error).message}`),
    );
  });
  process.on('SIGHUP', () => {
    reload().then(
      ({ restartNeeded }) =>
        console.error(`blotcdn: SIGHUP: config reloaded in every worker${restartNeeded.length > 0 ? `; these changes need a restart and were not applied: ${restartNeeded.join(', ')}` : ''}`),
      (err: unknown) => console.error(`blotcdn: SIGHUP: kept the running config: ${err instanceof ConfigError ? err.message : String((err as Error).message)}`),
    );
  });

  for (let n = 1; n <= count; n++) {
    relay.add(n);
    slots.set(n, { worker: undefined, startedAt: 0, restarts: 0, listening: false, backoff: new RestartBackoff() });
    fork(n);
  }
  let addresses: { http: AddressInfo[]; https: AddressInfo[] };
  try {
    addresses = await allListening;
  } catch (err) {
    stopping = true;
    exitCode = 1;
    for (const s of slots.values()) s.worker?.process.kill('SIGKILL');
    throw err;
  }
  started = true;
  for (const a of addresses.http) console.error(`blotcdn: listening on ${where(a, 'http')}`);
  for (const a of addresses.https) console.error(`blotcdn: listening on ${where(a, 'https')}`);
  if (config.admin) {
    try {
      admin = new AdminApi(plane, adminOptions(config.admin));
      const a = await admin.listen();
      console.error(`blotcdn: admin API and dashboard on http://${a.address}:${a.port}/dashboard`);
    } catch (err) {
      stopping = true;
      for (const s of slots.values()) s.worker?.process.kill('SIGKILL');
      throw err;
    }
  }
  console.error(`blotcdn: ${count} workers (pids ${[...slots.values()].map((s) => s.worker?.process.pid).join(', ')}), primary pid ${process.pid}`);
}
