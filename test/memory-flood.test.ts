// A flood of distinct keys far beyond the memory tier leaves the edge's memory within its budget:
// thousands of URLs with 7 KB query strings (stored: on disk, and in a 4 MiB memory tier), thousands
// of values of a header the origin varies on (one URL), thousands of uncacheable URLs (hit-for-miss
// marks). The edge runs in a child process with --expose-gc; its heap plus array buffers after a
// forced GC may grow by at most the memory tier's budget + the disk index's own figure + 16 MiB.
// (Before the index held hashes instead of keys, this flood grew the heap by hundreds of MiB.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigin } from './helpers/origin.js';
import { startEdgeProcess } from './helpers/edge-process.js';

const EACH = 3000;
const MEMORY_TIER = 4 * 1024 * 1024;
const SLACK = 16 * 1024 * 1024;

/** GETs with a keep-alive agent, `concurrency` at a time; resolves with the Cache-Status of each. */
async function flood(base: string, requests: { path: string; headers?: Record<string, string> }[], concurrency = 8): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const one = (r: (typeof requests)[number]) =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${base}${r.path}`, { agent, headers: { host: 'flood.test', ...r.headers } }, (res) => {
        res.on('data', () => {});
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${r.path.slice(0, 40)}: ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests.length) await one(requests[next++]!);
  }));
  agent.destroy();
}

const noise = (i: number, length: number) => `${i}-${'x'.repeat(length)}`.slice(0, length);

test('a flood of distinct URLs, Vary values and uncacheable URLs keeps the heap within budget', async (t) => {
  const origin = await startOrigin((req, res) => {
    const url = req.url!;
    const headers: Record<string, string> = { 'content-type': 'text/plain', 'cache-control': 'public, max-age=3600' };
    if (url.startsWith('/vary/')) headers.vary = 'X-Flood';
    if (url.startsWith('/private/')) headers['cache-control'] = 'private';
    res.writeHead(200, headers);
    res.end(`body of ${url.slice(0, 64)}`);
  });
  const edge = await startEdgeProcess({
    listen: { http: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    log: { access: 'off', events: 'off' },
    cache: { memory: { maxSize: MEMORY_TIER }, disk: { dir: await mkdtemp(join(tmpdir(), 'blotcdn-flood-')) }, compression: { enabled: false } },
    originGroups: { o: { members: [{ url: origin.url }] } },
    sites: [{ hosts: ['*'], originGroup: 'o' }],
  });
  t.after(async () => {
    await edge.stop();
    await origin.close();
  });
  await edge.ready;
  const kinds = (from: number, n: number) => [
    ...Array.from({ length: n }, (_, i) => ({ path: `/q?${noise(from + i, 7000)}` })),
    ...Array.from({ length: n }, (_, i) => ({ path: '/vary/page', headers: { 'x-flood': noise(from + i, 1000) } })),
    ...Array.from({ length: n }, (_, i) => ({ path: `/private/${from + i}?${noise(from + i, 7000)}` })),
  ];
  // Warm-up: every code path the flood takes is compiled, the memory tier is full, the variants capped.
  await flood(edge.url, kinds(0, 800));
  const before = await edge.memory();
  await flood(edge.url, kinds(1000, EACH));
  const after = await edge.memory();

  const grown = after.usage.heapUsed + after.usage.arrayBuffers - (before.usage.heapUsed + before.usage.arrayBuffers);
  const disk = after.figure.parts.diskIndex!;
  const budget = MEMORY_TIER + disk.bytes + SLACK;
  t.diagnostic(`heap+arrayBuffers grew ${(grown / 2 ** 20).toFixed(1)} MiB (budget ${(budget / 2 ** 20).toFixed(1)} MiB); disk index ${disk.entries} objects, ${after.figure.indexBytesPerObject} B each`);
  assert.ok(grown <= budget, `grew ${grown} bytes, budget ${budget}`);

  // The bounds did their part: variants capped, every long URL stored on disk, marks kept as hashes.
  const stats = (await (await fetch(`${edge.adminUrl}/stats`)).json()) as { notStored: Record<string, number>; memory: typeof after.figure };
  // Requests in flight together may each pass the check before one commits: at most 8 over.
  const refused = stats.notStored['too-many-variants']!;
  assert.ok(refused >= 800 + EACH - 64 - 8 && refused <= 800 + EACH - 64, `variants past the 64th of one URL are not stored (${refused} refused)`);
  assert.equal(disk.entries, 800 + EACH + (800 + EACH - refused), 'every long URL and the variants stored are on disk');
  assert.ok(after.figure.indexBytesPerObject <= 200, `index bytes per object: ${after.figure.indexBytesPerObject}`);
  assert.equal(stats.memory.parts.hitForMiss!.entries, 800 + EACH, 'one mark per uncacheable URL');
  assert.ok(stats.memory.parts.memoryTier!.bytes <= MEMORY_TIER);
});
