// Turns the path of a request into the name of a file or an object key, refusing anything that
// could name something other than what it seems to: `.` and `..` segments (raw or encoded, even as
// `%2e%2e`), NUL bytes, broken percent-encoding and, for files, encoded slashes and backslashes.
// FolderOrigin (a file under a root) and S3Origin (a key under a prefix) share it, so both refuse
// the same tricks the same way; the rules differ only where a file name and a key really differ.

export type DecodedPath =
  | { ok: true; segments: string[]; trailingSlash: boolean }
  /** 400: malformed or an attempt to leave the root; 404: cannot exist there (too long). */
  | { ok: false; status: 400 | 404; reason: string };

export interface PathRules {
  /** Longest decoded path in UTF-8 bytes; longer ones are answered 404 (nothing that long is kept). */
  maxBytes: number;
  /** Longest single segment in UTF-8 bytes (Linux's NAME_MAX is 255); longer ones are 404 too. */
  maxSegmentBytes: number;
  /** `%2F` inside a segment: refused for files (it can only hide a slash from a check), split for keys. */
  allowEncodedSlash: boolean;
  /** `\` raw or as `%5C`: refused for files (a separator to some tools), literal in keys. */
  allowBackslash: boolean;
  /** Empty segments (`a//b`): merged away for files, as nginx does; kept for keys, which are literal. */
  keepEmptySegments: boolean;
}

export const FILE_PATH_RULES: PathRules = {
  maxBytes: 1024,
  maxSegmentBytes: 255,
  allowEncodedSlash: false,
  allowBackslash: false,
  keepEmptySegments: false,
};

/** S3's own limits: a key is at most 1024 bytes; a "segment" has no limit of its own. */
export const KEY_PATH_RULES: PathRules = {
  maxBytes: 1024,
  maxSegmentBytes: 1024,
  allowEncodedSlash: true,
  allowBackslash: true,
  keepEmptySegments: true,
};

const refuse = (reason: string): DecodedPath => ({ ok: false, status: 400, reason });
const tooLong: DecodedPath = { ok: false, status: 404, reason: 'path too long' };

/**
 * Decodes `rawPath` (the path of the request target as received, with or without its query) into
 * segments. A leading `/` is required; a query is ignored.
 */
export function decodeRequestPath(rawPath: string, rules: PathRules): DecodedPath {
  const q = rawPath.indexOf('?');
  const path = q < 0 ? rawPath : rawPath.slice(0, q);
  if (path.charCodeAt(0) !== 47 /* / */) return refuse('path must start with /');
  // Every byte can take at most three characters encoded: a cheap bound before any decoding.
  if (path.length > rules.maxBytes * 3 + 1) return tooLong;
  if (path.includes('\0')) return refuse('NUL byte in path');
  const rawSegments = path.slice(1).split('/');
  const segments: string[] = [];
  let bytes = 0;
  for (const raw of rawSegments) {
    let decoded: string;
    try {
      decoded = raw.includes('%') ? decodeURIComponent(raw) : raw;
    } catch {
      return refuse('invalid percent-encoding');
    }
    // Checked after decoding so that `%00`, `%5C` and `%2F` cannot slip past as plain text.
    if (decoded.includes('\0')) return refuse('NUL byte in path');
    if (!rules.allowBackslash && decoded.includes('\\')) return refuse('backslash in path');
    let parts: string[];
    if (decoded.includes('/')) {
      if (!rules.allowEncodedSlash) return refuse('encoded slash in path');
      parts = decoded.split('/');
    } else parts = [decoded];
    for (const part of parts) {
      if (part === '.' || part === '..') return refuse('dot segment in path');
      const size = Buffer.byteLength(part);
      if (size > rules.maxSegmentBytes) return tooLong;
      bytes += size + 1;
      if (part === '' && !rules.keepEmptySegments) continue;
      segments.push(part);
    }
  }
  if (bytes - 1 > rules.maxBytes) return tooLong;
  return { ok: true, segments, trailingSlash: path.endsWith('/') };
}
