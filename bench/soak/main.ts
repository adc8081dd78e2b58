// `npm run soak`: the soak (soak.ts) for SOAK_SECONDS (default 180) after a SOAK_WARMUP-second
// warm-up (default 20), SOAK_CLIENTS clients at once (default 16), heap sampled every
// SOAK_SAMPLE seconds (default 15), a reload every SOAK_RELOAD seconds (default 5). Loopback only.
// Exits 1 when a request that should have succeeded failed, a page was stale after a purge, a cut
// body was served as complete or a reload was not applied.
import { formatReport, runSoak, type SoakOptions } from './soak.js';

const num = (name: string, fallback: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`${name} must be a positive number of seconds (or clients), not ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
};

const options: SoakOptions = {
  seconds: num('SOAK_SECONDS', 180),
  warmupSeconds: num('SOAK_WARMUP', 20),
  concurrency: num('SOAK_CLIENTS', 16),
  sampleEverySeconds: num('SOAK_SAMPLE', 15),
  reloadEverySeconds: num('SOAK_RELOAD', 5),
  log: (line) => console.log(line),
};
console.log(`soak: ${options.seconds} s (+${options.warmupSeconds} s warm-up), ${options.concurrency} clients; set SOAK_SECONDS to shorten`);
const report = await runSoak(options);
console.log(`\n${formatReport(report, options)}`);
const bad = report.failedCount + report.staleAfterPurge + report.cutServedComplete + report.reloads.notApplied;
process.exit(bad === 0 ? 0 : 1);
