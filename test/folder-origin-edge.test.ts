// FolderOrigin among the other parts: a member of an origin group that fails over to the app on a
// missing file (but not on a refused path), and behind a real edge — a miss then hits, immutable
// Cache-Control and validators reaching the client, ranges and 304s answered from the cache, and
// revalidation answered by the folder with a 304.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BLOT_IMMUTABLE_RULES, FolderOrigin } from '../src/origins/folder-origin.js';
import { HttpOrigin } from '../src/origins/http-origin.js';
import { OriginGroup } from '../src/origins/origin-group.js';
import type { OriginMemberConfig } from '../src/config/schema.js';
import { startOrigin, respond } from './helpers/origin.js';
import { startEdge, simpleConfig } from './helpers/edge.js';
import { get } from './helpers/client.js';
import { serveOrigin } from './helpers/serve-origin.js';

const BLOG = 'blog_0123456789abcdef0123456789abcdef';
let root: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'folder-origin-edge-'));
  mkdirSync(join(root, BLOG, '_thumbnails'), { recursive: true });
  writeFileSync(join(root, 'hello.txt'), 'hello world\n');
  writeFileSync(join(root, BLOG, '_thumbnails', 'small.jpg'), 'jpeg');
});

after(() => rmSync(root, { recursive: true, force: true }));

const folder = (options: { name?: string; cacheControl?: { path: string; value: string }[] } = {}) => new FolderOrigin({ root, ...options });

async function read(body: Readable): Promise<{ data: Buffer }> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return { data: Buffer.concat(chunks) };
}

test('in an origin group: a missing file fails over on 404 to the app; a refused path does not', async (t) => {
  const app = await startOrigin(respond('from app'));
  const appMember = new HttpOrigin({ name: 'app', url: new URL(app.url), host: 'keep', pathPrefix: '', connectTimeout: 1000, headersTimeout: 2000, bodyTimeout: 2000, connections: 4, insecure: false } satisfies OriginMemberConfig);
  const group = new OriginGroup('g', [folder({ name: 'disk' }), appMember], { failoverOn: [404, 500, 502, 503, 504], breaker: { failures: 3, cooldown: 1000, probePath: '/' } });
  t.after(async () => {
    await group.close();
    await app.close();
  });
  const found = await group.fetch({ method: 'GET', path: '/hello.txt', headers: { host: 'x' } });
  assert.equal(found.member, 'disk');
  assert.equal((await read(found.body)).data.toString(), 'hello world\n');
  const missing = await group.fetch({ method: 'GET', path: '/not-on-disk.txt', headers: { host: 'x' } });
  assert.equal(missing.member, 'app');
  assert.deepEqual(missing.attempts.map((a) => [a.member, a.outcome]), [['disk', '404'], ['app', 'ok']]);
  assert.equal((await read(missing.body)).data.toString(), 'from app');
  const refused = await group.fetch({ method: 'GET', path: '/%2e%2e/x', headers: { host: 'x' } });
  assert.equal(refused.status, 400);
  assert.equal(refused.member, 'disk');
  await read(refused.body);
  assert.equal(app.count('/%2e%2e/x'), 0);
});

test('behind a real edge: a miss, then hits; validators, immutable Cache-Control and ranges reach the client', async (t) => {
  const served = await serveOrigin(folder({ cacheControl: [...BLOT_IMMUTABLE_RULES, { path: '/reval/*', value: 'max-age=0, must-revalidate' }] }));
  const edge = await startEdge(simpleConfig(served.url));
  t.after(async () => {
    await edge.stop();
    await served.close();
  });
  const path = `/${BLOG}/_thumbnails/small.jpg`;
  const miss = await get(edge.url + path);
  assert.equal(miss.status, 200);
  assert.equal(miss.text, 'jpeg');
  assert.equal(miss.headers['content-type'], 'image/jpeg');
  assert.equal(miss.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.match(String(miss.headers['etag']), /^"[0-9a-f]+-4"$/);
  const hit = await get(edge.url + path);
  assert.match(String(hit.headers['cache-status']), /hit/);
  assert.equal(hit.text, 'jpeg');
  const ranged = await get(edge.url + path, { range: 'bytes=1-2' });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.text, 'pe');
  const notModified = await get(edge.url + path, { 'if-none-match': String(miss.headers['etag']) });
  assert.equal(notModified.status, 304);
  assert.equal(served.paths.filter((p) => p === path).length, 1);

  // A file that must be revalidated every time: the edge asks conditionally, the folder says 304.
  mkdirSync(join(root, 'reval'), { recursive: true });
  writeFileSync(join(root, 'reval', 'page.html'), '<p>v1</p>');
  assert.equal((await get(edge.url + '/reval/page.html')).text, '<p>v1</p>');
  const again = await get(edge.url + '/reval/page.html');
  assert.equal(again.text, '<p>v1</p>');
  assert.deepEqual(served.statuses.slice(-2), [200, 304]);

  const missing = await get(edge.url + '/nope.txt');
  assert.equal(missing.status, 404);
});
