// Folder and bucket members declared in a config (and quick mode's --origin file:///…), as an
// operator writes them: the edge serves a folder with validators and the platform's immutable
// rules, and a private bucket first in a group fails over to the app on a missing key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, validateConfig } from '../src/config/load.js';
import { startEdge } from './helpers/edge.js';
import { startOrigin, respond } from './helpers/origin.js';
import { startS3Server, S3_KEY } from './helpers/s3-server.js';
import { get, request } from './helpers/client.js';
import { runCli } from './helpers/cli.js';

const BLOG = 'blog_0123456789abcdef0123456789abcdef';

async function folder(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'blotcdn-folder-cfg-'));
  await mkdir(join(root, BLOG, '_thumbnails'), { recursive: true });
  await writeFile(join(root, BLOG, '_thumbnails', 'a.png'), Buffer.alloc(3000, 7));
  await writeFile(join(root, 'page.html'), '<h1>hello</h1>');
  return root;
}

test('a file: member serves the folder through the edge, with the platform immutable rules', async (t) => {
  const root = await folder();
  const edge = await startEdge({
    originGroups: { files: { members: [{ url: pathToFileURL(root).href, cacheControl: 'blot' }] } },
    sites: [{ hosts: ['cdn.test'], originGroup: 'files' }],
  });
  t.after(() => edge.stop());
  const path = `/${BLOG}/_thumbnails/a.png`;
  const first = await get(`${edge.url}${path}`, { host: 'cdn.test' });
  assert.equal(first.status, 200);
  assert.equal(first.headers['content-type'], 'image/png');
  assert.equal(first.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(first.headers['x-served-by-origin'], 'folder');
  assert.ok(first.headers['etag']);
  assert.equal(first.body.length, 3000);
  assert.match(String((await get(`${edge.url}${path}`, { host: 'cdn.test' })).headers['cache-status']), /^blotcdn; hit/);
  assert.equal((await get(`${edge.url}/missing.png`, { host: 'cdn.test' })).status, 404);
  assert.equal((await get(`${edge.url}/page.html`, { host: 'cdn.test' })).text, '<h1>hello</h1>');
});

test('quick mode takes --origin file:///path', async (t) => {
  const root = await folder();
  const run = runCli(['start', '--workers', '1', '--origin', pathToFileURL(root).href, '--listen', '127.0.0.1:0', '--access-log', 'off']);
  t.after(() => run.child.kill('SIGKILL'));
  const [, url] = await run.waitFor(/listening on (http:\/\/\S+)/);
  const res = await get(`${url}/page.html`);
  assert.equal(res.text, '<h1>hello</h1>');
});

test('an s3: member (private bucket) first in a group; a missing key fails over to the app', async (t) => {
  const s3 = await startS3Server({ bucket: 'blot-assets', missingAs403: true });
  await s3.put(`${BLOG}/_thumbnails/in-bucket.png`, 'from the bucket', { 'content-type': 'image/png' });
  const app = await startOrigin(respond('from the app', { 'cache-control': 'public, max-age=3600', 'content-type': 'image/png' }));
  const edge = await startEdge({
    originGroups: {
      cdn: {
        failoverOn: [403, 404, 500, 502, 503, 504],
        members: [
          { name: 's3', url: 's3://blot-assets', endpoint: s3.endpoint, credentials: S3_KEY },
          { name: 'blot', url: app.url },
        ],
      },
    },
    sites: [{ hosts: ['cdn.test'], originGroup: 'cdn' }],
  });
  t.after(async () => {
    await edge.stop();
    await Promise.all([s3.close(), app.close()]);
  });
  const inBucket = await get(`${edge.url}/${BLOG}/_thumbnails/in-bucket.png`, { host: 'cdn.test' });
  assert.equal(inBucket.text, 'from the bucket');
  assert.equal(inBucket.headers['x-served-by-origin'], 's3');
  const missing = await get(`${edge.url}/${BLOG}/_thumbnails/only-on-app.png`, { host: 'cdn.test' });
  assert.equal(missing.text, 'from the app');
  assert.equal(missing.headers['x-served-by-origin'], 'blot');
  const again = await get(`${edge.url}/${BLOG}/_thumbnails/only-on-app.png`, { host: 'cdn.test' });
  assert.match(String(again.headers['cache-status']), /^blotcdn; hit/, 'what the app returned is cached');
  assert.ok(s3.requests.every((r) => r.verdict === 'ok'), 'every request to the bucket was correctly signed');
  const head = await request(`${edge.url}/${BLOG}/_thumbnails/in-bucket.png`, { method: 'HEAD', headers: { host: 'cdn.test' } });
  assert.equal(head.status, 200);
});

test('fields for another kind of member are refused, naming the field', () => {
  const base = { listen: { http: '127.0.0.1:0' }, sites: [{ hosts: ['*'], originGroup: 'g' }] };
  const problems = (members: unknown[]) => {
    try {
      validateConfig({ ...base, originGroups: { g: { members } } });
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems.join('\n');
    }
    return '';
  };
  assert.match(problems([{ url: 'http://127.0.0.1:1', index: 'index.html' }]), /originGroups\.g\.members\[0\]\.index: only file: members take index/);
  assert.match(problems([{ url: 'file:///tmp', region: 'eu-west-1' }]), /members\[0\]\.region: only s3: members take region/);
  assert.match(problems([{ url: 's3://bucket', host: 'x.test' }]), /members\[0\]\.host: s3: members send no Host/);
  assert.match(problems([{ url: 'ftp://x' }]), /members\[0\]\.url: unsupported origin scheme ftp:/);
  assert.equal(problems([{ url: 's3://bucket/prefix/', region: 'eu-west-1', credentials: 'anonymous' }]), '');
});
