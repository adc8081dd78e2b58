// An Edge in a child process of its own, for what a test cannot measure in its own process: the
// heap after a forced GC (the child runs with --expose-gc), the time to listen and to be ready, a
// kill -9. The parent sends the config over IPC (or the path of a config file, which SIGHUP and
// POST /reload then re-read, as the CLI does); the child answers with its ports, its readiness
// and, when asked, its memory. The restart benchmark runs the compiled edge (dist/) the same way.
//
//   child:  node --expose-gc --import tsx test/helpers/edge-process.ts [src|dist]
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../../src/config/schema.js';
import type { MemoryFigure } from '../../src/cache/memory-figure.js';

type ToChild = { type: 'start'; config?: ConfigInput; configFile?: string } | { type: 'memory' } | { type: 'stop' };
type FromChild =
  | { type: 'listening'; port: number; adminPort?: number; ms: number }
  | { type: 'ready'; ms: number }
  | { type: 'memory'; usage: NodeJS.MemoryUsage; figure: MemoryFigure }
  | { type: 'error'; message: string };

export interface EdgeProcess {
  child: ChildProcess;
  url: string;
  adminUrl?: string;
  /** ms from the child's start to listening, and to its index being ready (as the child measured). */
  listenMs: number;
  ready: Promise<number>;
  /** Forces two full GCs in the child, then reports its memory and the edge's memory figure. */
  memory(): Promise<{ usage: NodeJS.MemoryUsage; figure: MemoryFigure }>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  output(): string;
}

const SELF = fileURLToPath(import.meta.url);

/** `config` as an object, or `{ file }`: a config file the edge re-reads on SIGHUP and POST /reload. */
export async function startEdgeProcess(config: ConfigInput | { file: string }, from: 'src' | 'dist' = 'src', execArgv: string[] = []): Promise<EdgeProcess> {
  const child = fork(SELF, [from], { execArgv: ['--expose-gc', '--import', 'tsx', ...execArgv], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T extends FromChild['type']>(type: T): Promise<Extract<FromChild, { type: T }>> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: FromChild) => {
        if (m.type === 'error') return reject(new Error(`edge process: ${m.message}\n${out}`));
        if (m.type !== type) return;
        child.off('message', onMessage);
        resolve(m as Extract<FromChild, { type: T }>);
      };
      child.on('message', onMessage);
      void exited.then(() => reject(new Error(`edge process exited before ${type}:\n${out}`)));
    });
  const send = (m: ToChild) => child.send(m);
  const listening = next('listening');
  const ready = next('ready').then((m) => m.ms);
  ready.catch(() => {});
  send('file' in config && typeof config.file === 'string' ? { type: 'start', configFile: config.file } : { type: 'start', config: config as ConfigInput });
  const { port, adminPort, ms } = await listening;
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    adminUrl: adminPort === undefined ? undefined : `http://127.0.0.1:${adminPort}`,
    listenMs: ms,
    ready,
    memory: async () => {
      const reply = next('memory');
      send({ type: 'memory' });
      const { usage, figure } = await reply;
      return { usage, figure };
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) send({ type: 'stop' });
      await exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    output: () => out,
  };
}

/** The child's side: build the edge from the config it is sent, and answer the parent. */
async function runChild(from: string): Promise<void> {
  const root = from === 'dist' ? '../../dist' : '../../src';
  const { Edge } = (await import(`${root}/edge.js`)) as typeof import('../../src/edge.js');
  const { validateConfig, loadConfigFile } = (await import(`${root}/config/load.js`)) as typeof import('../../src/config/load.js');
  const gc = (globalThis as { gc?: () => void }).gc!;
  let edge: InstanceType<typeof Edge> | undefined;
  const reply = (m: FromChild) => process.send!(m);
  process.on('message', async (m: ToChild) => {
    try {
      if (m.type === 'start') {
        const file = m.configFile;
        edge = new Edge(file === undefined ? validateConfig(m.config!) : await loadConfigFile(file));
        if (file !== undefined) {
          const started = edge;
          started.reloadSource = () => loadConfigFile(file);
          process.on('SIGHUP', () => void started.reloadFromSource().catch((err: Error) => process.stderr.write(`SIGHUP: ${err.message}\n`)));
        }
        const ready = edge.ready().then(() => reply({ type: 'ready', ms: performance.now() }));
        await edge.start();
        reply({ type: 'listening', port: edge.httpAddresses[0]!.port, adminPort: edge.admin?.address?.port, ms: performance.now() });
        await ready;
      } else if (m.type === 'memory') {
        gc();
        gc();
        reply({ type: 'memory', usage: process.memoryUsage(), figure: edge!.memory() });
      } else if (m.type === 'stop') {
        await edge?.stop(1000);
        process.exit(0);
      }
    } catch (err) {
      reply({ type: 'error', message: (err as Error).stack ?? String(err) });
    }
  });
}

if (process.argv[1] === SELF && process.send) void runChild(process.argv[2] ?? 'src');
