// blotcdn/origin at the origin app: `assetUrl` calls per second (it runs for every asset of every
// page render, so the target is millions), and how long the file manifest takes to load for 50,000
// blogs × 20 assets — from a compacted snapshot (the normal case) and from a journal not yet
// compacted (the worst case). Building the data set and each load run in a child process (this
// file, run directly), so every load starts from a cold heap like an app server starting up.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createAssets, FileManifest, MemoryManifest, type ManifestChange } from '../../src/origin-lib/index.js';
import { median } from '../lib/procs.js';
import { fmt, type BenchContext, type Scenario } from '../lib/scenario.js';

const BLOGS = Number(process.env.BENCH_ASSETS_BLOGS ?? 50_000);
const PER_BLOG = Number(process.env.BENCH_ASSETS_PER_BLOG ?? 20);
const blogN = (n: number) => `blog_${n.toString(16).padStart(32, '0')}`;
const pathN = (blog: number, i: number) => `templates/theme-${blog % 7}/assets/file-${i}.css`;
// Distinct, well-formed cacheIDs without hashing a million buffers: the load does not care.
const idN = (n: number) => (n * 2654435761).toString(16).padStart(20, '0').slice(-20);

/** assetUrl calls per second in a tight loop over 100 blogs × PER_BLOG paths, for `ms` after warm-up. */
async function assetUrlRate(ms: number, memoLimit?: number): Promise<number> {
  const manifest = new MemoryManifest();
  const blogs = Array.from({ length: 100 }, (_, b) => blogN(b));
  const paths = Array.from({ length: PER_BLOG }, (_, i) => '/' + pathN(0, i));
  await manifest.apply(blogs.flatMap((blogID, b) => paths.map((path, i) => ({ blogID, path, cacheID: idN(b * PER_BLOG + i) }))));
  const assets = createAssets({ cdnHost: 'cdn.blot.im', manifest, ...(memoLimit !== undefined ? { memoLimit } : {}) });
  let sink = 0;
  const loop = (until: number) => {
    let calls = 0;
    while (performance.now() < until) {
      for (let i = 0; i < 1000; i++) sink += assets.assetUrl(blogs[(calls + i) % 100]!, paths[i % PER_BLOG]!).length;
      calls += 1000;
    }
    return calls;
  };
  loop(performance.now() + 300); // JIT warm-up
  const started = performance.now();
  const calls = loop(started + ms);
  if (sink === 0) throw new Error('unreachable: keeps the loop from being optimised away');
  return calls / ((performance.now() - started) / 1000);
}

async function worker(args: string[]): Promise<Record<string, number>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
    maxBuffer: 1 << 20,
    cwd: fileURLToPath(new URL('../../', import.meta.url)), // where `--import tsx` resolves
  });
  return JSON.parse(stdout) as Record<string, number>;
}

