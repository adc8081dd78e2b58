#!/usr/bin/env node
// Publishing a post with blotcdn/origin on the embedded defaults: a job queue journal and a manifest
// in folders under --root, the worker in this process. Publishes a post with the demo blog's four
// images (three SVGs and a PNG), waits until every job is done, then prints one JSON line per
// generated file — {"path", "width", "height", "format"}, paths relative to --root — and last the
// publish call's own latency: {"publishMs": N}.
//
//   node examples/publish.mjs --root /tmp/blog-assets
//
// It uses the built library (dist/, made by `npm run build`) and, in a fresh clone where nothing is
// built yet, the TypeScript sources through tsx (a dev dependency `npm install` brings).
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const { values } = parseArgs({ options: { root: { type: 'string' } } });
if (!values.root) {
  console.error('usage: node examples/publish.mjs --root DIR');
  process.exit(2);
}
const root = resolve(values.root);

async function library() {
  const built = join(HERE, '../dist/origin-lib/index.js');
  if (existsSync(built)) return import(built);
  const { register } = await import('tsx/esm/api');
  register();
  return import(join(HERE, '../src/origin-lib/index.ts'));
}
const { createPublisher, FileManifest, openJobQueue, startWorker } = await library();

const images = join(HERE, '../demo/site/assets/img');
const assets = (await readdir(images)).filter((f) => /\.(svg|png|jpe?g)$/.test(f)).sort().map((f) => ({ path: `images/${f}`, file: join(images, f) }));

await mkdir(root, { recursive: true });
const queue = await openJobQueue({ dir: join(root, 'jobs') });
const manifest = await FileManifest.open(join(root, 'manifest'));
const worker = startWorker({ queue, root: join(root, 'assets'), manifest });

const started = performance.now();
const published = await createPublisher({ queue }).publish({
  blogID: 'blog_0123456789abcdef0123456789abcdef',
  hosts: ['example.blot.im'],
  changed: { pages: ['/2024/06/hello-world'], tags: ['demo'], assets },
});
const publishMs = performance.now() - started;

// Every job finished: the publish job runs last, once all of the post's asset jobs have.
let job = await queue.get(published.id);
while (job.state !== 'done' && job.state !== 'failed') {
  await new Promise((r) => setTimeout(r, 20));
  job = await queue.get(published.id);
}
let failed = job.state === 'failed';
for (const id of published.assets) {
  const asset = await queue.get(id);
  if (asset.state !== 'done') {
    failed = true;
    console.error(`${asset.data.path}: ${asset.error}`);
    continue;
  }
  for (const f of asset.result.files) console.log(JSON.stringify({ path: relative(root, f.file), width: f.width, height: f.height, format: f.format }));
}
console.log(JSON.stringify({ publishMs: Math.round(publishMs * 1000) / 1000 }));

await worker.stop();
await queue.close();
await manifest.close();
process.exit(failed ? 1 : 0);
