// The disk tier: one file per object, named by a hash of its key, under a byte budget with
// least-recently-used eviction. Written by us rather than taken from a library because crash
// safety and streaming are the point:
//   - an object is written to tmp/ and renamed into objects/ only once every byte is in, so a
//     kill -9 at any moment leaves either no object or a whole one (tmp/ is emptied at start);
//   - each file ends with a trailer (metadata, lengths, a magic word); a file whose length does not
//     match its trailer (a crash while rewriting metadata, a torn write after power loss) is
//     deleted on sight, never served;
//   - bodies stream to and from disk in chunks, so an object of hundreds of MB is never held in
//     memory; small ones are read whole so they can be promoted to the memory tier.
//
// File layout:  body | meta JSON | u32 meta length | f64 body length | "BLOTCDN1"
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheMeta, CacheStore, ChunkSink, EntrySummary, ObjectWriter, StoredObject, StoreStats } from './store.js';

const MAGIC = Buffer.from('BLOTCDN1');
const TRAILER = 4 + 8 + MAGIC.length;
const READ_CHUNK = 1024 * 1024;

export interface DiskStoreOptions {
  dir: string;
  maxBytes: number;
  maxObjectBytes: number;
  /** Objects up to this size are read whole (and can be promoted to memory). */
  smallObjectBytes?: number;
  /** fsync each object before it becomes visible (survives power loss, costs a disk flush). */
  fsync?: boolean;
  /** Called with the key of every object the budget pushes out. */
  onEvict?: (key: string) => void;
}

interface IndexEntry extends EntrySummary {
  /** Bytes the file takes (body, metadata and trailer). */
  fileBytes: number;
}

function summary(meta: CacheMeta, fileBytes: number): IndexEntry {
  const { key, primary, host, path, vary, tags, storedAt, size, immutable, encoding } = meta;
  return { key, primary, host, path, vary, tags, storedAt, size, immutable, encoding, fileBytes };
}

/** Reads and checks a file's trailer; undefined when the file is not a whole object. */
async function readTrailer(fh: FileHandle, fileSize: number): Promise<{ meta: CacheMeta; bodyLength: number } | undefined> {
  if (fileSize < TRAILER) return undefined;
  const tail = Buffer.alloc(TRAILER);
  await fh.read(tail, 0, TRAILER, fileSize - TRAILER);
  if (!tail.subarray(12).equals(MAGIC)) return undefined;
  const metaLength = tail.readUInt32LE(0);
  const bodyLength = tail.readDoubleLE(4);
  if (!Number.isInteger(bodyLength) || bodyLength + metaLength + TRAILER !== fileSize) return undefined;
  const raw = Buffer.alloc(metaLength);
  await fh.read(raw, 0, metaLength, bodyLength);
  try {
    const meta = JSON.parse(raw.toString('utf8')) as CacheMeta;
    if (meta.size !== bodyLength || typeof meta.key !== 'string') return undefined;
    return { meta, bodyLength };
  } catch {
    return undefined;
  }
}

function trailerFor(meta: CacheMeta, bodyLength: number): Buffer {
  const json = Buffer.from(JSON.stringify(meta));
  const fixed = Buffer.alloc(TRAILER);
  fixed.writeUInt32LE(json.length, 0);
  fixed.writeDoubleLE(bodyLength, 4);
  MAGIC.copy(fixed, 12);
  return Buffer.concat([json, fixed]);
}

