// The caches compared in one run, each started in front of the same origin and pinned to the same
// core: blotcdn (the compiled dist/, as `npm start` runs it), nginx with proxy_cache, and Varnish.
// nginx and Varnish are optional: a peer that is not installed is reported as skipped.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCommand, freePort, pinned, SERVER_CORE, waitForPort, type Proc } from './procs.js';

export interface Peer {
  name: string;
  url: string;
  /** Its HTTPS port, for the scenarios that run one. */
  httpsPort?: number;
  proc: Proc;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface BlotcdnOptions {
  /** Extra config (YAML text) instead of quick mode. */
  configYaml?: (originUrl: string, port: number) => string;
  cacheDir?: string;
  /** The plain-HTTP port (a free one by default). */
  port?: number;
}

export async function startBlotcdn(originUrl: string, options: BlotcdnOptions = {}): Promise<Peer> {
  const port = options.port ?? (await freePort());
  const cli = join(ROOT, 'dist/cli/main.js');
  let args: string[];
  if (options.configYaml) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-blotcdn-'));
    const file = join(dir, 'config.yaml');
    await writeFile(file, options.configYaml(originUrl, port));
    args = [cli, 'start', '--config', file];
  } else {
    // Access log off, as nginx and Varnish run here (nginx: access_log off; varnishd logs to shared memory).
    args = [cli, 'start', '--origin', originUrl, '--listen', `127.0.0.1:${port}`, '--access-log', 'off'];
    if (options.cacheDir) args.push('--cache-dir', options.cacheDir);
  }
  // The V8 flag the `blotcdn` command's shebang sets (src/cli/main.ts): measure it as it runs.
  const proc = pinned('blotcdn', SERVER_CORE, process.execPath, ['--max-semi-space-size=32', ...args]);
  await waitForPort(port, proc);
  return { name: 'blotcdn', url: `http://127.0.0.1:${port}`, proc, stop: () => proc.stop() };
}

export interface NginxOptions {
  /** Extra directives inside `location /`. */
  location?: string;
  /** Another server block (e.g. a TLS listener) beside the plain one. */
  extraServer?: string;
}

/**
 * nginx with one worker on the server core, tuned alike for every scenario, running the `http { }`
 * body `http(dir, port)` returns (it serves on 127.0.0.1:port). Undefined when nginx is not installed.
 */
export async function runNginx(http: (dir: string, port: number) => string): Promise<(Peer & { dir: string }) | undefined> {
  const nginx = findCommand('nginx');
  if (!nginx) return undefined;
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'bench-nginx-'));
  const conf = `
${process.getuid?.() === 0 ? 'user root root;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
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
  const proc = pinned('nginx', SERVER_CORE, nginx, ['-p', dir, '-c', join(dir, 'nginx.conf')]);
  await waitForPort(port, proc);
  return { name: 'nginx', url: `http://127.0.0.1:${port}`, proc, dir, stop: () => proc.stop() };
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
  );
}

export async function startVarnish(originUrl: string): Promise<Peer | undefined> {
  const varnishd = findCommand('varnishd');
  if (!varnishd) return undefined;
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'bench-varnish-'));
  const origin = new URL(originUrl);
  const vcl = `vcl 4.1;
backend origin { .host = "${origin.hostname}"; .port = "${origin.port}"; }
`;
  await writeFile(join(dir, 'default.vcl'), vcl);
  const proc = pinned('varnish', SERVER_CORE, varnishd, [
    '-F',
    '-j', 'none',
    '-a', `127.0.0.1:${port}`,
    '-f', join(dir, 'default.vcl'),
    '-s', 'malloc,2g',
    '-n', join(dir, 'instance'),
    '-p', 'thread_pools=1',
  ]);
  await waitForPort(port, proc, 30_000);
  return { name: 'varnish', url: `http://127.0.0.1:${port}`, proc, stop: () => proc.stop() };
}
