// `npm run bench [scenario…]`: starts the benchmark origin, then runs each scenario with blotcdn,
// nginx and Varnish side by side in one run, prints markdown tables of medians with blotcdn's
// ratios, and writes the raw figures to bench/results/latest.json.
//
// Peers: apt-get install nginx varnish wrk   (blotcdn runs from dist/: `npm run build` first,
// which this script does for you). BENCH_ROUNDS and BENCH_SECONDS tune the length of a run,
// BENCH_LOGS=on|off every server's access logging, BENCH_SERVER_CORE / BENCH_CLIENT_CORE the pinning.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { findCommand, freePort, pinned, CLIENT_CORE, SERVER_CORE, waitForPort } from './lib/procs.js';
import type { BenchContext, Scenario, Section } from './lib/scenario.js';
import { hits } from './scenarios/hits.js';
import { coalescing } from './scenarios/coalescing.js';
import { disk } from './scenarios/disk.js';
import { purge } from './scenarios/purge.js';
import { folder } from './scenarios/folder.js';
import { assets } from './scenarios/assets.js';
import { tls } from './scenarios/tls.js';
import { publish } from './scenarios/publish.js';
import { logs } from './scenarios/logs.js';
import { blotPublish } from './scenarios/blot-publish.js';
import { benchLogs } from './lib/logs.js';
import { restart } from './scenarios/restart.js';
import { policy } from './scenarios/policy.js';
import { workers } from './scenarios/workers.js';
import { purgePropagation } from './scenarios/purge-propagation.js';

const SCENARIOS: Scenario[] = [hits, logs, policy, coalescing, disk, purge, folder, assets, tls, publish, restart, blotPublish, workers, purgePropagation];
const ROOT = fileURLToPath(new URL('../', import.meta.url));

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.name === w));
  if (unknown.length) {
    console.error(`unknown scenario(s): ${unknown.join(', ')}; available: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    process.exit(2);
  }
  for (const tool of ['taskset', 'wrk']) {
    if (!findCommand(tool)) {
      console.error(`${tool} is needed: apt-get install ${tool === 'taskset' ? 'util-linux' : tool}`);
      process.exit(2);
    }
  }
  let logMode: string;
  try {
    logMode = benchLogs();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  console.log('building dist/ …');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });

  const originPort = await freePort();
  const origin = pinned('origin', CLIENT_CORE, process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/origin-server.ts'), String(originPort)]);
  await waitForPort(originPort, origin);
  const originUrl = `http://127.0.0.1:${originPort}`;
  const ctx: BenchContext = {
    originUrl,
    rounds: Number(process.env.BENCH_ROUNDS ?? 3),
    seconds: Number(process.env.BENCH_SECONDS ?? 8),
    log: (m) => console.log(`  ${m}`),
    originCounts: async () => (await (await fetch(`${originUrl}/__count`)).json()) as Record<string, number>,
    resetOriginCounts: async () => void (await fetch(`${originUrl}/__reset`)).arrayBuffer(),
  };

  const sections: Section[] = [];
  try {
    for (const scenario of SCENARIOS.filter((s) => wanted.length === 0 || wanted.includes(s.name))) {
      console.log(`\n▶ ${scenario.name}: ${scenario.description}`);
      sections.push(...[await scenario.run(ctx)].flat());
    }
  } finally {
    await origin.stop();
  }

  const cpu = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).toString().trim();
  const versions = {
    node: process.version,
    nginx: findCommand('nginx') ? execFileSync(findCommand('nginx')!, ['-v'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString() || 'installed' : 'absent',
    varnish: findCommand('varnishd') ? execFileSync(findCommand('varnishd')!, ['-V'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString().split('\n')[0] : 'absent',
    wrk: execFileSync('sh', ['-c', 'wrk -v 2>&1 | head -1 || true']).toString().trim(),
    cpu,
  };
  const settings = { rounds: ctx.rounds, seconds: ctx.seconds, logs: logMode, serverCore: SERVER_CORE, clientCore: CLIENT_CORE };
  console.log(`\n## Results (${new Date().toISOString().slice(0, 10)}, ${cpu}, Node ${process.version}; ${JSON.stringify(settings)})\n`);
  for (const s of sections) {
    console.log(`### ${s.title}\n`);
    const [head, ...rows] = s.table;
    console.log(`| ${head!.join(' | ')} |`);
    console.log(`|${head!.map(() => '---').join('|')}|`);
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
    for (const n of s.notes) console.log(`\n- ${n}`);
    console.log('');
  }
  await mkdir(join(ROOT, 'bench/results'), { recursive: true });
  await writeFile(join(ROOT, 'bench/results/latest.json'), JSON.stringify({ date: new Date().toISOString(), versions, settings, sections }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
