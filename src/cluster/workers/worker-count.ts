// How many worker processes `blotcdn start` runs: the --workers flag over the config's `workers`;
// "auto" is one per core (os.availableParallelism(), which honours CPU affinity). Its own small
// module because the CLI reads it before it decides whether to load the primary at all.
import { availableParallelism } from 'node:os';
import type { EdgeConfig } from '../../config/schema.js';

/** `--workers` (a string from the command line) over the config's `workers`; "auto" is one per core. */
export function workerCount(flag: string | undefined, config: EdgeConfig, cores = availableParallelism()): number {
  const value = flag ?? config.workers;
  if (value === 'auto') return Math.max(1, cores);
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`--workers: expected "auto" or a whole number from 1 to 256, got ${JSON.stringify(value)}`);
  return n;
}
