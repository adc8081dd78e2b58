// Quick mode: a whole config from a few command-line flags — one catch-all site (any Host is served
// and keyed apart) in front of one origin group whose members are the --origin URLs, in order.
import { join } from 'node:path';
import type { ConfigInput } from './schema.js';

export interface QuickOptions {
  origin: string[];
  listen: string;
  cacheDir?: string;
  /** Admin API listen address (token from BLOTCDN_ADMIN_TOKEN). */
  admin?: string;
  accessLog?: string;
  /** HTTPS listen address; certificates on demand for allowHost names. */
  https?: string;
  acmeDirectory?: string;
  acmeEmail?: string;
  allowHost?: string[];
  /** Where certificates are kept (default: .blotcdn/certs). */
  certDir?: string;
  /** Cluster mode: the Redis every node shares (redis.url). */
  redis?: string;
}

export function quickConfig(options: QuickOptions): ConfigInput {
  const tls = options.https
    ? {
        tls: {
          store: { dir: options.certDir ?? join(options.cacheDir ?? '.blotcdn', 'certs') },
          allowHosts: options.allowHost ?? [],
          ...(options.acmeDirectory ? { acme: { directory: options.acmeDirectory, ...(options.acmeEmail ? { email: options.acmeEmail } : {}) } } : {}),
        },
      }
    : {};
  return {
    ...tls,
    listen: { http: options.listen, ...(options.https ? { https: options.https } : {}) },
    originGroups: { default: { members: options.origin.map((url) => ({ url })) } },
    sites: [{ name: 'default', hosts: ['*'], originGroup: 'default' }],
    ...(options.cacheDir ? { cache: { disk: { dir: options.cacheDir } } } : {}),
    ...(options.admin ? { admin: { listen: options.admin } } : {}),
    ...(options.accessLog ? { log: { access: options.accessLog } } : {}),
    ...(options.redis ? { redis: { url: options.redis } } : {}),
  };
}
