// The caches compared in one run, each started in front of the same origin and pinned to the same
// core(s): blotcdn (the compiled dist/, as `npm start` runs it), nginx with proxy_cache, and Varnish,
// each configured as an operator would run it and with the same access logging (lib/logs.ts).
// nginx and Varnish are optional: a peer that is not installed is reported as skipped.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCoreList } from './cpu.js';
import { benchLogs, countLines, NGINX_LOG_FORMAT, VARNISHNCSA_FORMAT, type LogMode } from './logs.js';
import { findCommand, freePort, pinned, SERVER_CORE, waitForPort, type Proc } from './procs.js';
import type { BenchContext } from './scenario.js';

export interface Peer {
  name: string;
  url: string;
  /** Its HTTPS port, for the scenarios that run one. */
  httpsPort?: number;
  proc: Proc;
  /** Every process whose CPU is the server's (with their descendants): the server, and varnishncsa when logging. */
  procs: Proc[];
  /** The access log file, when logs are on. */
  accessLog?: string;
  /** Stops every process; the access log is complete (flushed) once this resolves. */
  stop(): Promise<void>;
  /** Removes the peer's temporary folder (config, cache, access log): after stop and any look at the log. */
  cleanup(): Promise<void>;
}

/** Options every peer takes. */
export interface PeerOptions {
  /** Access logging (default: BENCH_LOGS). */
  logs?: LogMode;
  /** The name in reports (default: the server's). */
  name?: string;
}

