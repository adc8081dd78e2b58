// The manifest: which version (cacheID) of each (blog, path) is current. Lookups are synchronous and
// in memory, because asset URLs are built while a template renders; changes are asynchronous and go
// through a backend (FileManifest, RedisManifest) that persists them and shares them between
// processes. This base class holds the in-memory side and the batching shared by every backend.
import { assetKey, normaliseBlogID } from './asset-key.js';
import { AssetError } from './asset-error.js';
import { assertCacheID, cacheIdOfContent, type Content } from './cache-id.js';

/** One change: set a path's cacheID, remove a path (`cacheID: null`), or a whole blog (`path: null`). */
export interface ManifestChange {
  blogID: string;
  path: string | null;
  cacheID: string | null;
}

/** Called after changes are visible to lookups: a blog id, or null when everything was reloaded. */
export type ManifestListener = (blogID: string | null) => void;

/**
 * A blog's entries as a backend loaded them, decoded only when the blog is first looked up: a
 * snapshot line's tail (`path\tcacheID\t…` bytes) or a flat [path, cacheID, …] array. Loading tens of
 * thousands of blogs then costs a read, not a million Map insertions (most blogs are never rendered
 * by a given process).
 */
export type RawBlog = Buffer | string[];
export type Blog = Map<string, string>;

interface Queued {
  changes: ManifestChange[];
  resolve(): void;
  reject(err: unknown): void;
}

/** Changes handed to a backend in one write at most; many parallel updates become one write. */
const MAX_BATCH = 10_000;

export abstract class Manifest {
  private blogs = new Map<string, Blog | RawBlog>();
  private readonly listeners = new Set<ManifestListener>();
  private queue: Queued[] = [];
  private flushing = false;
  protected closed = false;

  /** The cacheID of a canonical (blogID, path) — see assetKey() — or undefined. No I/O. */
  lookup(blogID: string, path: string): string | undefined {
    return this.blog(blogID)?.get(path);
  }

  /** The cacheID of any spelling of (blogID, path); throws AssetError for an invalid one. */
  get(blogID: string, path: string): string | undefined {
    const key = assetKey(blogID, path);
    return this.lookup(key.blogID, key.path);
  }

  /** A blog's entries (path → cacheID), or undefined for a blog with none. */
  entries(blogID: string): ReadonlyMap<string, string> | undefined {
    return this.blog(normaliseBlogID(blogID));
  }

  /** Every blog with at least one entry. */
  blogIDs(): string[] {
    return [...this.blogs.keys()];
  }

  get blogCount(): number {
    return this.blogs.size;
  }

  /** Hashes the content (bytes, or a file streamed), records it as the path's current version, and
   *  resolves with its cacheID once the change is persisted and visible to lookups. */
  async update(blogID: string, path: string, content: Content): Promise<string> {
    const key = assetKey(blogID, path);
    const cacheID = await cacheIdOfContent(content);
    await this.apply([{ ...key, cacheID }]);
    return cacheID;
  }

  /** Records a cacheID computed elsewhere (publish() hashes while it copies). */
  set(blogID: string, path: string, cacheID: string): Promise<void> {
    return this.apply([{ blogID, path, cacheID }]);
  }

  remove(blogID: string, path: string): Promise<void> {
    return this.apply([{ blogID, path, cacheID: null }]);
  }

  removeBlog(blogID: string): Promise<void> {
    return this.apply([{ blogID, path: null, cacheID: null }]);
  }

