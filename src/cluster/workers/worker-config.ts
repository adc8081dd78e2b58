// How many workers to run, and the config each one runs: the machine's config with its own disk
// folder ({dir}/w{n}) and 1/N of the memory and disk budgets (so the machine keeps the footprint the
// config states), no admin listener (the primary serves it) and the primary's TLS ticket key.
import { join } from 'node:path';
import { parseConfigText, validateConfig } from '../../config/load.js';
import type { EdgeConfig } from '../../config/schema.js';
import type { ConfigSource } from './messages.js';

/** Validates the config a source holds (the primary checks it once; each worker builds it again). */
export function configFromSource(source: ConfigSource): EdgeConfig {
  return source.kind === 'file' ? parseConfigText(source.text, source.path) : validateConfig(source.input, '(command line)');
}

/** Worker `n`'s (1-based) disk folder. */
export function workerDiskDir(dir: string, n: number): string {
  return join(dir, `w${n}`);
}

/** The config worker `n` of `count` runs. */
export function workerConfig(config: EdgeConfig, n: number, count: number, ticketKey: string | undefined): EdgeConfig {
  const cache = config.cache;
  const share = (bytes: number) => Math.max(1, Math.floor(bytes / count));
  const disk = cache.disk && {
    ...cache.disk,
    dir: workerDiskDir(cache.disk.dir, n),
    maxSize: share(cache.disk.maxSize),
    maxObjects: Math.max(1, Math.floor(cache.disk.maxObjects / count)),
  };
  const tls = config.tls && ticketKey !== undefined && config.tls.ticketKeys === undefined ? { ...config.tls, ticketKeys: ticketKey } : config.tls;
  return {
    ...config,
    admin: undefined,
    tls,
    cache: { ...cache, memory: { ...cache.memory, maxSize: share(cache.memory.maxSize) }, disk },
  };
}
