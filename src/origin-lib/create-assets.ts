// What templates call: permanent asset URLs built synchronously from the in-memory manifest, and
// the template-engine glue around them. A URL is memoised per (blog, path as written), so a page
// that names the same asset a thousand times costs a thousand Map lookups — and the memo of a
// blog is dropped whenever the manifest says the blog changed.
import { AssetError, quote } from './asset-error.js';
import { encodeAssetPath, normaliseAssetPath, normaliseBlogID } from './asset-key.js';
import { CACHE_ID_PATTERN } from './cache-id.js';
import type { Manifest } from './manifest.js';

/**
 * What an asset missing from the manifest becomes.
 * - 'fallback' (default): `https://{cdnHost}/{blogID}/{path}` — the file's mutable address, which
 *   the CDN routes like any `/blog_*` path (bucket, then the app) and never treats as immutable
 *   (there is no cacheID in it). A template author's typo, or a file whose sync has not reached
 *   this server yet, then costs one broken or uncached asset — not a page that fails to render.
 * - 'throw': an AssetError('unknown_asset') — for tests, previews and build steps.
 * - a function: your own fallback URL (the blog's own host, say).
 */
export type MissingAsset = 'fallback' | 'throw' | ((blogID: string, path: string) => string);

export interface AssetsOptions {
  /** The CDN host, e.g. `cdn.blot.im` (or `https://cdn.blot.im`; any other scheme is refused). */
  cdnHost: string;
  manifest: Manifest;
  missing?: MissingAsset;
  /** Told about every lookup that missed (to log or count them); the result is `missing`'s. */
  onMissing?: (blogID: string, path: string) => void;
  /** Memoised URLs kept at most (all blogs together); the memo is emptied when it is full. */
  memoLimit?: number;
}

/** A Mustache lambda: `{{#asset}}/style.css{{/asset}}`. Mustache calls the outer function to get
 *  the section function, which receives the section's raw text and a render function. */
export type MustacheLambda = () => (text: string, render: (template: string) => string) => string;

export interface Assets {
  /** `https://{cdnHost}/{blogID}/{cacheID}/{path}`: synchronous, no I/O, no hashing. Throws
   *  AssetError for an invalid blog id or path; see `missing` for a path not in the manifest. */
  assetUrl(blogID: string, path: string): string;
  /** A one-blog function `(path) => url`, for Handlebars helpers, EJS locals, JSX and the like. */
  helper(blogID: string): (path: string) => string;
  /** The value to put in a Mustache view as `asset`, bound to one blog (see mustacheLambda()). */
  mustacheLambda(blogID: string): MustacheLambda;
  /** Stops following the manifest's changes. */
  close(): void;
}

/**
 * Builds the URL functions for one CDN host over one manifest. Create it once per process (it
 * follows the manifest's changes until close()), then hand `helper(blogID)` or
 * `mustacheLambda(blogID)` to each render.
 */
export function createAssets(options: AssetsOptions): Assets {
  const host = normaliseCdnHost(options.cdnHost);
  const origin = `https://${host}/`;
  const { manifest, onMissing } = options;
  const missing = options.missing ?? 'fallback';
  const memoLimit = options.memoLimit ?? 500_000;
  const memo = new Map<string, Map<string, string>>();
  let memoSize = 0;

  const unsubscribe = manifest.onChange((blogID) => {
    if (blogID === null) {
      memo.clear();
      memoSize = 0;
    } else {
      memoSize -= memo.get(blogID)?.size ?? 0;
      memo.delete(blogID);
    }
  });

  function missed(blogID: string, path: string): string {
    onMissing?.(blogID, path);
    if (typeof missing === 'function') return missing(blogID, path);
    // A path whose first segment looks like a cacheID would make the fallback look permanent.
    if (missing === 'throw' || CACHE_ID_PATTERN.test(path.split('/', 1)[0]!)) {
      throw new AssetError('unknown_asset', `${quote(path)} is not in the manifest of ${blogID}: publish it (or update the manifest) before linking to it`);
    }
    return origin + blogID + '/' + encodeAssetPath(path);
  }

  function slowAssetUrl(blogID: string, path: string): string {
    const canonicalBlog = normaliseBlogID(blogID);
    const canonicalPath = normaliseAssetPath(path);
    const cacheID = manifest.lookup(canonicalBlog, canonicalPath);
    if (cacheID === undefined) return missed(canonicalBlog, canonicalPath);
    const url = origin + canonicalBlog + '/' + cacheID + '/' + encodeAssetPath(canonicalPath);
    // Only canonical blog ids are memoised: the manifest's change events name those.
    if (canonicalBlog === blogID) {
      if (memoSize >= memoLimit) {
        memo.clear();
        memoSize = 0;
      }
      let blog = memo.get(blogID);
      if (!blog) memo.set(blogID, (blog = new Map()));
      blog.set(path, url);
      memoSize++;
    }
    return url;
  }

  function assetUrl(blogID: string, path: string): string {
    const url = memo.get(blogID)?.get(path);
    return url !== undefined ? url : slowAssetUrl(blogID, path);
  }

  return {
    assetUrl,
    helper(blogID) {
      const canonical = normaliseBlogID(blogID);
      return (path) => assetUrl(canonical, path);
    },
    // Bound to one blog rather than reading `this.blogID`: Mustache calls a lambda with the
    // innermost section's object as `this`, so inside {{#posts}} the view's blogID is out of reach.
    mustacheLambda(blogID) {
      const canonical = normaliseBlogID(blogID);
      // The section's text is rendered first, so {{#asset}}{{post.image}}{{/asset}} works; as
      // {{…}} HTML-escapes (`/` becomes `&#x2F;`), Mustache's escapes are undone before the lookup.
      // The URL is returned as is, which is safe in HTML: it holds only [A-Za-z0-9-._~%/:].
      const section = (text: string, render: (template: string) => string) => assetUrl(canonical, unescapeMustache(render(text).trim()));
      return () => section;
    },
    close: unsubscribe,
  };
}

// Exactly the entities Mustache.escape produces (mustache.js entityMap).
const MUSTACHE_ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x2F;': '/', '&#x60;': '`', '&#x3D;': '=' };

function unescapeMustache(text: string): string {
  return text.includes('&') ? text.replace(/&(?:amp|lt|gt|quot|#39|#x2F|#x60|#x3D);/g, (e) => MUSTACHE_ENTITIES[e]!) : text;
}

/** `cdn.blot.im`, `cdn.blot.im:8443` or `https://cdn.blot.im` → the host (lower-cased). */
export function normaliseCdnHost(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new AssetError('invalid_cdn_host', `cdnHost must be a host name such as "cdn.blot.im", not ${quote(value)}`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'https') {
    throw new AssetError('invalid_cdn_host', `cdnHost ${quote(value)}: asset URLs are always https (an http or protocol-less URL breaks feed readers and mixed-content pages)`);
  }
  if (value.startsWith('//')) throw new AssetError('invalid_cdn_host', `cdnHost ${quote(value)} is protocol-less: give the host alone, asset URLs are always https`);
  let url: URL;
  try {
    url = new URL(scheme ? value : `https://${value}`);
  } catch {
    throw new AssetError('invalid_cdn_host', `cdnHost ${quote(value)} is not a host name`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password || url.host === '') {
    throw new AssetError('invalid_cdn_host', `cdnHost ${quote(value)} must be a host (and port) only, without a path, query or credentials`);
  }
  return url.host;
}
