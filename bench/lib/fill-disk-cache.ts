// Fills a disk cache folder with N objects, far faster than through HTTP: each file is written
// whole in the disk tier's format (body + trailer, disk-files.ts) where the tier would put it, and
// the index is built and saved as a snapshot by the tier's own modules (ObjectIndex, IndexFile).
// Objects are what the benchmark origin serves for /tagged/<n>/1k on host h<n mod 1000>.bench, so
// an edge started on the folder answers them as hits (the benchmark checks a sample).
//   node --import tsx bench/lib/fill-disk-cache.ts <dir> <n>
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trailerFor } from '../../src/cache/disk-files.js';
import { keyDigest } from '../../src/cache/hash.js';
import { IndexFile } from '../../src/cache/index-file.js';
import { ObjectIndex } from '../../src/cache/object-index.js';
import type { CacheMeta } from '../../src/cache/store.js';

export const HOSTS = 1000;
export const hostOf = (n: number) => `h${n % HOSTS}.bench`;
export const pathOf = (n: number) => `/tagged/${n}/1k`;
/** The benchmark origin's body for a 1 KiB path. */
export const BODY = Buffer.from(Array.from({ length: 1024 }, (_, i) => 97 + (i % 26)));

function metaOf(n: number, now: number): CacheMeta {
  const host = hostOf(n);
  const primary = `http://${host}${pathOf(n)}`;
  return {
    key: primary,
    primary,
    host,
    path: pathOf(n),
    status: 200,
    headers: ['content-type', 'application/octet-stream', 'cache-control', 'public, max-age=3600', 'etag', '"b1024"', 'last-modified', 'Mon, 01 Jan 2024 00:00:00 GMT'],
    size: BODY.length,
    vary: [],
    tags: [`obj-${n}`, `grp-${n % 1000}`],
    etag: '"b1024"',
    lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT',
    member: 'bench',
    storedAt: now,
    bodyId: `fill-${n}`,
    responseTime: now,
    initialAge: 0,
    lifetimeMs: 86_400_000,
    freshUntil: now + 86_400_000,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    mustRevalidate: false,
    noCache: false,
  };
}

/** Writes object n's file where the disk tier would put it (no index entry); `folders` remembers the folders made. */
export function writeObject(dir: string, n: number, now: number, folders: Set<string>): { digest: Buffer; meta: CacheMeta; bytes: number } {
  const meta = metaOf(n, now);
  const trailer = trailerFor(meta, BODY.length);
  const digest = keyDigest(meta.key);
  const hex = digest.toString('hex');
  const folder = join(dir, 'objects', hex.slice(0, 2), hex.slice(2, 4));
  if (!folders.has(folder)) {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    folders.add(folder);
  }
  writeFileSync(join(folder, hex), Buffer.concat([BODY, trailer]), { mode: 0o600 });
  return { digest, meta, bytes: BODY.length + trailer.length };
}

async function fill(dir: string, count: number): Promise<void> {
  const started = performance.now();
  for (const sub of ['objects', 'tmp', 'index']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o700 });
  const index = new ObjectIndex(count + 100_000, count);
  const file = new IndexFile(join(dir, 'index'));
  await file.load(index);
  await file.open();
  const folders = new Set<string>();
  const now = Date.now();
  for (let n = 0; n < count; n++) {
    const { digest, meta, bytes } = writeObject(dir, n, now, folders);
    index.apply(index.encode(digest, meta, bytes)!);
    if (n % 100_000 === 0 && n > 0) process.stdout.write(`  filled ${n.toLocaleString('en-US')}\n`);
  }
  await file.snapshot(index);
  await file.close();
  const ms = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ objects: index.count, ms })}\n`);
}

if (process.argv[1]?.endsWith('fill-disk-cache.ts')) {
  fill(process.argv[2]!, Number(process.argv[3])).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
