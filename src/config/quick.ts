// Quick mode: a whole config from a few command-line flags — one catch-all site (any Host is served
// and keyed apart) in front of one origin group whose members are the --origin URLs, in order.
import type { ConfigInput } from './schema.js';

export interface QuickOptions {
  origin: string[];
  listen: string;
  cacheDir?: string;
  /** Admin API listen address (token from BLOTCDN_ADMIN_TOKEN). */
  admin?: string;
  accessLog?: string;
}

export function quickConfig(options: QuickOptions): ConfigInput {
  return {
    listen: { http: options.listen },
    originGroups: { default: { members: options.origin.map((url) => ({ url })) } },
    sites: [{ name: 'default', hosts: ['*'], originGroup: 'default' }],
    ...(options.cacheDir ? { cache: { disk: { dir: options.cacheDir } } } : {}),
    ...(options.admin ? { admin: { listen: options.admin } } : {}),
    ...(options.accessLog ? { log: { access: options.accessLog } } : {}),
  };
}
