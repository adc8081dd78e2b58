// Builds the origin groups a config declares. A member's URL scheme picks its kind; every group is
// an OriginGroup even with one member, so failover and health memory work the same everywhere.
import type { EdgeConfig, OriginMemberConfig } from '../config/schema.js';
import { HttpOrigin } from './http-origin.js';
import type { Origin } from './origin.js';
import { OriginGroup } from './origin-group.js';

export function buildMember(config: OriginMemberConfig): Origin {
  switch (config.url.protocol) {
    case 'http:':
    case 'https:':
      return new HttpOrigin(config);
    default:
      throw new Error(`unsupported origin scheme ${config.url.protocol}`);
  }
}

export function buildOriginGroups(config: EdgeConfig): Map<string, OriginGroup> {
  const groups = new Map<string, OriginGroup>();
  for (const [name, group] of Object.entries(config.originGroups)) {
    groups.set(name, new OriginGroup(name, group.members.map(buildMember), { failoverOn: group.failoverOn, breaker: group.breaker }));
  }
  return groups;
}
