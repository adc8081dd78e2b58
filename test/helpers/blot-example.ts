// examples/blot.yaml (or blot-tags.yaml) as shipped, with only the addresses of the platform's
// servers swapped for the test's: listeners, Redis, the app, the bucket, the cache folder, the
// certificate files and the ACME server. Everything else — sites, behaviors, policy — is the file's.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import type { EdgeConfig } from '../../src/config/schema.js';
import { ROOT } from './cli.js';
import { S3_KEY } from './s3-server.js';

export interface BlotAddresses {
  nodeId: string;
  redisUrl: string;
  appUrl: string;
  bucketEndpoint: string;
  diskDir: string;
  /** Plain-HTTP listener (`127.0.0.1:0`, or pebble's HTTP-01 port). */
  http: string;
  admin?: string;
  purge?: string;
  /** HTTPS: the wildcard's files and the ACME server; without it the file's tls and HTTPS are dropped. */
  tls?: { https: string; cert: string; key: string; acmeDirectory: string; acmeCa: string; storePrefix?: string };
  /** Log events to stderr (DEBUG_EVENTS=1 sets it too). */
  events?: boolean;
}

export async function blotExample(file: 'blot.yaml' | 'blot-tags.yaml', a: BlotAddresses): Promise<EdgeConfig> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const config: any = parseYaml(await readFile(join(ROOT, 'examples', file), 'utf8'));
  config.node.id = a.nodeId;
  config.listen = { http: a.http, ...(a.tls ? { https: a.tls.https } : {}) };
  config.redis.url = a.redisUrl;
  config.admin.listen = a.admin ?? '127.0.0.1:0';
  config.admin.purgeListen = a.purge ?? '127.0.0.1:0';
  config.log = { access: 'off', events: a.events || process.env.DEBUG_EVENTS ? 'stderr' : 'off' };
  config.cache.disk.dir = a.diskDir;
  config.originGroups.app.members[0].url = a.appUrl;
  Object.assign(config.originGroups.assets.members[0], { endpoint: a.bucketEndpoint, credentials: S3_KEY, region: 'us-east-1' });
  config.originGroups.assets.members[1].url = a.appUrl;
  if (a.tls) {
    Object.assign(config.tls.certificates[0], { cert: a.tls.cert, key: a.tls.key });
    Object.assign(config.tls.acme, { directory: a.tls.acmeDirectory, ca: a.tls.acmeCa });
    if (a.tls.storePrefix) config.tls.store.prefix = a.tls.storePrefix;
  } else {
    delete config.tls;
  }
  return validateConfig(config, `examples/${file} (test servers)`);
}
