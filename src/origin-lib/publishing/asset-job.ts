// One asset job: a new file of a blog, published as a permanent version, and for an image its
// thumbnails — `_thumbnails/{path}/{size}.{ext}` beside it in the same content-addressed layout and
// manifest (publish.ts), so `assetUrl(blogID, '_thumbnails/photo.jpg/small.webp')` is permanent too.
// A file that is gone, or an image that cannot be decoded, fails the job for good: no retry helps.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { AssetError, quote } from '../asset-error.js';
import { publish, type AssetStore } from '../publish.js';
import type { AssetJobData } from './publisher.js';
import { EXTENSIONS, renderThumbnails, type RenderOptions, type ThumbnailFormat } from './thumbnails.js';

export interface AssetJobOptions extends AssetStore, RenderOptions {}

export interface GeneratedFile {
  /** The path in the manifest (`_thumbnails/photo.jpg/small.webp`). */
  path: string;
  /** The version's file on disk. */
  file: string;
  cacheID: string;
  size: string;
  format: ThumbnailFormat;
  width: number;
  height: number;
  bytes: number;
}

export interface AssetJobResult {
  path: string;
  cacheID: string;
  /** The source image, for images. */
  image?: { format: string; width: number; height: number };
  files: GeneratedFile[];
}

/** Extensions treated as images (others are published as they are, without thumbnails). */
const IMAGE = new Set(['.jpg', '.jpeg', '.png', '.gif', '.webp', '.avif', '.svg', '.tif', '.tiff', '.heic', '.heif']);

export async function runAssetJob(data: AssetJobData, options: AssetJobOptions): Promise<AssetJobResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(data.file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR') {
      throw new AssetError('source_missing', `the file of ${quote(data.path)} is gone (${data.file}); publish again once it exists`, { cause: err, permanent: true });
    }
    throw err;
  }
  // Rendered before anything is published: an image that cannot be decoded leaves no trace.
  const rendered = IMAGE.has(extname(data.path).toLowerCase()) ? await renderThumbnails(bytes, data.path, options) : undefined;
  const store = { root: options.root, manifest: options.manifest };
  const [original, ...thumbs] = await Promise.all([
    publish(store, data.blogID, data.path, bytes),
    ...(rendered?.files ?? []).map((f) => publish(store, data.blogID, thumbnailPath(data.path, f.size, f.format), f.bytes)),
  ]);
  return {
    path: data.path,
    cacheID: original!.cacheID,
    ...(rendered ? { image: { format: rendered.format, width: rendered.width, height: rendered.height } } : {}),
    files: (rendered?.files ?? []).map((f, i) => ({
      path: thumbnailPath(data.path, f.size, f.format),
      file: thumbs[i]!.file,
      cacheID: thumbs[i]!.cacheID,
      size: f.size,
      format: f.format,
      width: f.width,
      height: f.height,
      bytes: f.bytes.length,
    })),
  };
}

/** Where a thumbnail of `path` lives in the manifest: `_thumbnails/{path}/{size}.{ext}`. */
export function thumbnailPath(path: string, size: string, format: ThumbnailFormat): string {
  return `_thumbnails/${path}/${size}.${EXTENSIONS[format]}`;
}
