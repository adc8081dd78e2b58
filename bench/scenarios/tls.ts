// TLS, against a real ACME server (Debian's pebble, validation delay off): first handshakes for
// 20 new names at once (each one an order), then — with the certificate held — full handshakes
// per server CPU-second and keep-alive requests/s over TLS (HTTP/1.1 and HTTP/2), beside nginx
// serving the same object from proxy_cache with a static P-256 certificate, and a bare Node
// http2 server (allowHTTP1, the same certificate, the body from memory): Node's own ceiling, so
// the run shows what is blotcdn's cost and what is Node's. Clients send SNI (h2load --connect-to;
// a Node TLS client for handshakes), pinned to the client core.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { startPebble } from '../../test/helpers/pebble.js';
import { treeCpuSeconds } from '../lib/cpu.js';
import { peer, startBlotcdn, startNginx, stopAll, type Peer } from '../lib/peers.js';
import { CLIENT_CORE, findCommand, freePort, median, pinned, SERVER_CORE, waitForPort } from '../lib/procs.js';
import { fmt, type BenchContext, type Scenario } from '../lib/scenario.js';

const HOST = 'bench.test';
const PATH = '/hits/4k';

/** One full TLS handshake (no session reuse) naming `servername`; resolves with ms, or rejects. */
function handshake(port: number, servername: string, ca?: string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: ca !== undefined, ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), 15_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(performance.now() - started);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Full handshakes for `seconds` with `concurrency` connections at a time, in a child process on the client core. */
async function handshakeLoad(port: number, seconds: number, concurrency: number): Promise<number> {
  const script = `
    const tls = require('node:tls');
    let done = 0; const end = Date.now() + ${seconds * 1000};
    const one = () => { if (Date.now() > end) return Promise.resolve();
      return new Promise((r) => { const s = tls.connect({ host: '127.0.0.1', port: ${port}, servername: '${HOST}', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
        s.once('secureConnect', () => { done++; s.destroy(); r(); }); s.once('error', () => r()); }).then(one); };
    Promise.all(Array.from({ length: ${concurrency} }, one)).then(() => console.log(done));`;
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('taskset', ['-c', CLIENT_CORE, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`handshake client exited ${code}`))));
  });
  return Number(out.trim());
}

/** A bare Node http2 server (HTTP/1.1 too) with `pem` (key and chain), answering 4 KiB from memory. */
async function startBareNode(pem: string): Promise<Peer> {
  const port = await freePort();
  const script = `
    const http2 = require('node:http2');
    const pem = process.env.BARE_PEM;
    const body = Buffer.alloc(4096, 'x');
    http2.createSecureServer({ cert: pem, key: pem, allowHTTP1: true, minVersion: 'TLSv1.2' }, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'cache-control': 'max-age=3600' });
      res.end(body);
    }).listen(${port}, '127.0.0.1');`;
  const proc = pinned('node (bare)', SERVER_CORE, process.execPath, ['-e', script], { BARE_PEM: pem });
  await waitForPort(port, proc);
  return { ...peer('node (bare)', port, [proc]), url: `https://127.0.0.1:${port}`, httpsPort: port };
}

