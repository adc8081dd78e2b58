// Permanent asset URLs end to end: the origin app publishes versions and renders a page with
// {{#asset}}…{{/asset}}; the page and every asset come through the edge (misses, then hits, with
// immutable headers); a changed file gets a new URL while the old one keeps working; host purges
// leave permanent objects alone; a body that does not match its cacheID is never stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Mustache from 'mustache';
import { createAssets, FileManifest, publish, cacheIdOf } from '../src/origin-lib/index.js';
import { startOrigin } from './helpers/origin.js';
import { startEdge, settled } from './helpers/edge.js';
import { waitFor } from './helpers/wait.js';
import { get, rawRequest } from './helpers/client.js';

const BLOG = 'blog_00112233445566778899aabbccddeeff';
const TEMPLATE = `<!doctype html><link rel="stylesheet" href="{{#asset}}/style.css{{/asset}}">
{{#posts}}<img src="{{#asset}}{{image}}{{/asset}}" alt="{{title}}">{{/posts}}`;

test('a page with permanent asset URLs, through the edge', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'blotcdn-assets-'));
  const manifest = await FileManifest.open(join(root, '..', `manifest-${Date.now()}`));
  const store = { root, manifest };
  await publish(store, BLOG, 'style.css', Buffer.from('body { color: #123; }'));
  await publish(store, BLOG, 'images/a photo.png', Buffer.alloc(5000, 1));
  const assets = createAssets({ cdnHost: 'cdn.test', manifest });
  t.after(() => assets.close());

  // The origin app renders the blog's page with permanent URLs (HTML is short-lived).
  const app = await startOrigin((req, res) => {
    const html = Mustache.render(TEMPLATE, { posts: [{ title: 'A photo', image: '/images/a photo.png' }], asset: assets.mustacheLambda(BLOG) });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
    res.end(html);
  });
  const edge = await startEdge({
    originGroups: {
      app: { members: [{ name: 'blot', url: app.url }] },
      cdn: { failoverOn: [404, 500, 502, 503, 504], members: [{ name: 'assets', url: pathToFileURL(root).href }, { name: 'blot', url: app.url }] },
    },
    sites: [
      { hosts: ['blog.test'], originGroup: 'app' },
      { hosts: ['cdn.test'], originGroup: 'cdn', behaviors: [{ path: '/*', immutable: true, verifyCacheId: true }] },
    ],
  });
  t.after(async () => {
    await edge.stop();
    await app.close();
    await manifest.close();
  });

  const page = await get(`${edge.url}/`, { host: 'blog.test' });
  const urls = [...page.text.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!);
  assert.equal(urls.length, 2);
  for (const url of urls) assert.match(url, new RegExp(`^https://cdn\\.test/${BLOG}/[0-9a-f]{20}/`), 'absolute https:// permanent URLs');
  assert.ok(urls[1]!.endsWith('/images/a%20photo.png'));

  for (const url of urls) {
    const path = new URL(url).pathname;
    const miss = await get(`${edge.url}${path}`, { host: 'cdn.test' });
    assert.equal(miss.status, 200, path);
    assert.equal(miss.headers['cache-status'], 'blotcdn; fwd=miss; stored');
    assert.equal(miss.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(miss.headers['x-served-by-origin'], 'assets');
    const hit = await get(`${edge.url}${path}`, { host: 'cdn.test' });
    assert.match(String(hit.headers['cache-status']), /^blotcdn; hit; ttl=3153\d{4}$/);
    assert.equal(hit.headers['cache-control'], 'public, max-age=31536000, immutable');
  }
  const css = await get(`${edge.url}${new URL(urls[0]!).pathname}`, { host: 'cdn.test' });
  assert.equal(css.text, 'body { color: #123; }');

  // The stylesheet changes: a new URL; the old one still works (cached, and still on disk).
  await publish(store, BLOG, 'style.css', Buffer.from('body { color: #456; }'));
  const again = await get(`${edge.url}/`, { host: 'blog.test' });
  const newCss = /href="([^"]+)"/.exec(again.text)![1]!;
  assert.notEqual(newCss, urls[0]);
  assert.equal((await get(`${edge.url}${new URL(newCss).pathname}`, { host: 'cdn.test' })).text, 'body { color: #456; }');
  const oldPath = new URL(urls[0]!).pathname;
  assert.equal((await get(`${edge.url}${oldPath}`, { host: 'cdn.test' })).text, 'body { color: #123; }');
  // A host purge leaves permanent objects alone; a URL purge still removes one…
  assert.equal((await edge.edge.purge({ kind: 'host', value: 'cdn.test' })).purged, 0);
  assert.match(String((await get(`${edge.url}${oldPath}`, { host: 'cdn.test' })).headers['cache-status']), /^blotcdn; hit/);
  assert.ok((await edge.edge.purge({ kind: 'url', value: `cdn.test${oldPath}` })).purged >= 1);
  // …and the old version is still on disk to be fetched again.
  const refetched = await get(`${edge.url}${oldPath}`, { host: 'cdn.test' });
  assert.equal(refetched.text, 'body { color: #123; }');
  assert.equal(refetched.headers['cache-status'], 'blotcdn; fwd=miss; stored');
});

test('a body that does not match its cacheID is served but never stored', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'blotcdn-tamper-'));
  const id = cacheIdOf(Buffer.from('the real bytes'));
  await mkdir(join(root, BLOG, id), { recursive: true });
  await writeFile(join(root, BLOG, id, 'x.css'), 'other bytes');
  await mkdir(join(root, BLOG, cacheIdOf(Buffer.from('good'))), { recursive: true });
  await writeFile(join(root, BLOG, cacheIdOf(Buffer.from('good')), 'ok.css'), 'good');
  const edge = await startEdge({
    originGroups: { cdn: { members: [{ name: 'assets', url: pathToFileURL(root).href }] } },
    sites: [{ hosts: ['*'], originGroup: 'cdn', behaviors: [{ path: '/blog_*', immutable: true, verifyCacheId: true }] }],
  });
  t.after(() => edge.stop());
  const first = await get(`${edge.url}/${BLOG}/${id}/x.css`);
  assert.equal(first.text, 'other bytes');
  // The check ends just after the last byte went out: wait until it has refused the body.
  const mismatches = () => edge.edge.stats.notStored.get('cacheid-mismatch') ?? 0;
  await waitFor(() => mismatches() === 1, 'the cacheID check to refuse the first body');
  await settled(edge);
  const second = await get(`${edge.url}/${BLOG}/${id}/x.css`);
  assert.match(String(second.headers['cache-status']), /fwd=miss/, 'the mismatching body was not stored');
  await waitFor(() => mismatches() === 2, 'the cacheID check to refuse the second body');
  await settled(edge);
  assert.equal(mismatches(), 2);
  const good = `${edge.url}/${BLOG}/${cacheIdOf(Buffer.from('good'))}/ok.css`;
  await get(good);
  await settled(edge);
  assert.match(String((await get(good)).headers['cache-status']), /^blotcdn; hit/, 'a matching body is stored');
  // Traversal through the edge is refused by the folder origin, not answered from outside the root.
  const escape = await rawRequest(edge.port, `GET /${BLOG}/%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.match(escape, /^HTTP\/1\.1 (400|404)/);
  assert.doesNotMatch(escape, /root:/);
});
