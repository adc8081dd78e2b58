// A worker process (node:cluster forks this file): it waits for the primary's `init`, builds the
// edge from the same config source with its own disk folder and budget share (worker-config.ts),
// relays purges through the primary (WorkerPurgeBus), and answers the primary's calls: its figures,
// warming, certificates, the jobs view, a reload, reopening the logs. It drains and exits 0 when
// the primary says stop, on SIGTERM/SIGINT (systemd and a terminal signal the whole group), or when
// the primary is gone.
import type { Edge as EdgeType } from '../../edge.js';
import { ConfigError } from '../../config/load.js';
import { debugWanted, explain } from '../../cli/fail.js';
import type { CallMethod, ConfigSource, FromWorker, ToWorker } from './messages.js';
import { configFromSource, workerConfig } from './worker-config.js';
import { WorkerPurgeBus } from './worker-purge-bus.js';
import { takeSnapshot } from './worker-snapshot.js';

type Init = Extract<ToWorker, { t: 'init' }>;

const send = (m: FromWorker) => process.send?.(m);

/** A debug header naming the worker that answered (BLOTCDN_WORKER_HEADER=1: tests, troubleshooting). */
function tagged(name: string) {
  return <H extends (req: never, res: never) => void>(handler: H): H =>
    ((req: never, res: { setHeader(k: string, v: string): void }) => {
      res.setHeader('x-blotcdn-worker', name);
      (handler as unknown as (req: never, res: unknown) => void)(req, res);
    }) as unknown as H;
}

async function runWorker(): Promise<void> {
  const listeners = new Set<(m: ToWorker) => void>();
  const init = await new Promise<Init>((resolve) => {
    process.on('message', (m: ToWorker) => {
      if (m.t === 'init') resolve(m);
      for (const l of listeners) l(m);
    });
    send({ t: 'boot' });
  });
  const { worker: n, workers: count, ticketKey } = init;
  const build = (source: ConfigSource) => workerConfig(configFromSource(source), n, count, ticketKey);
  const { Edge } = await import('../../edge.js');
  const channel = { send, on: (l: (m: ToWorker) => void) => listeners.add(l) };
  const edge: EdgeType = new Edge(build(init.source), {
    worker: n,
    busFor: (remote) => new WorkerPurgeBus(channel, remote, (err) => edge.runtime.events.warn({ err: err.message, worker: n }, 'purge relay')),
    wrapHandler: process.env.BLOTCDN_WORKER_HEADER === '1' ? tagged(`w${n}`) : undefined,
  });

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    edge.stop(edge.config.shutdownTimeout).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`blotcdn: worker w${n}: stopping failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  // The primary reloads and reopens for every worker; these listeners keep the defaults away
  // (SIGHUP would end the process, SIGUSR1 would open the inspector).
  process.on('SIGHUP', () => undefined);
  process.on('SIGUSR1', () => void edge.reopenLogs());
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);

  const calls: Record<CallMethod, (...args: never[]) => unknown> = {
    snapshot: () => takeSnapshot(edge, n),
    warm: (urls: string[], concurrency: number) => edge.warm(urls, concurrency),
    certs: () => edge.certs(),
    jobs: () => edge.jobs(),
    reload: (source: ConfigSource) => edge.reload(build(source)),
    'reopen-logs': () => edge.reopenLogs(),
    inspect: (host: string) => edge.inspect(host),
    rehydrate: () => edge.rehydrate(),
    nodes: () => edge.nodes(),
  };
  listeners.add((m) => {
    if (m.t === 'stop') return stop();
    if (m.t === 'ticket-key') return edge.setTicketKeys(Buffer.from(m.key, 'hex'));
    if (m.t !== 'call') return;
    Promise.resolve()
      .then(() => (calls[m.method] as (...args: unknown[]) => unknown)(...m.args))
      .then(
        (value) => send({ t: 'reply', id: m.id, ok: true, value }),
        (err: unknown) => send({ t: 'reply', id: m.id, ok: false, error: err instanceof ConfigError ? err.message : String((err as Error).message) }),
      );
  });

  await edge.start();
  send({ t: 'listening', http: edge.httpAddresses, https: edge.httpsAddresses });
}

runWorker().catch((err: unknown) => {
  // A shared listener's failure comes back from the primary as a `bind` error: it is the listen.
  const e = err as { syscall?: string };
  if (e?.syscall === 'bind') e.syscall = 'listen';
  const { message, expected } = explain(err);
  if (debugWanted() && err instanceof Error) console.error(err.stack);
  // The primary prints it once (every worker may fail alike); exit once it is sent.
  if (process.send) process.send({ t: 'failed', message, expected } satisfies FromWorker, () => process.exit(1));
  else process.exit(1);
});