function h2load(port: number, args: string[], seconds: number): number {
  const out = execFileSync('taskset', ['-c', CLIENT_CORE, 'h2load', ...args, '-t', '1', '-D', String(seconds), `--connect-to=127.0.0.1:${port}`, `https://${HOST}${PATH}`], { maxBuffer: 16 * 1024 * 1024 }).toString();
  const m = /finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(out);
  if (!m) throw new Error(`could not read h2load output:\n${out}`);
  const failed = Number(/(\d+) failed/.exec(out)?.[1] ?? 0);
  if (failed > 0) throw new Error(`h2load: ${failed} requests failed:\n${out}`);
  return Number(m[1]);
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export const tls: Scenario = {
  name: 'tls',
  description: 'on-demand certificates against pebble; TLS handshakes and keep-alive throughput beside nginx',
  async run(ctx: BenchContext) {
    if (!findCommand('pebble')) throw new Error('pebble is needed: apt-get install pebble');
    if (!findCommand('h2load')) throw new Error('h2load is needed: apt-get install nghttp2-client');
    const dir = await mkdtemp(join(tmpdir(), 'bench-tls-'));
    const pebble = await startPebble();
    const peers: Peer[] = [];
    try {
      await writeFile(join(dir, 'acme-ca.pem'), pebble.apiCa);
      const [httpPort, httpsPort] = [await freePort(), await freePort()];
      const blotcdn = await startBlotcdn(ctx.originUrl, {
        configYaml: (originUrl, port, accessLog) => `
listen: { http: "127.0.0.1:${httpPort}", https: "127.0.0.1:${httpsPort}" }
log: { access: "${accessLog}", events: "off" }
tls:
  store: { dir: "${join(dir, 'certs')}" }
  acme: { directory: "${pebble.directoryUrl}", ca: "${join(dir, 'acme-ca.pem')}", challenges: [http-01], pollMin: 100ms }
originGroups: { o: { members: [ { url: "${originUrl}" } ] } }
sites: [ { hosts: ["${HOST}", "*.${HOST}"], originGroup: o, redirectToHttps: false } ]
# ${port} (plain HTTP answers pebble's HTTP-01 validations, relayed to it)
`,
        port: httpPort,
      });
      pebble.routeHttp01(httpPort);
      blotcdn.httpsPort = httpsPort;
      peers.push(blotcdn);
      const root = await pebble.root();

      // 1. First handshakes: 20 new names at once, each needing its own order.
      const firsts: number[] = [];
      let failed = 0;
      for (let round = 0; round < ctx.rounds; round++) {
        const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => handshake(httpsPort, `n${i}-r${round}.${HOST}`, [root])));
        for (const r of results) r.status === 'fulfilled' ? firsts.push(r.value) : failed++;
        ctx.log(`20 new names, round ${round + 1}: ${results.filter((r) => r.status === 'fulfilled').length} ok, p50 ${fmt(pct(firsts.slice(-20), 50))} ms, max ${fmt(Math.max(...firsts.slice(-20)))} ms`);
      }
      await handshake(httpsPort, HOST, [root]); // the certificate for the throughput runs
      peers.push(await startBareNode(await readFile(join(dir, 'certs', 'certs', `${HOST}.pem`), 'utf8')));

      // nginx with a static P-256 certificate, same origin, same cache.
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=DNS:${HOST}`, '-keyout', join(dir, 'nginx.key'), '-out', join(dir, 'nginx.pem')], { stdio: 'ignore' });
      const nginxPort = await freePort();
      const nginx = await startNginx(ctx.originUrl, {
        extraServer: `server {
    listen 127.0.0.1:${nginxPort} ssl http2;
    ssl_certificate ${join(dir, 'nginx.pem')};
    ssl_certificate_key ${join(dir, 'nginx.key')};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets on;
    location / {
      proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host;
      proxy_cache edge; proxy_cache_key $scheme$host$request_uri;
    }
  }`,
      });
      if (nginx) {
        nginx.httpsPort = nginxPort;
        peers.push(nginx);
      } else ctx.log('nginx not installed: skipped');

      const rows = new Map<string, { hsPerCpu: number[]; h1: number[]; h2: number[] }>();
      for (const peer of peers) {
        h2load(peer.httpsPort!, ['--h1', '-c', '8'], 2); // warm the cache and the JIT
        rows.set(peer.name, { hsPerCpu: [], h1: [], h2: [] });
      }
      for (let round = 0; round < ctx.rounds; round++) {
        for (const peer of peers.map((_, i) => peers[(i + round) % peers.length]!)) {
          const r = rows.get(peer.name)!;
          const pids = peer.procs.map((p) => p.child.pid!);
          const before = treeCpuSeconds(pids);
          const count = await handshakeLoad(peer.httpsPort!, ctx.seconds, 32);
          const cpu = treeCpuSeconds(pids) - before;
          r.hsPerCpu.push(count / Math.max(cpu, 0.01));
          r.h1.push(h2load(peer.httpsPort!, ['--h1', '-c', '64'], ctx.seconds));
          r.h2.push(h2load(peer.httpsPort!, ['-c', '16', '-m', '16'], ctx.seconds));
          ctx.log(`${peer.name} round ${round + 1}: ${count} handshakes on ${fmt(cpu, 2)} CPU-s, h1 ${fmt(r.h1.at(-1)!)} req/s, h2 ${fmt(r.h2.at(-1)!)} req/s`);
        }
      }
      const ours = rows.get('blotcdn')!;
      const bare = rows.get('node (bare)')!;
      const table = [['measure', 'blotcdn', ...(nginx ? ['nginx', 'blotcdn ÷ nginx'] : []), 'node (bare)', 'blotcdn ÷ node']];
      const line = (label: string, pick: (r: { hsPerCpu: number[]; h1: number[]; h2: number[] }) => number[]) => {
        const a = median(pick(ours));
        const n = nginx ? median(pick(rows.get('nginx')!)) : NaN;
        const b = median(pick(bare));
        table.push([label, fmt(a), ...(nginx ? [fmt(n), `${fmt(a / n, 2)}×`] : []), fmt(b), `${fmt(a / b, 2)}×`]);
      };
      table.push([`first handshake, 20 new names at once: p50 / p99 / failed`, `${fmt(pct(firsts, 50))} / ${fmt(pct(firsts, 99))} ms / ${failed}`, ...(nginx ? ['—', '—'] : []), '—', '—']);
      line('full handshakes per server CPU-second', (r) => r.hsPerCpu);
      line('keep-alive requests/s over TLS, HTTP/1.1 (64 conns)', (r) => r.h1);
      line('requests/s over HTTP/2 (16 conns × 16 streams)', (r) => r.h2);
      return {
        title: 'TLS (on-demand certificates from pebble; 4 KiB cached object)',
        table,
        notes: [
          `${ctx.rounds} rounds of ${ctx.seconds} s, medians; first handshakes: ${firsts.length + failed} in all, each an ACME order (pebble with PEBBLE_VA_NOSLEEP, HTTP-01)`,
          'handshakes: a Node TLS client on the client core, 32 at a time, no session reuse, SNI set; server CPU from /proc (nginx: master and worker)',
          'throughput: h2load with --connect-to so SNI and :authority name the certificate host; blotcdn holds a pebble-issued P-256 certificate, nginx a self-signed P-256 one',
          '`node (bare)`: node:http2 createSecureServer (allowHTTP1) with blotcdn\'s certificate, answering the 4 KiB body from memory — no cache, no SNI lookup: the most Node gives',
        ],
        data: { firsts, failed, rows: Object.fromEntries(rows) },
      };
    } finally {
      await stopAll(peers);
      await pebble.stop();
    }
  },
};