export const assets: Scenario = {
  name: 'assets',
  description: `blotcdn/origin: assetUrl calls/s; file-manifest load time for ${fmt(BLOGS)} blogs × ${PER_BLOG} assets`,
  async run(ctx: BenchContext) {
    const rounds = Math.max(ctx.rounds, 5);
    const memoised: number[] = [];
    const firstCalls: number[] = [];
    for (let r = 0; r < rounds; r++) {
      memoised.push(await assetUrlRate(1500));
      // memoLimit 0: every call takes the slow path (validate, normalise, look up, encode).
      firstCalls.push(await assetUrlRate(1000, 0));
      ctx.log(`assetUrl round ${r + 1}: ${fmt(memoised.at(-1)!)} calls/s memoised, ${fmt(firstCalls.at(-1)!)} calls/s unmemoised`);
    }

    const dir = await mkdtemp(join(tmpdir(), 'bench-assets-'));
    try {
      const build = await worker(['build', dir]);
      ctx.log(`built ${fmt(BLOGS)} × ${PER_BLOG} entries through the journal in ${fmt(build.ms!)} ms`);
      const fromJournal: Record<string, number>[] = [];
      for (let r = 0; r < 3; r++) fromJournal.push(await worker(['load', dir]));
      ctx.log(`journal-only loads: ${fromJournal.map((l) => fmt(l.ms!)).join(', ')} ms`);
      const compact = await worker(['compact', dir]);
      const snapshotBytes = (await stat(join(dir, 'snapshot.1'))).size;
      ctx.log(`compacted in ${fmt(compact.compactMs!)} ms; snapshot ${fmt(snapshotBytes / 1e6, 1)} MB`);
      const fromSnapshot: Record<string, number>[] = [];
      for (let r = 0; r < rounds; r++) {
        fromSnapshot.push(await worker(['load', dir]));
        ctx.log(`snapshot load round ${r + 1}: ${fmt(fromSnapshot.at(-1)!.ms!)} ms, rss ${fmt(fromSnapshot.at(-1)!.rssMB!)} MB`);
      }

      const med = (xs: Record<string, number>[], k: string) => median(xs.map((x) => x[k]!));
      const table = [
        ['measurement', 'median', 'rounds'],
        ['assetUrl, repeated (memoised) — calls/s', fmt(median(memoised)), memoised.map((x) => fmt(x / 1e6, 1) + 'M').join(' ')],
        ['assetUrl, first call for a path (unmemoised) — calls/s', fmt(median(firstCalls)), firstCalls.map((x) => fmt(x / 1e6, 2) + 'M').join(' ')],
        [`manifest load, ${fmt(BLOGS)} × ${PER_BLOG}, from snapshot — ms`, fmt(med(fromSnapshot, 'ms')), fromSnapshot.map((x) => fmt(x.ms!)).join(' ')],
        [`manifest load, ${fmt(BLOGS)} × ${PER_BLOG}, journal only (never compacted) — ms`, fmt(med(fromJournal, 'ms')), fromJournal.map((x) => fmt(x.ms!)).join(' ')],
        ['first lookup in a blog after load (decodes the blog) — µs', fmt(med(fromSnapshot, 'firstLookupUs'), 1), `very first, cold code: ${fmt(med(fromSnapshot, 'coldLookupUs'))} µs`],
        ['process RSS after a snapshot load — MB', fmt(med(fromSnapshot, 'rssMB')), ''],
      ];
      return {
        title: 'Origin library: asset URLs and manifest load',
        table,
        notes: [
          `assetUrl: 100 blogs × ${PER_BLOG} paths in a tight loop, ~1.5 s per round after 300 ms of warm-up, ${rounds} rounds`,
          `manifest: FileManifest.open() in a fresh process each round; snapshot ${fmt(snapshotBytes / 1e6, 1)} MB; build through the journal ${fmt(build.ms!)} ms, compaction ${fmt(compact.compactMs!)} ms`,
        ],
        data: { memoised, firstCalls, fromSnapshot, fromJournal, build, compact, snapshotBytes, blogs: BLOGS, perBlog: PER_BLOG },
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

// Run directly, this file is the child process: `build|compact|load <dir>` → one line of JSON.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [mode, dir] = process.argv.slice(2) as [string, string];
  const started = performance.now();
  const manifest = await FileManifest.open(dir, { watch: false, compactBytes: Number.MAX_SAFE_INTEGER });
  const out: Record<string, number> = {};
  if (mode === 'build') {
    let batch: ManifestChange[] = [];
    for (let b = 0; b < BLOGS; b++) {
      for (let i = 0; i < PER_BLOG; i++) batch.push({ blogID: blogN(b), path: pathN(b, i), cacheID: idN(b * PER_BLOG + i) });
      if (batch.length >= 10_000) await manifest.apply(batch.splice(0));
    }
    await manifest.apply(batch);
  } else if (mode === 'compact') {
    const t = performance.now();
    await manifest.compact();
    out.compactMs = performance.now() - t;
  } else {
    out.ms = performance.now() - started;
    out.blogs = manifest.blogCount;
    // The first lookup in a blog decodes its entries; the very first one also runs cold code.
    const lookup = (b: number) => {
      const t = performance.now();
      if (manifest.lookup(blogN(b), pathN(b, 3)) !== idN(b * PER_BLOG + 3)) throw new Error('wrong entry after load');
      return (performance.now() - t) * 1000;
    };
    out.coldLookupUs = lookup(Math.floor(BLOGS / 2));
    out.firstLookupUs = median(Array.from({ length: 101 }, (_, i) => lookup(Math.floor((BLOGS * i) / 101) + 1)));
    out.rssMB = process.memoryUsage().rss / 1e6;
  }
  out.ms ??= performance.now() - started;
  await manifest.close();
  process.stdout.write(JSON.stringify(out));
}
