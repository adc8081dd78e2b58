// The call the origin app makes when a blogger publishes: `publisher.publish(post)` checks the post,
// works out what the CDN must purge and warm, and queues it all as one flow — an asset job per image
// (thumbnails, web formats) and a publish job that runs once they have finished (purge, then warm).
// It returns as soon as the flow is durably queued: no image is read and no edge is called here.
import { AssetError, quote } from '../asset-error.js';
import { normaliseAssetPath, normaliseBlogID } from '../asset-key.js';
import type { JobQueue } from '../jobs/job-queue.js';

export interface Post {
  blogID: string;
  /** Every host the blog answers on (`example.blot.im`, `www.example.com`…). */
  hosts: string[];
  changed: {
    /** Pages created or changed, as paths (`/2024/06/hello`); the index page is always included. */
    pages?: string[];
    /** Files of the blog that are new or changed: their path in the blog and where to read them
     *  (the file must stay there until its job ran). Images get thumbnails and web formats. */
    assets?: { path: string; file: string }[];
    /** Tags whose tag pages changed. */
    tags?: string[];
  };
}

export interface PublisherOptions {
  queue: JobQueue;
  /** Scheme readers use (cache keys include it). Default https. */
  scheme?: 'https' | 'http';
  /** Feeds warmed with every publish. Default `/feed.rss` (Blot's). */
  feeds?: string[];
  /** A tag's page. Default `/tagged/{tag}` (Blot's), lower-cased and URL-encoded. */
  tagPath?: (tag: string) => string;
  /** What else may go stale: the blog's hosts (default), its Surrogate-Key tags, or nothing. The
   *  pages warmed are purged hard; everything else the blog has cached is purged soft (served
   *  while it is fetched again), so pages that list the new post catch up without a cold cache. */
  softPurge?: 'hosts' | false | ((post: Post) => { tag: string[] });
  attempts?: { asset?: number; publish?: number };
}

/** What an asset job carries. */
export interface AssetJobData {
  blogID: string;
  path: string;
  file: string;
}

/** What a publish job carries: the post, and what it does to the CDN once the assets exist. */
export interface PublishJobData {
  blogID: string;
  hosts: string[];
  pages: string[];
  tags: string[];
  assets: string[];
  /** Purged hard on every edge, then warmed through every edge. */
  urls: string[];
  /** Purged soft on every edge first. */
  soft: { host?: string[]; tag?: string[] };
}

export interface Published {
  /** The publish job (purge and warm); its status says when the post is fully out. */
  id: string;
  /** One job per asset, in the order given. */
  assets: string[];
}

export interface Publisher {
  publish(post: Post): Promise<Published>;
}

const HOST = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*(:\d{1,5})?$/;
const MAX_ITEMS = 10_000;

export function createPublisher(options: PublisherOptions): Publisher {
  const scheme = options.scheme ?? 'https';
  const feeds = (options.feeds ?? ['/feed.rss']).map((p) => pagePath(p, 'feeds'));
  const tagPath = options.tagPath ?? ((tag: string) => `/tagged/${encodeURIComponent(tag.toLowerCase())}`);
  const softPurge = options.softPurge ?? 'hosts';

  return {
    async publish(post) {
      const data = publishJobData(post, { scheme, feeds, tagPath, softPurge });
      const assets = (post.changed.assets ?? []).map((a, i) => ({
        name: 'asset',
        data: { blogID: data.blogID, path: data.assets[i]!, file: a.file } satisfies AssetJobData,
        opts: { attempts: options.attempts?.asset ?? 3 },
      }));
      const flow = await options.queue.addFlow({ name: 'publish', data, opts: { attempts: options.attempts?.publish ?? 5 } }, assets);
      return { id: flow.id, assets: flow.children };
    },
  };
}

/** Checks a post and derives what its publish job does; throws AssetError('invalid_post') naming the field. */
export function publishJobData(
  post: Post,
  o: { scheme: string; feeds: string[]; tagPath: (tag: string) => string; softPurge: PublisherOptions['softPurge'] },
): PublishJobData {
  if (typeof post !== 'object' || post === null) throw invalid('post', post, 'an object { blogID, hosts, changed }');
  const blogID = normaliseBlogID(post.blogID);
  const hosts = list(post.hosts, 'hosts').map((h, i) => {
    const host = typeof h === 'string' ? h.trim().toLowerCase().replace(/\.$/, '') : '';
    if (!HOST.test(host)) throw invalid(`hosts[${i}]`, h, 'a host name such as "example.blot.im"');
    return host;
  });
  if (hosts.length === 0) throw invalid('hosts', post.hosts, 'at least one host');
  const changed = post.changed ?? {};
  const pages = list(changed.pages ?? [], 'changed.pages').map((p, i) => pagePath(p, `changed.pages[${i}]`));
  const tags = list(changed.tags ?? [], 'changed.tags').map((t, i) => {
    if (typeof t !== 'string' || t.trim() === '') throw invalid(`changed.tags[${i}]`, t, 'a non-empty tag');
    return t.trim();
  });
  const assets = list(changed.assets ?? [], 'changed.assets').map((a, i) => {
    if (typeof a !== 'object' || a === null || typeof a.file !== 'string' || !a.file.startsWith('/')) {
      throw invalid(`changed.assets[${i}]`, a, '{ path, file } with file an absolute path');
    }
    try {
      return normaliseAssetPath(a.path);
    } catch (err) {
      throw new AssetError('invalid_post', `changed.assets[${i}].path: ${(err as Error).message}`, { cause: err });
    }
  });
  const paths = [...new Set(['/', ...pages, ...o.feeds, ...tags.map((t) => pagePath(o.tagPath(t), `the page of tag ${quote(t)}`))])];
  const urls = hosts.flatMap((host) => paths.map((path) => `${o.scheme}://${host}${path}`));
  const soft = o.softPurge === 'hosts' ? { host: hosts } : o.softPurge === false ? {} : o.softPurge!(post);
  return { blogID, hosts, pages, tags, assets, urls, soft };
}

function list(value: unknown, field: string): any[] {
  if (!Array.isArray(value)) throw invalid(field, value, 'a list');
  if (value.length > MAX_ITEMS) throw invalid(field, `${value.length} items`, `at most ${MAX_ITEMS}`);
  return value;
}

function pagePath(value: unknown, field: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || /[\s#]/.test(value) || value.length > 2048) {
    throw invalid(field, value, 'a path starting with / (no scheme, host, spaces or #)');
  }
  return value;
}

function invalid(field: string, value: unknown, expected: string): AssetError {
  return new AssetError('invalid_post', `${field}: ${quote(value)} is not ${expected}`);
}
