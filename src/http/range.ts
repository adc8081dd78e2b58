// Byte ranges (RFC 9110 §14): parsing `Range: bytes=…` against a known length, If-Range, and the
// multipart/byteranges framing for several ranges. Malformed or abusive Range fields are ignored
// (a full 200 is always a correct answer, §14.2); ranges that all fall outside the object get 416.
import { parseHttpDateValue } from './http-date.js';
import { randomBytes } from 'node:crypto';
import type { HeaderMap } from './headers.js';
import { strongMatch } from './conditional.js';

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export type RangeResult = { kind: 'none' } | { kind: 'unsatisfiable' } | { kind: 'ranges'; ranges: ByteRange[] };

const NONE: RangeResult = { kind: 'none' };
/** More ranges than this in one request is treated as abuse and answered with the whole object. */
const MAX_RANGES = 64;

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return NONE;
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m) return NONE;
  const specs = m[1]!.split(',');
  if (specs.length > MAX_RANGES) return NONE;
  const ranges: ByteRange[] = [];
  for (const raw of specs) {
    const spec = raw.trim();
    if (spec === '') continue;
    const r = /^(\d*)-(\d*)$/.exec(spec);
    if (!r || (r[1] === '' && r[2] === '')) return NONE;
    if (r[1] === '') {
      // suffix: the last N bytes
      const n = Number(r[2]);
      if (n === 0 || size === 0) continue;
      ranges.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(r[1]);
    if (r[2] !== '' && Number(r[2]) < start) return NONE;
    if (start >= size) continue; // unsatisfiable on its own
    const end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
    ranges.push({ start, end });
  }
  if (ranges.length === 0) return size === 0 || specs.every((s) => s.trim() === '') ? NONE : { kind: 'unsatisfiable' };
  return { kind: 'ranges', ranges: coalesce(ranges) };
}

/** Overlapping or adjacent ranges are merged (§14.2 lets a server do so; it defeats overlap abuse). */
function coalesce(ranges: ByteRange[]): ByteRange[] {
  if (ranges.length === 1) return ranges;
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const overlapping = sorted.some((r, i) => i > 0 && r.start <= sorted[i - 1]!.end + 1);
  if (!overlapping) return ranges;
  const out: ByteRange[] = [{ ...sorted[0]! }];
  for (const r of sorted.slice(1)) {
    const last = out[out.length - 1]!;
    if (r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** If-Range (RFC 9110 §13.1.5): the Range applies only if the validator still matches. */
export function ifRangeAllows(req: HeaderMap, etag: string | undefined, lastModified: string | undefined): boolean {
  const v = req['if-range'];
  const value = Array.isArray(v) ? v[0] : v;
  if (value === undefined) return true;
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith('W/')) return strongMatch(trimmed, etag);
  const date = parseHttpDateValue(trimmed);
  return lastModified !== undefined && !Number.isNaN(date) && date === parseHttpDateValue(lastModified);
}

export interface MultipartPlan {
  boundary: string;
  /** Part header before each range's bytes. */
  heads: string[];
  tail: string;
  length: number;
}

/** Framing for a multipart/byteranges body (RFC 9110 §14.6). */
export function planMultipart(ranges: ByteRange[], size: number, contentType: string | undefined): MultipartPlan {
  const boundary = randomBytes(12).toString('hex');
  const heads = ranges.map(
    (r, i) =>
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\n` +
      (contentType ? `content-type: ${contentType}\r\n` : '') +
      `content-range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
  );
  const tail = `\r\n--${boundary}--\r\n`;
  const length = heads.reduce((n, h) => n + Buffer.byteLength(h), 0) + ranges.reduce((n, r) => n + r.end - r.start + 1, 0) + Buffer.byteLength(tail);
  return { boundary, heads, tail, length };
}
