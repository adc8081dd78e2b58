// What a purge names, and the one test of whether an object falls under it. Stores use it to check
// each candidate their index selected (the index holds hashes, the object's metadata is the truth),
// EdgeCache uses it on lookups while a purge is being applied, and the Purger against fetches in
// flight — so all three agree on what "covered by this purge" means.
import { normaliseHost } from '../sites/host.js';
import type { IndexQuery } from './index-select.js';
import type { CacheMeta } from './store.js';

export type PurgeKind = 'url' | 'prefix' | 'host' | 'tag';
export const PURGE_KINDS: readonly PurgeKind[] = ['url', 'prefix', 'host', 'tag'];

export interface PurgeRequest {
  kind: PurgeKind;
  value: string;
  soft?: boolean;
}

/** A purge aimed at one host and, for URL and prefix purges, a path (and query) on it. */
export interface PurgeTarget {
  kind: PurgeKind;
  host?: string;
  /** Path prefix (prefix purge) or path and query (URL purge). */
  path?: string;
  tag?: string;
  soft: boolean;
  /** Epoch ms the purge took effect: objects stored later are not covered. */
  at: number;
}

/** The fields of an object a purge is matched against. */
export type Matchable = Pick<CacheMeta, 'host' | 'primary' | 'path' | 'tags' | 'immutable' | 'storedAt'>;

/** A cache key (`scheme://host/path?query`, maybe a variant suffix) → its host and what follows it. */
export function splitKey(key: string): { host: string; rest: string } {
  const start = key.indexOf('//') + 2;
  const slash = key.indexOf('/', start);
  return { host: key.slice(start, slash), rest: key.slice(slash) };
}

/** `https://Host/p?q`, `host/p` or `/p` (with no host) → host and path. */
function splitUrl(value: string): { host?: string; path: string } {
  const m = /^(?:[a-z][a-z0-9+.-]*:\/\/)?([^/?#]*)([^#]*)/i.exec(value.trim())!;
  const host = m[1] ? normaliseHost(m[1]) : undefined;
  if (m[1] && host === undefined) throw new Error(`not a host: ${JSON.stringify(m[1])}`);
  return { host, path: m[2] || '/' };
}

/** Parses a purge request; throws with a plain sentence when it names nothing purgeable. */
export function purgeTarget(request: PurgeRequest, at: number): PurgeTarget {
  const value = request.value.trim();
  const soft = request.soft === true;
  if (value === '') throw new Error(`an empty ${request.kind} purges nothing`);
  switch (request.kind) {
    case 'host': {
      const host = normaliseHost(value);
      if (host === undefined) throw new Error(`not a host: ${JSON.stringify(value)}`);
      return { kind: 'host', host, soft, at };
    }
    case 'tag':
      return { kind: 'tag', tag: value, soft, at };
    case 'url':
    case 'prefix': {
      const { host, path } = splitUrl(value);
      if (host === undefined) throw new Error(`a ${request.kind} purge needs a host: "https://host/path" or "host/path"`);
      return { kind: request.kind, host, path, soft, at };
    }
  }
}

/** Every variant of one URL, under either scheme: what `EdgeCache.invalidate` removes. */
export function urlTarget(primary: string, at: number): PurgeTarget {
  const { host, rest } = splitKey(primary);
  return { kind: 'url', host, path: rest, soft: false, at };
}

/** Whether the purge covers this object (whatever its age). Host and tag purges skip permanent URLs. */
export function covers(t: PurgeTarget, meta: Matchable): boolean {
  switch (t.kind) {
    case 'host':
      return meta.host === t.host && !meta.immutable;
    case 'tag':
      return meta.tags.includes(t.tag!) && !meta.immutable;
    case 'url':
      return meta.host === t.host && splitKey(meta.primary).rest === t.path;
    case 'prefix':
      return meta.host === t.host && splitKey(meta.primary).rest.startsWith(t.path!);
  }
}

/** Whether the purge applies to this stored object: covered, and stored no later than the purge. */
export function appliesTo(t: PurgeTarget, meta: Matchable): boolean {
  return meta.storedAt <= t.at && covers(t, meta);
}

/** Whether a cache key (before its response's headers are known) falls under a host, prefix or URL purge. */
export function coversKey(t: PurgeTarget, key: string): boolean {
  const { host, rest } = splitKey(key);
  if (host !== t.host) return false;
  if (t.kind === 'host') return true;
  if (t.kind === 'prefix') return rest.startsWith(t.path!.split('?')[0]!);
  // A URL purge: the URL itself, or one of its variants (`\n` starts a secondary key).
  return rest === t.path || rest.startsWith(`${t.path}\n`);
}

/** The index query that finds the purge's candidates. */
export function indexQuery(t: PurgeTarget): IndexQuery {
  switch (t.kind) {
    case 'url':
      return { kind: 'url', primaries: ['http', 'https'].map((scheme) => `${scheme}://${t.host}${t.path}`) };
    case 'host':
      return { kind: 'host', host: t.host!, skipImmutable: true };
    case 'tag':
      return { kind: 'tag', tag: t.tag!, skipImmutable: true };
    case 'prefix':
      return { kind: 'prefix', host: t.host!, path: t.path! };
  }
}

/**
 * A soft-purged object: stale from `at`, but still allowed to be served while a refresh runs or
 * while the origin is down, for as long as it would have stayed fresh (must-revalidate still wins).
 */
export function markedStale(meta: CacheMeta, at: number): CacheMeta {
  const remaining = Math.max(0, meta.freshUntil - at);
  return {
    ...meta,
    freshUntil: Math.min(meta.freshUntil, at),
    staleWhileRevalidateMs: meta.mustRevalidate ? 0 : Math.max(meta.staleWhileRevalidateMs, remaining),
    staleIfErrorMs: meta.mustRevalidate ? 0 : Math.max(meta.staleIfErrorMs, remaining),
  };
}

/** A soft purge has nothing to do for an object that is already stale with no grace left. */
export function alreadyStale(meta: CacheMeta, at: number): boolean {
  return meta.freshUntil <= at && meta.staleIfErrorMs === 0;
}
