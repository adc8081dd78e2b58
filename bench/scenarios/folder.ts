// FolderOrigin hit-through: a 100 KiB file served from disk on every request (nothing cached), by
// FolderOrigin in a small Node server of its own beside nginx serving the same folder with `root`
// and sendfile (and a bare Node stream server as Node's floor). Until the config can name a folder
// origin, the Node server calls FolderOrigin.fetch per request and pipes the body: it measures the
// origin itself, not the edge in front of it.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, pinned, SERVER_CORE, waitForPort } from '../lib/procs.js';
import { interleaved, LOAD_HEADER, loadCells, loadNotes, ratio, summarize, type Summary } from '../lib/load.js';
import { peer, runNginx, startBlotcdn, stopAll, type Peer } from '../lib/peers.js';
import { fmt, type BenchContext, type Scenario } from '../lib/scenario.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PATH = '/blog_0123456789abcdef0123456789abcdef/_thumbnails/100k.jpg';
const SIZE = 100 * 1024;

/**
 * The Node process around FolderOrigin: the compiled dist/ when built (as production runs), else the
 * source. With FOLDER_BARE it skips FolderOrigin and pipes fs.createReadStream with no checks at all:
 * the floor for any Node server of this file, so the table shows what FolderOrigin itself costs.
 */
const SERVER_SCRIPT = `
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream';
const root = process.env.FOLDER_ROOT;
let handler;
if (process.env.FOLDER_BARE) {
  handler = (req, res) => {
    const path = root + req.url;
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': statSync(path).size });
    pipeline(createReadStream(path, { highWaterMark: 64 * 1024 }), res, () => {});
  };
} else {
  const { FolderOrigin } = await import(process.env.FOLDER_ORIGIN_MODULE);
  const origin = new FolderOrigin({ root });
  handler = (req, res) => {
    origin.fetch({ method: req.method, path: req.url, headers: req.headers }).then(
      (out) => {
        res.writeHead(out.status, out.headers);
        pipeline(out.body, res, () => {});
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  };
}
const server = createServer(handler);
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.FOLDER_PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

async function startNodeServer(root: string, bare: boolean): Promise<Peer> {
  const port = await freePort();
  const dist = join(ROOT, 'dist/origins/folder-origin.js');
  const compiled = existsSync(dist);
  const module = pathToFileURL(compiled ? dist : join(ROOT, 'src/origins/folder-origin.ts')).href;
  const args = [...(compiled ? [] : ['--import', 'tsx']), '--input-type=module', '-e', SERVER_SCRIPT];
  const env = { FOLDER_ORIGIN_MODULE: module, FOLDER_ROOT: root, FOLDER_PORT: String(port), ...(bare ? { FOLDER_BARE: '1' } : {}) };
  const name = bare ? 'node bare stream' : 'FolderOrigin';
  const proc = pinned(name, SERVER_CORE, process.execPath, args, env);
  await waitForPort(port, proc);
  return peer(name, port, [proc]);
}

/** nginx serving the folder itself (`root`), with the same tuning as every nginx in the benchmarks. */
function startNginxRoot(root: string): Promise<Peer | undefined> {
  return runNginx(
    (_dir, port) => `
  ${existsSync('/etc/nginx/mime.types') ? 'include /etc/nginx/mime.types;' : ''}
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { }
  }`,
  );
}

export const folder: Scenario = {
  name: 'folder',
  description: 'FolderOrigin serving a 100 KiB file from disk vs nginx `root` + sendfile',
  async run(ctx: BenchContext) {
    const root = await mkdtemp(join(tmpdir(), 'bench-folder-'));
    const file = join(root, PATH);
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, randomBytes(SIZE));
    const servers: Peer[] = [];
    try {
      servers.push(await startNodeServer(root, false), await startNodeServer(root, true));
      // The edge in front of the folder: after the first request every one is a cache hit.
      servers.push(await startBlotcdn(pathToFileURL(root).href, { name: 'blotcdn → folder (hits)' }));
      const nginx = await startNginxRoot(root);
      if (nginx) servers.push(nginx);
      else ctx.log('nginx not installed: skipped (apt-get install nginx)');

      for (const s of servers) {
        const res = await fetch(s.url + PATH);
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status !== 200 || body.length !== SIZE) throw new Error(`${s.name} answered ${res.status} with ${body.length} bytes:\n${s.proc.output()}`);
        ctx.log(`${s.name}: ${res.headers.get('content-type')}, etag ${res.headers.get('etag')}`);
      }
      const { runs } = await interleaved(ctx, servers, (s) => s.url + PATH);
      const summaries = new Map<string, Summary>([...runs].map(([name, rs]) => [name, summarize(rs)]));
      const ours = summaries.get('FolderOrigin')!;
      const table = [['server', ...LOAD_HEADER, 'MB/s', 'FolderOrigin ÷ server, req/s', 'FolderOrigin ÷ server, per CPU-s']];
      const data: Record<string, unknown> = {};
      for (const s of servers) {
        const row = summaries.get(s.name)!;
        const byRate = ratio(ours, row, (x) => x.rps);
        const byCpu = ratio(ours, row, (x) => x.requestsPerCpuSecond);
        data[s.name] = { ...row, ratio: { rps: byRate, perCpuSecond: byCpu } };
        table.push([s.name, ...loadCells(row), fmt(row.mbps), ...(s.name === 'FolderOrigin' ? ['—', '—'] : [byRate.text, byCpu.text])]);
      }
      return {
        title: 'Folder origin, 100 KiB file from disk (wrk, 1 thread, 64 connections)',
        table,
        notes: [
          `each server pinned to the server core(s), wrk to the client core; ${ctx.rounds} rounds of ${ctx.seconds} s, order rotating, medians`,
          ...loadNotes([...summaries.values()]),
          'FolderOrigin runs in a small node:http server of its own that calls FolderOrigin.fetch per request and pipes the body: this measures the origin itself (open, fstat, real-path check, read stream), with no edge and no cache in front',
          '`node bare stream` is the floor for Node: node:http piping fs.createReadStream with no path checks, validators or ranges',
          'nginx serves the same folder with `root` (sendfile, open_file_cache, tcp_nopush off, as every nginx here); the file stays in the page cache for all of them',
          '`blotcdn → folder (hits)`: the edge (quick mode, --origin file:///…) in front of the same folder; requests after the first are served from its memory tier',
        ],
        data,
      };
    } finally {
      await stopAll(servers);
      await rm(root, { recursive: true, force: true });
    }
  },
};