  /**
   * Applies changes in order (each is checked and put in canonical form first; an invalid one
   * rejects the whole call). Changes from concurrent calls are batched into one backend write, in
   * call order; the promise resolves when this call's changes are persisted and visible.
   */
  async apply(changes: ManifestChange[]): Promise<void> {
    if (this.closed) throw new AssetError('manifest_unavailable', 'the manifest is closed');
    const canonical = changes.map(canonicalChange);
    if (canonical.length === 0) return;
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ changes: canonical, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Called after each change becomes visible; returns a function that unsubscribes. */
  onChange(listener: ManifestListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Picks up changes other processes made, when the backend cannot be told about them. */
  async refresh(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Writes changes durably, in order, then makes them visible (applyChanges) in the order the
   *  shared storage holds them — so every process converges on the same state. */
  protected abstract persist(changes: ManifestChange[]): Promise<void>;

  /** Makes changes visible to lookups and tells listeners. */
  protected applyChanges(changes: Iterable<ManifestChange>): void {
    for (const blogID of applyToBlogs(this.blogs, changes)) this.notify(blogID);
  }

  /** Replaces everything (a backend's full load or reload). */
  protected replaceAll(blogs: Map<string, Blog | RawBlog>): void {
    this.blogs = blogs;
    this.notify(null);
  }

  private blog(blogID: string): Blog | undefined {
    return blogOf(this.blogs, blogID);
  }

  private notify(blogID: string | null): void {
    for (const listener of this.listeners) {
      try {
        listener(blogID);
      } catch {
        // A listener's failure is its own; the change has happened and others must hear of it.
      }
    }
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch: Queued[] = [];
        let size = 0;
        while (this.queue.length > 0 && (batch.length === 0 || size + this.queue[0]!.changes.length <= MAX_BATCH)) {
          const next = this.queue.shift()!;
          batch.push(next);
          size += next.changes.length;
        }
        try {
          await this.persist(batch.flatMap((q) => q.changes));
          for (const q of batch) q.resolve();
        } catch (err) {
          const error = err instanceof AssetError ? err : new AssetError('manifest_unavailable', `the manifest could not be written: ${(err as Error).message}`, { cause: err });
          for (const q of batch) q.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

function canonicalChange(change: ManifestChange): ManifestChange {
  if (change.path === null) {
    if (change.cacheID !== null) throw new TypeError('a whole-blog change (path: null) can only remove (cacheID: null)');
    return { blogID: normaliseBlogID(change.blogID), path: null, cacheID: null };
  }
  const key = assetKey(change.blogID, change.path);
  return { ...key, cacheID: change.cacheID === null ? null : assertCacheID(change.cacheID) };
}

/** A blog's entries from a state map, decoding (and keeping decoded) a raw one. */
export function blogOf(blogs: Map<string, Blog | RawBlog>, blogID: string): Blog | undefined {
  const state = blogs.get(blogID);
  if (state === undefined || state instanceof Map) return state;
  const blog = decodeRawBlog(state);
  blogs.set(blogID, blog);
  return blog;
}

/** Applies changes to a state map in order; returns the blogs they touched. Shared by the
 *  in-memory side and by backends replaying their logs. */
export function applyToBlogs(blogs: Map<string, Blog | RawBlog>, changes: Iterable<ManifestChange>): Set<string> {
  const touched = new Set<string>();
  for (const { blogID, path, cacheID } of changes) {
    touched.add(blogID);
    if (path === null) {
      blogs.delete(blogID);
      continue;
    }
    let blog = blogOf(blogs, blogID);
    if (cacheID === null) {
      blog?.delete(path);
      if (blog?.size === 0) blogs.delete(blogID);
      continue;
    }
    if (!blog) blogs.set(blogID, (blog = new Map()));
    blog.set(path, cacheID);
  }
  return touched;
}

/** Decodes a RawBlog: tab-separated `path\tcacheID` pairs, or a flat array of the same. */
export function decodeRawBlog(raw: RawBlog): Blog {
  const parts = Array.isArray(raw) ? raw : raw.toString('utf8').split('\t');
  const blog: Blog = new Map();
  for (let i = 0; i + 1 < parts.length; i += 2) blog.set(parts[i]!, parts[i + 1]!);
  return blog;
}

/** A manifest kept only in memory: for tests, and for a single process that rebuilds it at start. */
export class MemoryManifest extends Manifest {
  protected override async persist(changes: ManifestChange[]): Promise<void> {
    this.applyChanges(changes);
  }
}
