// Builds the origin groups a config declares. A member's URL scheme picks its kind — http(s): a
// server, file: a folder, s3: a bucket — and every group is an OriginGroup even with one member,
// so failover and health memory work the same everywhere.
import { fileURLToPath } from 'node:url';
import { memberName, type EdgeConfig, type OriginMemberConfig } from '../config/schema.js';
import { BLOT_IMMUTABLE_RULES, FolderOrigin } from './folder-origin.js';
import { HttpOrigin } from './http-origin.js';
import type { Origin } from './origin.js';
import { OriginGroup, type OriginGroupOptions } from './origin-group.js';
import { S3Origin } from './s3-origin.js';

export function buildMember(config: OriginMemberConfig): Origin {
  const url = config.url;
  switch (url.protocol) {
    case 'http:':
    case 'https:':
      return new HttpOrigin(config);
    case 'file:':
      return new FolderOrigin({
        name: memberName(config),
        root: fileURLToPath(url),
        index: config.index,
        dotfiles: config.dotfiles,
        cacheControl: config.cacheControl === 'blot' ? BLOT_IMMUTABLE_RULES : config.cacheControl,
        readSize: config.readSize,
      });
    case 's3:':
      return new S3Origin({
        name: memberName(config),
        bucket: url.host,
        keyPrefix: decodeURIComponent(url.pathname.replace(/^\//, '')) + config.pathPrefix.replace(/^\//, ''),
        region: config.region,
        endpoint: config.endpoint,
        pathStyle: config.pathStyle,
        credentials: config.credentials,
        connectTimeout: config.connectTimeout,
        headersTimeout: config.headersTimeout,
        bodyTimeout: config.bodyTimeout,
        connections: config.connections,
        insecure: config.insecure,
      });
    default:
      throw new Error(`unsupported origin scheme ${url.protocol}`);
  }
}

export function buildOriginGroups(config: EdgeConfig, onMemberChange?: OriginGroupOptions['onMemberChange'], scheduler?: OriginGroupOptions['scheduler']): Map<string, OriginGroup> {
  const groups = new Map<string, OriginGroup>();
  for (const [name, group] of Object.entries(config.originGroups)) {
    groups.set(name, new OriginGroup(name, group.members.map(buildMember), { failoverOn: group.failoverOn, breaker: group.breaker, onMemberChange, scheduler }));
  }
  return groups;
}
