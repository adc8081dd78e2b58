// The disk tier's file format and the reads it serves from. Each object is one file:
//   body | metadata JSON | u32 metadata length | f64 body length | "BLOTCDN1"
// The trailer is checked on every read (a file whose length does not match it is torn and never
// served). Bodies stream out in 1 MiB chunks, or through two recycled buffers for large hits.
import { open, type FileHandle } from 'node:fs/promises';
import type { CacheMeta, ChunkSink } from './store.js';

const MAGIC = Buffer.from('BLOTCDN1');
export const TRAILER = 4 + 8 + MAGIC.length;
const READ_CHUNK = 1024 * 1024;
/** Bytes read from a file's end at once: the trailer and, nearly always, the metadata with it. */
const TAIL = 4096;

export interface Parsed {
  meta: CacheMeta;
  bodyLength: number;
}

/**
 * Checks a trailer read from a file's end (`tail`: its last bytes) and parses the metadata; when
 * the metadata is longer than what was read, `readMeta` fetches it. Undefined: not a whole object.
 */
export function parseTrailer(tail: Buffer, fileSize: number, readMeta: (metaLength: number, bodyLength: number) => Buffer): Parsed | undefined {
  const fixed = tail.subarray(tail.length - TRAILER);
  if (!fixed.subarray(12).equals(MAGIC)) return undefined;
  const metaLength = fixed.readUInt32LE(0);
  const bodyLength = fixed.readDoubleLE(4);
  if (!Number.isInteger(bodyLength) || bodyLength + metaLength + TRAILER !== fileSize) return undefined;
  const raw = metaLength + TRAILER <= tail.length ? tail.subarray(tail.length - TRAILER - metaLength, tail.length - TRAILER) : readMeta(metaLength, bodyLength);
  try {
    const meta = JSON.parse(raw.toString('utf8')) as CacheMeta;
    if (meta.size !== bodyLength || typeof meta.key !== 'string') return undefined;
    return { meta, bodyLength };
  } catch {
    return undefined;
  }
}

/** Reads and checks a file's trailer; undefined when the file is not a whole object. */
export async function readTrailer(fh: FileHandle, fileSize: number): Promise<Parsed | undefined> {
  if (fileSize < TRAILER) return undefined;
  const tailLength = Math.min(TAIL, fileSize);
  const tail = Buffer.allocUnsafe(tailLength);
  const { bytesRead } = await fh.read(tail, 0, tailLength, fileSize - tailLength);
  if (bytesRead !== tailLength) return undefined;
  // A long metadata block is read apart; parseTrailer asks for it synchronously, so read it first.
  const metaLength = tail.readUInt32LE(tailLength - TRAILER);
  const bodyLength = tail.readDoubleLE(tailLength - TRAILER + 4);
  let long: Buffer | undefined;
  if (metaLength + TRAILER > tailLength && Number.isInteger(bodyLength) && bodyLength + metaLength + TRAILER === fileSize) {
    long = Buffer.alloc(metaLength);
    await fh.read(long, 0, metaLength, bodyLength);
  }
  return parseTrailer(tail, fileSize, () => long ?? Buffer.alloc(0));
}

/** Opens a file and reads its trailer: the object's metadata, or undefined (missing, torn). */
export async function readObjectMeta(path: string): Promise<(Parsed & { fileSize: number }) | undefined | 'missing'> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : undefined;
  }
  try {
    const st = await fh.stat();
    const parsed = await readTrailer(fh, st.size);
    return parsed && { ...parsed, fileSize: st.size };
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}

export function trailerFor(meta: CacheMeta, bodyLength: number): Buffer {
  const json = Buffer.from(JSON.stringify(meta));
  const fixed = Buffer.alloc(TRAILER);
  fixed.writeUInt32LE(json.length, 0);
  fixed.writeDoubleLE(bodyLength, 4);
  MAGIC.copy(fixed, 12);
  return Buffer.concat([json, fixed]);
}

/** Reads bytes start..end of a file, checking it is still the same file (inode) we looked up. */
export async function* readRange(path: string, ino: number, start: number, end: number): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    if ((await fh.stat()).ino !== ino) throw new Error('object replaced while reading');
    let pos = start;
    // Read the next chunk while the current one is being written out.
    const readAt = (at: number) => {
      const len = Math.min(READ_CHUNK, end - at + 1);
      const buf = Buffer.allocUnsafe(len);
      return fh.read(buf, 0, len, at).then(({ bytesRead }) => buf.subarray(0, bytesRead));
    };
    let next = pos <= end ? readAt(pos) : undefined;
    while (next) {
      const chunk = await next;
      if (chunk.length === 0) throw new Error('object shorter than its metadata says');
      pos += chunk.length;
      next = pos <= end ? readAt(pos) : undefined;
      yield chunk;
    }
  } finally {
    await fh.close();
  }
}

/**
 * Copies bytes start..end of a file to `out` through two reusable buffers: one is read into while
 * the other is being written, and a buffer is reused only once its write has completed. Large disk
 * hits thus allocate nothing per chunk (allocating 1 MiB per chunk costs more in GC than the copy).
 */
export async function pipeRange(path: string, ino: number, start: number, end: number, out: ChunkSink): Promise<number> {
  const fh = await open(path, 'r');
  let written = 0;
  try {
    if ((await fh.stat()).ino !== ino) throw new Error('object replaced while reading');
    const buffers = [Buffer.allocUnsafeSlow(READ_CHUNK), Buffer.allocUnsafeSlow(READ_CHUNK)];
    const free: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    const readInto = (i: number, at: number) =>
      free[i]!.then(() => fh.read(buffers[i]!, 0, Math.min(READ_CHUNK, end - at + 1), at)).then((r) => r.bytesRead);
    let pos = start;
    let i = 0;
    let pending = readInto(0, pos);
    while (pos <= end) {
      const n = await pending;
      if (n === 0) throw new Error('object shorter than its metadata says');
      const chunk = buffers[i]!.subarray(0, n);
      pos += n;
      const next = 1 - i;
      if (pos <= end) pending = readInto(next, pos);
      let ok = true;
      free[i] = new Promise<void>((resolve, reject) => {
        ok = out.write(chunk, (err) => (err ? reject(err) : resolve()));
      });
      free[i]!.catch(() => {});
      written += n;
      if (!ok) await out.drained();
      if (out.gone) break;
      i = next;
    }
    // Keep the buffers (and the file) until the last writes are done with them.
    if (!out.gone) await Promise.all(free);
  } finally {
    await fh.close();
  }
  return written;
}

export async function* readBackFrom(tmpPath: string, finalPath: string, start: number, end: number): AsyncGenerator<Buffer> {
  let fh: FileHandle;
  try {
    fh = await open(tmpPath, 'r');
  } catch {
    fh = await open(finalPath, 'r');
  }
  try {
    yield* readOpen(fh, start, end);
  } finally {
    await fh.close();
  }
}

/** Bytes start..end (inclusive) of an open file, in chunks of at most 1 MiB. */
export async function* readOpen(fh: FileHandle, start: number, end: number): AsyncGenerator<Buffer> {
  let pos = start;
  while (pos <= end) {
    const len = Math.min(READ_CHUNK, end - pos + 1);
    const buf = Buffer.allocUnsafe(len);
    const { bytesRead } = await fh.read(buf, 0, len, pos);
    if (bytesRead === 0) throw new Error('read back past what was written');
    pos += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}