/** A Peer of started processes (the first is the server) with its folder (removed by cleanup()). */
export function peer(name: string, port: number, procs: Proc[], dir?: string, accessLog?: string): Peer {
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    proc: procs[0]!,
    procs,
    accessLog,
    // Helpers (varnishncsa) first, so nothing the server logged on its way out is waited for.
    stop: async () => {
      for (const p of [...procs].reverse()) await p.stop();
    },
    cleanup: async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Requests `port` until `file` (written by `writer`) has a line: the logger is attached. */
async function waitForLogLine(port: number, file: string, writer: Proc, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await countLines(file)) === 0) {
    if (writer.child.exitCode !== null || Date.now() > deadline) throw new Error(`${writer.name} wrote no log line: ${writer.output()}`);
    await fetch(`http://127.0.0.1:${port}/__log-probe`).then((r) => r.arrayBuffer());
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface BlotcdnOptions extends PeerOptions {
  /** Extra config (YAML text) instead of quick mode; `accessLog` is the value for `log.access`. */
  configYaml?: (originUrl: string, port: number, accessLog: string) => string;
  cacheDir?: string;
  /** The plain-HTTP port (a free one by default). */
  port?: number;
  /** More `blotcdn start` arguments (e.g. `--workers 2`). */
  args?: string[];
  /** How long it may take to listen (several workers start several processes). */
  startTimeoutMs?: number;
}

export async function startBlotcdn(originUrl: string, options: BlotcdnOptions = {}): Promise<Peer> {
  const port = options.port ?? (await freePort());
  const cli = join(ROOT, 'dist/cli/main.js');
  const dir = await mkdtemp(join(tmpdir(), 'bench-blotcdn-'));
  // Logs on: blotcdn's access log to a file, as nginx's and Varnish's go to files.
  const accessLog = (options.logs ?? benchLogs()) === 'on' ? join(dir, 'access.log') : undefined;
  let args: string[];
  if (options.configYaml) {
    const file = join(dir, 'config.yaml');
    await writeFile(file, options.configYaml(originUrl, port, accessLog ?? 'off'));
    args = [cli, 'start', '--config', file];
  } else {
    args = [cli, 'start', '--origin', originUrl, '--listen', `127.0.0.1:${port}`, '--access-log', accessLog ?? 'off'];
    if (options.cacheDir) args.push('--cache-dir', options.cacheDir);
  }
  args.push(...(options.args ?? []));
  // One worker per server core, as nginx gets (the default, one per core of the machine, would
  // put two workers on one pinned core).
  if (!args.includes('--workers')) args.push('--workers', String(SERVER_CORES));
  const name = options.name ?? 'blotcdn';
  // The V8 flag the installed `blotcdn` command (bin/blotcdn) runs with: measure it as it runs.
  // BENCH_BLOTCDN_NODE_FLAGS adds node flags to every blotcdn the bench starts (e.g. to profile one
  // scenario: "--cpu-prof --cpu-prof-dir=/tmp/prof"; Node refuses --cpu-prof in NODE_OPTIONS).
  const extra = (process.env['BENCH_BLOTCDN_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
  const proc = pinned(name, SERVER_CORE, process.execPath, ['--max-semi-space-size=32', ...extra, ...args]);
  await waitForPort(port, proc, options.startTimeoutMs);
  return peer(name, port, [proc], dir, accessLog);
}

export interface NginxOptions extends PeerOptions {
  /** Extra directives inside `location /`. */
  location?: string;
  /** Another server block (e.g. a TLS listener) beside the plain one. */
  extraServer?: string;
}

/** The cores the servers are pinned to: nginx runs one worker per core, as an operator would. */
const SERVER_CORES = parseCoreList(SERVER_CORE).length;

/**
 * nginx as an operator would run it on the server core(s) — a worker per core, sendfile,
 * open_file_cache, and with logs on a buffered access_log — running the `http { }` body
 * `http(dir, port)` returns (it serves on 127.0.0.1:port). Undefined when nginx is not installed.
 */
export async function runNginx(http: (dir: string, port: number) => string, options: PeerOptions = {}): Promise<Peer | undefined> {
  const nginx = findCommand('nginx');
  if (!nginx) return undefined;
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'bench-nginx-'));
  const accessLog = (options.logs ?? benchLogs()) === 'on' ? join(dir, 'access.log') : undefined;
  const conf = `
${process.getuid?.() === 0 ? 'user root root;' : ''}
worker_processes ${SERVER_CORES};
${SERVER_CORES > 1 ? 'worker_cpu_affinity auto;' : ''}
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  ${NGINX_LOG_FORMAT}
  access_log ${accessLog ? `${accessLog} bench_json buffer=64k flush=1s` : 'off'};
  sendfile on;
  # Open descriptors of cached files (proxy_cache's too) are kept instead of opened per request.
  open_file_cache max=10000 inactive=60s;
  open_file_cache_valid 60s;
  open_file_cache_errors on;
  # tcp_nopush (TCP_CORK) stalls keep-alive responses for ~40 ms on loopback: 1.9k req/s instead of 17k.
  tcp_nopush off;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy_temp;
  fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  ${http(dir, port)}
}`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const name = options.name ?? 'nginx';
  const proc = pinned(name, SERVER_CORE, nginx, ['-p', dir, '-c', join(dir, 'nginx.conf')]);
  await waitForPort(port, proc);
  // SIGQUIT is nginx's graceful stop: workers flush their log buffers on the way out.
  const graceful = { ...proc, stop: () => proc.stop('SIGQUIT') };
  return peer(name, port, [graceful], dir, accessLog);
}

/** nginx with proxy_cache in front of the origin. */
export function startNginx(originUrl: string, options: NginxOptions = {}): Promise<Peer | undefined> {
  const origin = new URL(originUrl);
  return runNginx(
    (dir, port) => `
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=edge:64m max_size=4g inactive=1h use_temp_path=off;
  upstream origin { server ${origin.host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_cache edge;
      proxy_cache_key $scheme$host$request_uri;
      proxy_cache_lock on;
      add_header Cache-Status $upstream_cache_status;
      ${options.location ?? ''}
    }
  }
  ${options.extraServer ?? ''}`,
    options,
  );
}

/** Varnish with a malloc store; with logs on, varnishncsa writing JSON lines to a file, pinned beside it. */
export async function startVarnish(originUrl: string, options: PeerOptions = {}): Promise<Peer | undefined> {
  const varnishd = findCommand('varnishd');
  if (!varnishd) return undefined;
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'bench-varnish-'));
  const origin = new URL(originUrl);
  const vcl = `vcl 4.1;
backend origin { .host = "${origin.hostname}"; .port = "${origin.port}"; }
`;
  await writeFile(join(dir, 'default.vcl'), vcl);
  const name = options.name ?? 'varnish';
  const proc = pinned(name, SERVER_CORE, varnishd, [
    '-F',
    '-j', 'none',
    '-a', `127.0.0.1:${port}`,
    '-f', join(dir, 'default.vcl'),
    '-s', 'malloc,2g',
    '-n', join(dir, 'instance'),
    '-p', 'thread_pools=1',
  ]);
  await waitForPort(port, proc, 30_000);
  if ((options.logs ?? benchLogs()) === 'off') return peer(name, port, [proc], dir);
  const varnishncsa = findCommand('varnishncsa');
  if (!varnishncsa) {
    await proc.stop();
    throw new Error('varnishncsa is needed for Varnish with logs on (it comes with the varnish package)');
  }
  const accessLog = join(dir, 'access.log');
  const ncsa = pinned(`${name} varnishncsa`, SERVER_CORE, varnishncsa, ['-n', join(dir, 'instance'), '-w', accessLog, '-F', VARNISHNCSA_FORMAT]);
  // varnishncsa only logs requests that begin after it attached: wait until it has written a line.
  const varnish = peer(name, port, [proc, ncsa], dir, accessLog);
  await waitForLogLine(port, accessLog, ncsa).catch(async (err: unknown) => {
    await stopAll([varnish]);
    throw err;
  });
  return varnish;
}

/**
 * blotcdn, then nginx and Varnish when installed, all with the same access logging, pushed onto
 * `into` as each starts (so a caller's cleanup stops them even if a later one fails to start).
 */
export async function startCaches(ctx: BenchContext, into: Peer[], options: { logs?: LogMode; suffix?: string } = {}): Promise<void> {
  const named = (n: string) => (options.suffix ? `${n} ${options.suffix}` : n);
  into.push(await startBlotcdn(ctx.originUrl, { logs: options.logs, name: named('blotcdn') }));
  const nginx = await startNginx(ctx.originUrl, { logs: options.logs, name: named('nginx') });
  if (nginx) into.push(nginx);
  else ctx.log('nginx not installed: skipped (apt-get install nginx)');
  const varnish = await startVarnish(ctx.originUrl, { logs: options.logs, name: named('varnish') });
  if (varnish) into.push(varnish);
  else ctx.log('varnish not installed: skipped (apt-get install varnish)');
}

/** Three plain requests through each peer, so the object is cached before wrk starts. */
export async function warm(peers: Peer[], path: string): Promise<void> {
  for (const peer of peers) for (let i = 0; i < 3; i++) await fetch(peer.url + path).then((r) => r.arrayBuffer());
}

/** Stops every peer and removes its folder. */
export async function stopAll(peers: Peer[]): Promise<void> {
  for (const p of peers) {
    await p.stop();
    await p.cleanup();
  }
}