/** Reads bytes start..end of a file, checking it is still the same file (inode) we looked up. */
async function* readRange(path: string, ino: number, start: number, end: number): AsyncGenerator<Buffer> {
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
async function pipeRange(path: string, ino: number, start: number, end: number, out: ChunkSink): Promise<number> {
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

export class DiskStore implements CacheStore {
  readonly name = 'disk';
  /** key → entry, least recently used first (a Map keeps insertion order; a hit re-inserts). */
  private readonly index = new Map<string, IndexEntry>();
  private bytes = 0;
  readonly prepared: Promise<void>;
  readonly ready: Promise<void>;
  private readonly objects: string;
  private readonly tmp: string;
  private readonly smallObjectBytes: number;
  /**
   * File operations on one key run one after another (rename, rewrite, unlink), so an unlink still
   * pending from a purge can never remove the object a later fetch stored under the same name.
   */
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Keys deleted whose file may still be on disk: lookups treat them as gone at once. */
  private readonly tombstones = new Set<string>();

  constructor(private readonly options: DiskStoreOptions) {
    this.objects = join(options.dir, 'objects');
    this.tmp = join(options.dir, 'tmp');
    this.smallObjectBytes = options.smallObjectBytes ?? 1024 * 1024;
    this.prepared = this.prepare();
    this.ready = this.prepared.then(() => this.scan());
    this.ready.catch(() => {});
  }

  /** Makes the folders and clears what a crash left half-written (before any new write). */
  private async prepare(): Promise<void> {
    await rm(this.tmp, { recursive: true, force: true });
    await mkdir(this.tmp, { recursive: true, mode: 0o700 });
    await mkdir(this.objects, { recursive: true, mode: 0o700 });
  }

  /** Rebuilds the index from what a previous run left. */
  private async scan(): Promise<void> {
    const found: { entry: IndexEntry; mtime: number }[] = [];
    for (const a of await readdir(this.objects)) {
      for (const b of await readdir(join(this.objects, a)).catch(() => [])) {
        for (const name of await readdir(join(this.objects, a, b)).catch(() => [])) {
          const path = join(this.objects, a, b, name);
          const checked = await this.check(path);
          if (checked) found.push(checked);
        }
      }
    }
    found.sort((x, y) => x.mtime - y.mtime);
    for (const { entry } of found) {
      if (this.index.has(entry.key)) continue; // written again since start-up
      this.index.set(entry.key, entry);
      this.bytes += entry.fileBytes;
    }
    this.evict();
  }

  private async check(path: string): Promise<{ entry: IndexEntry; mtime: number } | undefined> {
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'r');
      const st = await fh.stat();
      const parsed = await readTrailer(fh, st.size);
      if (parsed && this.pathFor(parsed.meta.key) === path) return { entry: summary(parsed.meta, st.size), mtime: st.mtimeMs };
    } catch {
      // unreadable: treated as corrupt
    } finally {
      await fh?.close();
    }
    await unlink(path).catch(() => {});
    return undefined;
  }

  private serial<T>(key: string, op: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(op, op);
    const tail = next.catch(() => {});
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return next;
  }

  pathFor(key: string): string {
    const h = createHash('sha256').update(key).digest('hex');
    return join(this.objects, h.slice(0, 2), h.slice(2, 4), h);
  }

  async get(key: string): Promise<StoredObject | undefined> {
    if (this.tombstones.has(key)) return undefined;
    const path = this.pathFor(key);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const st = await fh.stat();
      const parsed = await readTrailer(fh, st.size);
      if (!parsed) {
        await this.remove(key, path);
        return undefined;
      }
      if (parsed.meta.key !== key) return undefined; // a hash collision: not ours
      this.touch(key, parsed.meta, st.size);
      const { meta, bodyLength } = parsed;
      if (bodyLength <= this.smallObjectBytes) {
        const body = Buffer.allocUnsafe(bodyLength);
        if (bodyLength > 0) await fh.read(body, 0, bodyLength, 0);
        return { meta, body };
      }
      const ino = st.ino;
      return { meta, open: (start, end) => readRange(path, ino, start, end), pipe: (start, end, out) => pipeRange(path, ino, start, end, out) };
    } finally {
      await fh.close();
    }
  }

  private touch(key: string, meta: CacheMeta, fileBytes: number): void {
    const entry = this.index.get(key);
    if (entry) {
      this.index.delete(key);
      this.index.set(key, entry);
    } else {
      // found before the start-up scan reached it
      this.index.set(key, summary(meta, fileBytes));
      this.bytes += fileBytes;
    }
  }

  put(meta: CacheMeta): ObjectWriter | undefined {
    if (meta.size > this.options.maxObjectBytes) return undefined;
    const tmpPath = join(this.tmp, randomUUID());
    const finalPath = this.pathFor(meta.key);
    let written = 0;
    let abandoned = false;
    let committed = false;
    // One write at a time, in order; a failed write abandons the object.
    let queue: Promise<FileHandle | undefined> = this.prepared.then(() => open(tmpPath, 'w', 0o600)).catch(() => {
      abandoned = true;
      return undefined;
    });
    const abort = () => {
      if (committed) return;
      abandoned = true;
      void queue.then(async (fh) => {
        await fh?.close().catch(() => {});
        await unlink(tmpPath).catch(() => {});
      });
    };
    return {
      get abandoned() {
        return abandoned;
      },
      write: (chunk) => {
        if (abandoned) return;
        written += chunk.length;
        if (written > this.options.maxObjectBytes) {
          abort();
          return;
        }
        queue = queue.then(async (fh) => {
          if (!fh || abandoned) return fh;
          try {
            await fh.write(chunk);
          } catch {
            abort();
          }
          return fh;
        });
        return queue.then(() => undefined);
      },
      commit: async (stillWanted) => {
        const fh = await queue;
        if (abandoned || !fh) {
          abort();
          return false;
        }
        const final: CacheMeta = { ...meta, size: written };
        const trailer = trailerFor(final, written);
        try {
          await fh.write(trailer);
          if (this.options.fsync) await fh.sync();
          await fh.close();
          await mkdir(join(finalPath, '..'), { recursive: true, mode: 0o700 });
          const renamed = await this.serial(final.key, async () => {
            // Asked in the key's turn: a delete queued before this rename has run by now.
            if (stillWanted !== undefined && !stillWanted()) return false;
            await rename(tmpPath, finalPath);
            return true;
          });
          if (!renamed) {
            abort();
            return false;
          }
        } catch {
          abort();
          return false;
        }
        committed = true;
        const fileBytes = written + trailer.length;
        const previous = this.index.get(final.key);
        if (previous) this.bytes -= previous.fileBytes;
        this.index.delete(final.key);
        this.index.set(final.key, summary(final, fileBytes));
        this.bytes += fileBytes;
        this.evict();
        return true;
      },
      abort,
      // Bytes already written can be read back from the temporary file, or from the object once
      // it has been renamed into place.
      readBack: (start, end) => readBackFrom(tmpPath, finalPath, start, end),
    };
  }

  /** Rewrites the metadata trailer, keeping the body (after a 304 or a soft purge). */
  updateMeta(meta: CacheMeta): Promise<void> {
    return this.serial(meta.key, () => this.rewriteTrailer(meta));
  }

  private async rewriteTrailer(meta: CacheMeta): Promise<void> {
    if (this.tombstones.has(meta.key)) return;
    const path = this.pathFor(meta.key);
    let fh: FileHandle;
    try {
      fh = await open(path, 'r+');
    } catch {
      return;
    }
    try {
      const st = await fh.stat();
      const parsed = await readTrailer(fh, st.size);
      if (!parsed || parsed.meta.key !== meta.key) return;
      const trailer = trailerFor({ ...meta, size: parsed.bodyLength }, parsed.bodyLength);
      // A crash between these two leaves a file whose trailer does not check out: it is deleted
      // when next read, never served.
      await fh.truncate(parsed.bodyLength);
      await fh.write(trailer, 0, trailer.length, parsed.bodyLength);
      const entry = this.index.get(meta.key);
      if (entry) {
        this.bytes += parsed.bodyLength + trailer.length - entry.fileBytes;
        this.index.set(meta.key, summary({ ...meta, size: parsed.bodyLength }, parsed.bodyLength + trailer.length));
      }
    } finally {
      await fh.close();
    }
  }

  async delete(key: string): Promise<boolean> {
    const existed = this.index.has(key);
    const removed = await this.remove(key, this.pathFor(key));
    return existed || removed;
  }

  /** Gone from the index and from lookups at once; the file follows when its turn comes. */
  private remove(key: string, path: string): Promise<boolean> {
    const entry = this.index.get(key);
    if (entry) {
      this.index.delete(key);
      this.bytes -= entry.fileBytes;
    }
    this.tombstones.add(key);
    return this.serial(key, async () => {
      try {
        await unlink(path);
        return true;
      } catch {
        return false;
      } finally {
        this.tombstones.delete(key);
      }
    });
  }

  /** Least recently used objects go first until the budget holds. */
  private evict(): void {
    for (const key of this.index.keys()) {
      if (this.bytes <= this.options.maxBytes) break;
      void this.remove(key, this.pathFor(key));
      this.options.onEvict?.(key);
    }
  }

  *entries(): Iterable<EntrySummary> {
    yield* this.index.values();
  }

  stats(): StoreStats {
    return { entries: this.index.size, bytes: this.bytes, maxBytes: this.options.maxBytes };
  }

  async close(): Promise<void> {
    await this.ready.catch(() => {});
  }
}

async function* readBackFrom(tmpPath: string, finalPath: string, start: number, end: number): AsyncGenerator<Buffer> {
  let fh: FileHandle;
  try {
    fh = await open(tmpPath, 'r');
  } catch {
    fh = await open(finalPath, 'r');
  }
  try {
    let pos = start;
    while (pos <= end) {
      const len = Math.min(READ_CHUNK, end - pos + 1);
      const buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      if (bytesRead === 0) throw new Error('read back past what was written');
      pos += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}
