// `blotcdn purge`, `blotcdn warm` and `blotcdn stats`: thin clients of a running edge's admin API
// (its address from --admin or BLOTCDN_ADMIN_URL, the token from BLOTCDN_ADMIN_TOKEN).
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { request } from 'undici';
import { CliError } from './fail.js';

interface AdminTarget {
  admin: string;
}

/** `--admin` as given: a URL, or `host:port` as `start --admin` spells it. */
function adminBase(value: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL | undefined;
  try {
    url = new URL(withScheme);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new CliError(`--admin ${JSON.stringify(value)} is not an admin API address: give http://host:port (or set BLOTCDN_ADMIN_URL)`);
  }
  return url;
}

/** One admin API call; an edge that does not answer or refuses becomes one line saying what to do. */
async function call(opts: AdminTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<any> {
  const base = adminBase(opts.admin);
  const token = process.env.BLOTCDN_ADMIN_TOKEN;
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(new URL(path, base), {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'connection refused' : (err as Error).message;
    throw new CliError(`cannot reach the edge's admin API at ${base.origin} (${reason}): is blotcdn running with an admin listener there? Point --admin or BLOTCDN_ADMIN_URL at it`);
  }
  const text = await res.body.text();
  let data: any;
  try {
    data = JSON.parse(text);
  } catch {
    data = { error: text };
  }
  if (res.statusCode >= 400) {
    // Admin API errors carry {code, message} (or {error} from older edges).
    const said = String(data?.message ?? data?.error ?? text).trim();
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new CliError(`the admin API at ${base.origin} refused the request (${res.statusCode}: ${said}): set BLOTCDN_ADMIN_TOKEN to the edge's admin token`);
    }
    throw new CliError(`the admin API refused ${method} ${path} (${res.statusCode}): ${said}`);
  }
  return data;
}

const adminOption = (cmd: Command) =>
  cmd.option('--admin <url>', 'the edge admin API', process.env.BLOTCDN_ADMIN_URL ?? 'http://127.0.0.1:8081');

const collect = (value: string, previous: string[] = []) => [...previous, value];

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function adminCommands(program: Command): void {
  adminOption(
    program
      .command('purge')
      .description('Purge by URL, prefix, host or tag on a running edge (hard by default).')
      .argument('[urls...]', 'URLs to purge (all their variants and compressed copies)')
      .option('--prefix <prefix>', 'a URL prefix, e.g. https://example.com/blog/ (repeatable)', collect)
      .option('--host <host>', 'every object of a host (repeatable)', collect)
      .option('--tag <tag>', 'every object carrying a Surrogate-Key / Cache-Tag (repeatable)', collect)
      .option('--soft', 'mark stale instead of removing: served while a refresh runs or the origin is down'),
  ).action(async (urls: string[], opts: AdminTarget & { prefix?: string[]; host?: string[]; tag?: string[]; soft?: boolean }) => {
    const body: Record<string, unknown> = { soft: opts.soft === true };
    if (urls.length) body.url = urls;
    if (opts.prefix) body.prefix = opts.prefix;
    if (opts.host) body.host = opts.host;
    if (opts.tag) body.tag = opts.tag;
    if (Object.keys(body).length === 1) throw new CliError('say what to purge: URLs, --prefix, --host or --tag (see blotcdn purge --help)');
    const result = await call(opts, 'POST', '/purge', body);
    for (const p of result.purges) console.log(`${p.kind} ${p.value}: ${p.purged} ${p.soft ? 'marked stale' : 'removed'} (${p.ms.toFixed(1)} ms)`);
  });

  adminOption(
    program
      .command('warm')
      .description('Fetch URLs through the edge’s cache so readers find them there.')
      .argument('[urls...]', 'URLs to warm')
      .option('-f, --file <file>', 'a file with one URL per line')
      .option('--concurrency <n>', 'URLs fetched at once', '8'),
  ).action(async (urls: string[], opts: AdminTarget & { file?: string; concurrency: string }) => {
    const list = [...urls];
    if (opts.file) list.push(...(await readFile(opts.file, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
    const concurrency = Number(opts.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new CliError(`--concurrency ${JSON.stringify(opts.concurrency)}: give a whole number of URLs fetched at once, 1 or more`);
    if (list.length === 0) throw new CliError('say what to warm: URLs, or --file with one URL per line (see blotcdn warm --help)');
    const bar = list.length > 1 && process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'warming [{bar}] {value}/{total} {eta_formatted}', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(list.length, 0);
    const counts: Record<string, number> = {};
    const failures: string[] = [];
    // Batches keep each API call short and let the bar move.
    const batch = Math.max(concurrency * 4, 16);
    for (let i = 0; i < list.length; i += batch) {
      const { results } = await call(opts, 'POST', '/warm', { urls: list.slice(i, i + batch), concurrency });
      for (const r of results) {
        counts[r.result] = (counts[r.result] ?? 0) + 1;
        if (r.result === 'error' || r.result === 'not-stored') failures.push(`${r.url}: ${r.result}${r.error ? ` (${r.error})` : r.status ? ` (${r.status})` : ''}`);
      }
      bar?.increment(results.length);
    }
    bar?.stop();
    for (const f of failures) console.log(f);
    console.log(Object.entries(counts).map(([k, n]) => `${k}: ${n}`).join(', '));
    if (counts.error) process.exitCode = 1;
  });

  adminOption(
    program
      .command('reload')
      .description("Make a running edge re-read its config file and apply it in place (as SIGHUP does).")
      .option('--pid <pid>', 'send SIGHUP to this process instead of asking the admin API'),
  ).action(async (opts: AdminTarget & { pid?: string }) => {
    if (opts.pid !== undefined) {
      const pid = Number(opts.pid);
      if (!Number.isInteger(pid) || pid <= 0) throw new CliError(`--pid ${JSON.stringify(opts.pid)}: give the edge's process id`);
      try {
        process.kill(pid, 'SIGHUP');
      } catch (err) {
        throw new CliError(`cannot signal process ${pid} (${(err as NodeJS.ErrnoException).code}): is the edge running under that id, as this user?`);
      }
      console.log(`sent SIGHUP to ${pid}: the edge logs whether it took the new config`);
      return;
    }
    const result = await call(opts, 'POST', '/reload', {});
    console.log(result.restartNeeded.length === 0 ? 'config reloaded' : `config reloaded; these changes need a restart and were not applied: ${result.restartNeeded.join(', ')}`);
  });

  adminOption(program.command('stats').description('What a running edge has been doing.')).action(async (opts: AdminTarget) => {
    const s = await call(opts, 'GET', '/stats');
    const o = s.outcomes;
    console.log(`node ${s.node}, up ${s.uptimeSeconds} s`);
    console.log(`requests ${s.requests}: hit ${o.hit}, stale ${o.stale}, revalidated ${o.revalidated}, miss ${o.miss}, pass ${o.pass}, synth ${o.synth}, error ${o.error}`);
    console.log(`hit ratio ${(s.hitRatio * 100).toFixed(1)}%, served ${bytes(s.bytesServed)}, from origin ${bytes(s.bytesFromOrigin)}, origin fetches ${s.originFetches}, collapsed ${s.collapsed}`);
    console.log(`cache: ${s.cache.total.entries} objects, ${bytes(s.cache.total.bytes)} of ${bytes(s.cache.total.maxBytes)}`);
    if (s.topMissed.length) console.log(`top missed:\n${s.topMissed.slice(0, 10).map((m: { url: string; misses: number }) => `  ${m.misses}  ${m.url}`).join('\n')}`);
  });
}
