// The identity of an asset: a blog id and a path inside the blog, both in one canonical form, so the
// manifest key, the folder on disk and the URL agree whatever spelling a template or a sync job used.
// Both become path segments on the CDN and on disk, so anything that could point elsewhere (a slash
// in an id, `..`, a NUL, a backslash) is refused with an AssetError rather than repaired.
import { AssetError, quote } from './asset-error.js';

const PLATFORM_ID = /^blog_[0-9a-f]{32}$/;
const PLATFORM_ID_ANY_CASE = /^blog_[0-9a-f]{32}$/i;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** In UTF-8 bytes. S3's key limit is 1,024 bytes: a longer path could never be mirrored to a bucket. */
export const MAX_PATH_LENGTH = 1024;

// C0 controls and DEL: a tab or newline would break the manifest's line format and has no business
// in a URL; a backslash is a separator on Windows and some servers, so it could climb out.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// The common case — ASCII letters, digits and `-._~/` without dot segments — skips the slow path.
const SIMPLE = /^\/?(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*\/)*[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;

export interface AssetKey {
  blogID: string;
  path: string;
}

/** Both halves of an asset's identity in canonical form; throws AssetError on either. */
export function assetKey(blogID: unknown, path: unknown): AssetKey {
  return { blogID: normaliseBlogID(blogID), path: normaliseAssetPath(path) };
}

/**
 * The canonical form of a blog id, or an `AssetError('invalid_blog_id')`.
 *
 * Case: a GUID is case-insensitive by definition (RFC 9562 §4), so an upper-case GUID names the same
 * blog and is lower-cased — one folder and one URL per blog, whatever the caller's spelling. A
 * `blog_` id is created lower-case by the platform and is a case-sensitive Redis key there, so an
 * upper-case one is refused rather than silently aliased.
 */
export function normaliseBlogID(id: unknown): string {
  if (typeof id === 'string') {
    if (PLATFORM_ID.test(id)) return id;
    if (GUID.test(id)) return id.toLowerCase();
    if (PLATFORM_ID_ANY_CASE.test(id)) {
      throw new AssetError('invalid_blog_id', `blog id ${quote(id)} must be lower-case, as the platform creates it: ${quote('blog_' + id.slice(5).toLowerCase())}`);
    }
  }
  throw new AssetError('invalid_blog_id', `blog id ${quote(id)} is neither blog_ + 32 lower-case hex digits nor a GUID (8-4-4-4-12 hex digits)`);
}

/** True when `id` is a blog id already in canonical form (the form folder names and URLs use). */
export function isBlogID(id: string): boolean {
  return PLATFORM_ID.test(id) || (GUID.test(id) && id === id.toLowerCase());
}

/**
 * The canonical form of a path inside a blog: a file path as it is on disk (not a URL — `%20` is
 * three characters, `?` is part of the name), without the leading slash, `.` segments and repeated
 * slashes removed, in Unicode NFC. Throws AssetError('invalid_path') for an empty path, a `..`
 * segment, a trailing slash (a folder, not a file), control characters, a backslash or more than
 * MAX_PATH_LENGTH bytes.
 *
 * NFC because folders synced from macOS spell `é` decomposed (NFD) while a template typed in a
 * browser spells it composed: both must find the same manifest entry.
 */
export function normaliseAssetPath(path: unknown): string {
  if (typeof path !== 'string') throw new AssetError('invalid_path', `asset path must be a string, not ${quote(path)}`);
  // Segments in SIMPLE never start with a dot, so `.` and `..` cannot match it.
  if (path.length <= MAX_PATH_LENGTH && SIMPLE.test(path)) return path.charCodeAt(0) === 47 ? path.slice(1) : path;

  if (FORBIDDEN.test(path)) throw new AssetError('invalid_path', `asset path ${quote(path)} contains a control character or a backslash`);
  if (LONE_SURROGATE.test(path)) throw new AssetError('invalid_path', `asset path ${quote(path)} is not valid Unicode (a lone surrogate)`);
  const nfc = path.normalize('NFC');
  if (nfc.endsWith('/')) throw new AssetError('invalid_path', `asset path ${quote(path)} ends with a slash: it names a folder, not a file`);
  const segments: string[] = [];
  for (const segment of nfc.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') throw new AssetError('invalid_path', `asset path ${quote(path)} has a ".." segment; paths are relative to the blog's root and cannot climb out of it`);
    segments.push(segment);
  }
  if (segments.length === 0) throw new AssetError('invalid_path', `asset path ${quote(path)} is empty`);
  const canonical = segments.join('/');
  const bytes = Buffer.byteLength(canonical);
  if (bytes > MAX_PATH_LENGTH) throw new AssetError('invalid_path', `asset path is ${bytes} bytes long in UTF-8; at most ${MAX_PATH_LENGTH} are allowed`);
  return canonical;
}

// RFC 3986 unreserved characters stay as they are; everything else is %-encoded as UTF-8. Unlike
// encodeURIComponent alone, `!'()*` are encoded too: `'` would end a single-quoted HTML attribute
// and `(` `)` an unquoted CSS url(), and a template drops these URLs into both without escaping.
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A canonical path as a URL path (no leading slash): each segment %-encoded, slashes kept. */
export function encodeAssetPath(path: string): string {
  if (SIMPLE.test(path)) return path;
  // normaliseAssetPath refused lone surrogates, the one input encodeURIComponent throws on.
  return path.split('/').map(encodeSegment).join('/');
}
