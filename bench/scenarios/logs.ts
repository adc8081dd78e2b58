// What access logging costs each server (issue 13): 4 KiB hits with logs off and on, blotcdn, nginx
// and Varnish each run twice side by side in one run (interleaved rounds), logging as an operator
// would (lib/logs.ts). Reports each server's drop in req/s and in requests per CPU-second, the CPU
// each logged request adds, and checks that the logs hold a line per request served.
// Each server's two runs go back to back in every round (which goes first alternates, the servers
// rotate), and the drop is also taken within each such pair: this machine drifts between fast and
// slow phases lasting minutes, which moves medians taken across a whole run by more than logging
// costs, while two runs seconds apart share a phase.
import { readFile } from 'node:fs/promises';
import { interleaved, LOAD_HEADER, loadCells, loadNotes, pairedCost, ratio, summarize, type Summary } from '../lib/load.js';
import { countLines } from '../lib/logs.js';
import { startCaches, stopAll, warm, type Peer } from '../lib/peers.js';
import { fmt, type BenchContext, type Scenario, type Section } from '../lib/scenario.js';

const PATH = '/hits/4k';
const OFF = '(logs off)';
const ON = '(logs on)';

/**
 * A drop (1 − on ÷ off) as text, marked when a run was held back: with "off" held back the true
 * drop is at least this (≥), with "on" held back at most (≤), with both it is unknown (?).
 */
function dropText(r: ReturnType<typeof ratio>): string {
  const mark = { result: '', upperBound: '≥', lowerBound: '≤', unknown: '' }[r.kind];
  return `${mark}${fmt((1 - r.value) * 100, 1)} %${r.kind === 'unknown' ? '?' : ''}`;
}

/** The last complete line of a file (a sample of what the server logged). */
async function lastLine(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').at(-1) ?? '';
}

export const logs: Scenario = {
  name: 'logs',
  description: '4 KiB hits with access logs off and on, blotcdn vs nginx vs Varnish: what logging costs each',
  async run(ctx: BenchContext): Promise<Section[]> {
    const peers: Peer[] = [];
    try {
      await startCaches(ctx, peers, { logs: 'off', suffix: OFF });
      await startCaches(ctx, peers, { logs: 'on', suffix: ON });
      await warm(peers, PATH);
      const servers = peers.filter((p) => p.name.endsWith(OFF)).map((p) => p.name.slice(0, -OFF.length - 1));
      const pairOf = (server: string) => [`${server} ${OFF}`, `${server} ${ON}`].map((name) => peers.find((p) => p.name === name)!);
      const order = (round: number) =>
        servers.flatMap((_, i) => {
          const pair = pairOf(servers[(i + round) % servers.length]!);
          return (i + round) % 2 === 0 ? pair : pair.reverse();
        });
      const { runs, sent } = await interleaved(ctx, peers, (p) => p.url + PATH, { label: '4k', order });
      const summaries = new Map([...runs].map(([name, rs]) => [name, summarize(rs)]));
      // Stopped before the logs are read: each server flushes its log on the way out.
      for (const p of peers) await p.stop();

      const table = [['server', 'logs', ...LOAD_HEADER]];
      for (const p of peers) table.push([p.name.replace(/ \(logs (on|off)\)$/, ''), p.name.endsWith(ON) ? 'on' : 'off', ...loadCells(summaries.get(p.name)!)]);

      const cost = [['server', 'req/s off → on', 'drop in req/s', 'req per CPU-s off → on', 'drop per CPU-s', 'drop per CPU-s, paired', 'CPU µs added per request, paired', 'log lines ÷ requests']];
      const data: Record<string, unknown> = {};
      const drops = new Map<string, { rps: string; perCpu: string; paired: string }>();
      for (const server of servers) {
        const off = summaries.get(`${server} ${OFF}`)!;
        const on = summaries.get(`${server} ${ON}`)!;
        const logged = peers.find((p) => p.name === `${server} ${ON}`)!;
        // Requests the servers answered: 3 warming fetches plus every wrk run (warm-up included).
        const requests = sent.get(logged.name)! + 3;
        const lines = await countLines(logged.accessLog!);
        const byRate = ratio(on, off, (s) => s.rps);
        const byCpu = ratio(on, off, (s) => s.requestsPerCpuSecond);
        const addedUs = (1e6 / on.requestsPerCpuSecond - 1e6 / off.requestsPerCpuSecond);
        const paired = pairedCost(off.runs, on.runs);
        drops.set(server, { rps: dropText(byRate), perCpu: dropText(byCpu), paired: paired.text });
        cost.push([server, `${fmt(off.rps)} → ${fmt(on.rps)}`, dropText(byRate), `${fmt(off.requestsPerCpuSecond)} → ${fmt(on.requestsPerCpuSecond)}`, dropText(byCpu), paired.text, fmt(paired.addedUs, 1), `${fmt(lines)} ÷ ${fmt(requests)} = ${fmt((lines / requests) * 100, 1)} %`]);
        const strip = ({ runs: rs, ...m }: Summary) => ({ ...m, runs: rs });
        data[server] = { off: strip(off), on: strip(on), dropRps: 1 - byRate.value, dropRpsKind: byRate.kind, dropPerCpuSecond: 1 - byCpu.value, dropPerCpuSecondKind: byCpu.kind, cpuMicrosecondsAddedPerRequest: addedUs, paired, logLines: lines, requests, sampleLine: await lastLine(logged.accessLog!) };
      }
      const ours = drops.get('blotcdn');
      const theirs = drops.get('nginx');
      return [
        {
          title: '4 KiB hits, access logs off and on (wrk, 1 thread, 64 connections)',
          table,
          notes: [`every server twice, logs off and on, all in one run: ${ctx.rounds} rounds of ${ctx.seconds} s, order rotating, medians`, ...loadNotes([...summaries.values()])],
          data: Object.fromEntries([...summaries].map(([name, { runs: rs, ...m }]) => [name, { ...m, runs: rs }])),
        },
        {
          title: 'What access logging costs (4 KiB hits)',
          table: cost,
          notes: [
            'logs on: nginx `access_log <file> bench_json buffer=64k flush=1s` (JSON lines: time, request id, client, method, scheme, host, path, protocol, status, bytes, duration, origin TTFB, cache status, upstream, user agent, referer, TLS); Varnish `varnishncsa -w <file>` with the same fields as far as it has them (its CPU counted with Varnish\'s); blotcdn `--access-log <file>`',
            '"drop per CPU-s" is the fall in the medians of requests per server CPU-second across the run; "paired" is the median over rounds of the fall within each round\'s back-to-back pair of runs (off and on a few seconds apart, which goes first alternating) — the measure that cancels the machine\'s drift between phases, and the one the verdict below uses; "CPU µs added per request, paired" is the median of 1/rate(on) − 1/rate(off) within pairs; the held-back pairs are counted beside it',
            '"log lines ÷ requests": lines in the log after the server stopped, over requests wrk and the warm-up completed (a few in flight at the end of each wrk run are served but not counted by wrk)',
            ...(ours && theirs ? [`blotcdn's logging costs ${ours.paired} of its requests per CPU-second, nginx's ${theirs.paired} (paired; across the run: ${ours.perCpu} against ${theirs.perCpu}; req/s: ${ours.rps} against ${theirs.rps})`] : []),
          ],
          data,
        },
      ];
    } finally {
      await stopAll(peers);
    }
  },
};
