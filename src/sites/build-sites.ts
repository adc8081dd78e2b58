// Sites and their behaviors from a config, with origin group names resolved to the groups.
import type { EdgeConfig } from '../config/schema.js';
import type { Origin } from '../origins/origin.js';
import { buildSite, type Site } from './site-table.js';

export function buildSites(config: EdgeConfig, groups: ReadonlyMap<string, Origin>): Site[] {
  const group = (name: string) => groups.get(name)!;
  const grace = config.cache.grace;
  return config.sites.map((s, i) =>
    buildSite(
      s.name ?? `site${i}`,
      s.hosts,
      group(s.originGroup),
      s.behaviors.map((b) => ({
        path: b.path,
        origin: group(b.originGroup ?? s.originGroup),
        ttl: b.ttl,
        query: b.query,
        bypass: b.bypass,
        grace: b.grace ?? grace,
        immutable: b.immutable,
        verifyCacheId: b.verifyCacheId,
        clientCacheControl: b.clientCacheControl,
        setCookie: b.setCookie,
      })),
      { grace, domainList: s.domainList, redirectToHttps: s.redirectToHttps },
    ),
  );
}
