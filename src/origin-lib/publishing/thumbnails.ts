// Thumbnails in the platform's sizes, rendered with sharp (libvips, in libuv's thread pool — never
// on the JavaScript thread). A raster image is decoded once into a master no larger than the largest
// size, and each size is cut from it; an SVG is rendered at the density each size needs (a vector
// scales up losslessly). Every size is written in a fallback format (JPEG, or PNG for images with
// transparency, PNGs, GIFs and SVGs) and in each web format that came out smaller than it.
import type { Sharp, SharpOptions } from 'sharp';
import { AssetError, quote } from '../asset-error.js';

export interface ThumbnailSize {
  name: string;
  /** Width in pixels; a raster image narrower than this is not enlarged. */
  width: number;
  /** With a height: a crop of exactly width × height from the middle of the image. */
  height?: number;
}

/** The platform's sizes. */
export const PLATFORM_SIZES: readonly ThumbnailSize[] = [
  { name: 'small', width: 160 },
  { name: 'medium', width: 640 },
  { name: 'large', width: 1200 },
  { name: 'square', width: 160, height: 160 },
];

export type WebFormat = 'webp' | 'avif';
export type ThumbnailFormat = 'jpeg' | 'png' | WebFormat;

export interface Rendered {
  size: string;
  format: ThumbnailFormat;
  width: number;
  height: number;
  bytes: Buffer;
}

export interface RenderOptions {
  sizes?: readonly ThumbnailSize[];
  /** Web formats tried for every size, each kept where smaller than the fallback (default both). */
  formats?: readonly WebFormat[];
}

/** Input limits: about 100 megapixels, and a decode that warns (a truncated file) is a failure. */
const INPUT: SharpOptions = { limitInputPixels: 100_000_000, failOn: 'warning' };
// Speed over the last percent of size: AVIF at effort 2 encodes ~4x faster than its default.
const ENCODE = {
  jpeg: { quality: 82, progressive: true },
  png: { compressionLevel: 8 },
  webp: { quality: 80 },
  avif: { quality: 50, effort: 2 },
} as const;

export const EXTENSIONS: Record<ThumbnailFormat, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif' };

let sharpModule: Promise<typeof import('sharp')> | undefined;
/** sharp is loaded on first use only, so importing `blotcdn/origin` never loads libvips. */
export function loadSharp(): Promise<typeof import('sharp')> {
  sharpModule ??= import('sharp');
  return sharpModule;
}

/**
 * Renders every size of an image. Throws AssetError('image_decode', permanent) when the bytes are
 * not an image sharp can decode (retrying cannot help); `name` is used in that message.
 */
export async function renderThumbnails(input: Buffer, name: string, options: RenderOptions = {}): Promise<{ format: string; width: number; height: number; files: Rendered[] }> {
  const sharp = (await loadSharp()).default;
  const sizes = options.sizes ?? PLATFORM_SIZES;
  const formats = options.formats ?? ['webp', 'avif'];
  try {
    const meta = await sharp(input, INPUT).metadata();
    if (!meta.width || !meta.height || !meta.format) throw new Error('no dimensions');
    const fallback: ThumbnailFormat = meta.hasAlpha || ['png', 'gif', 'svg'].includes(meta.format) ? 'png' : 'jpeg';
    const pipelines = meta.format === 'svg' ? svgPipelines(sharp, input, meta.width, meta.height, sizes) : await rasterPipelines(sharp, input, sizes);
    const files: Rendered[] = [];
    for (const { size, pipeline } of pipelines) {
      const base = await encode(pipeline.clone(), fallback, size.name);
      files.push(base);
      for (const format of formats) {
        const web = await encode(pipeline.clone(), format, size.name);
        if (web.bytes.length < base.bytes.length) files.push(web);
      }
    }
    const upright = (meta.orientation ?? 1) >= 5;
    return { format: meta.format, width: upright ? meta.height : meta.width, height: upright ? meta.width : meta.height, files };
  } catch (err) {
    if (err instanceof AssetError) throw err;
    throw new AssetError('image_decode', `${quote(name)} cannot be decoded as an image: ${(err as Error).message}`, { cause: err, permanent: true });
  }
}

type SharpFn = typeof import('sharp')['default'];

// Decoded once (and turned upright by its EXIF orientation), no wider than the largest size.
async function rasterPipelines(sharp: SharpFn, input: Buffer, sizes: readonly ThumbnailSize[]) {
  const widest = Math.max(...sizes.map((s) => s.width));
  const master = await sharp(input, INPUT).rotate().resize({ width: widest, withoutEnlargement: true }).raw().toBuffer({ resolveWithObject: true });
  const raw = { width: master.info.width, height: master.info.height, channels: master.info.channels };
  return sizes.map((size) => ({
    size,
    pipeline: size.height
      ? sharp(master.data, { raw }).resize(size.width, size.height, { fit: 'cover', position: 'centre' })
      : sharp(master.data, { raw }).resize({ width: size.width, withoutEnlargement: true }),
  }));
}

// Each size rendered at the density that gives it enough pixels (72 dpi = the SVG's own size).
function svgPipelines(sharp: SharpFn, input: Buffer, width: number, height: number, sizes: readonly ThumbnailSize[]) {
  return sizes.map((size) => {
    const scale = size.height ? Math.max(size.width / width, size.height / height) : size.width / width;
    const density = Math.min(2400, Math.max(1, 72 * scale * 1.01));
    const pipeline = sharp(input, { ...INPUT, density });
    return { size, pipeline: size.height ? pipeline.resize(size.width, size.height, { fit: 'cover' }) : pipeline.resize({ width: size.width }) };
  });
}

async function encode(pipeline: Sharp, format: ThumbnailFormat, size: string): Promise<Rendered> {
  const { data, info } = await pipeline.toFormat(format, ENCODE[format]).toBuffer({ resolveWithObject: true });
  return { size, format, width: info.width, height: info.height, bytes: data };
}
