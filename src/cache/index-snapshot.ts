// The object index saved whole: its scalar state as JSON and its typed-array columns as they are
// in memory (so reading one is a few large reads, no parsing per entry), with a CRC-32 over all of
// it. Written under a temporary name and renamed; journals older than it are deleted after.
//   "BLOTIDX1" | u32 JSON length | JSON {gen, state, lengths} | pad to 8 | columns (each padded to 8) | u32 CRC-32 | "BLOTIDXE"
import { crc32 } from 'node:zlib';
import { open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { IndexState, ObjectIndex } from './object-index.js';

const MAGIC = Buffer.from('BLOTIDX1');
const END = Buffer.from('BLOTIDXE');
const pad8 = (n: number) => (n + 7) & ~7;

/** Reads the snapshot into `index`; resolves with the journal generation to replay from (undefined: none usable). */
export async function readSnapshot(dir: string, index: ObjectIndex): Promise<number | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(join(dir, 'snapshot'), 'r');
  } catch {
    return undefined;
  }
  try {
    let at = 0;
    let crc = 0;
    // Each part is read straight into the buffer it will live in: no second copy of the columns.
    const read = async (length: number, check = true): Promise<Buffer> => {
      // Not zero-filled first (it is read over whole), and an ArrayBuffer of its own: aligned for any typed array.
      const buf = Buffer.allocUnsafeSlow(length);
      const { bytesRead } = await fh.read(buf, 0, length, at);
      if (bytesRead !== length) throw new Error('snapshot cut short');
      at += length;
      if (check) crc = crc32(buf, crc);
      return buf;
    };
    const head = await read(12);
    if (!head.subarray(0, 8).equals(MAGIC)) return undefined;
    const json = await read(head.readUInt32LE(8));
    await read(pad8(12 + json.length) - 12 - json.length);
    const { gen, state, lengths } = JSON.parse(json.toString('utf8')) as { gen: number; state: IndexState; lengths: number[] };
    const columns: ArrayBuffer[] = [];
    for (const n of lengths) {
      const column = await read(n);
      columns.push(column.buffer as ArrayBuffer);
      await read(pad8(n) - n);
    }
    const tail = await read(12, false);
    if (tail.readUInt32LE(0) !== crc || !tail.subarray(4).equals(END)) return undefined;
    index.restore(state, columns);
    return gen;
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}

/** Writes a snapshot of the columns, then deletes the journals it makes redundant (older than `gen`). */
export async function writeSnapshot(dir: string, fsync: boolean, gen: number, state: IndexState, columns: Uint8Array[]): Promise<void> {
  const json = Buffer.from(JSON.stringify({ gen, state, lengths: columns.map((c) => c.byteLength) }));
  const head = Buffer.alloc(pad8(12 + json.length));
  MAGIC.copy(head, 0);
  head.writeUInt32LE(json.length, 8);
  json.copy(head, 12);
  const parts: Uint8Array[] = [head];
  for (const c of columns) {
    parts.push(c);
    if (pad8(c.byteLength) > c.byteLength) parts.push(new Uint8Array(pad8(c.byteLength) - c.byteLength));
  }
  let crc = 0;
  for (const p of parts) crc = crc32(p, crc);
  const tail = Buffer.alloc(12);
  tail.writeUInt32LE(crc, 0);
  END.copy(tail, 4);
  parts.push(tail);
  const tmp = join(dir, `snapshot.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writev(parts);
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, 'snapshot'));
  for (const name of await readdir(dir)) {
    const m = /^journal\.(\d+)$/.exec(name);
    if (m && Number(m[1]) < gen) await rm(join(dir, name), { force: true });
  }
}
