// FolderOrigin called directly, as the edge calls it: status, headers and the streamed body.
// Serving as nginx would: validators, 304/412, single ranges, Content-Type, no listings, bounded
// reads, no leaked file descriptors. Traversal tricks are in folder-traversal.test.ts; the origin in
// a group and behind a real edge in folder-origin-edge.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BLOT_IMMUTABLE_RULES, FolderOrigin, type FolderOriginOptions } from '../src/origins/folder-origin.js';
import type { HeaderMap } from '../src/http/headers.js';
import { waitFor } from './helpers/wait.js';

const BLOG = 'blog_0123456789abcdef0123456789abcdef';
let base: string;
let root: string;
const big = Buffer.alloc(5 * 1024 * 1024 + 123, 'blotcdn-');

before(() => {
  base = mkdtempSync(join(tmpdir(), 'folder-origin-'));
  root = join(base, 'root');
  mkdirSync(join(root, 'dir'), { recursive: true });
  mkdirSync(join(root, BLOG, '_thumbnails'), { recursive: true });
  writeFileSync(join(root, 'hello.txt'), 'hello world\n');
  writeFileSync(join(root, 'empty.txt'), '');
  writeFileSync(join(root, 'big.bin'), big);
  writeFileSync(join(root, 'dir', 'index.html'), '<h1>index</h1>');
  writeFileSync(join(root, 'with space.txt'), 'spaced');
  writeFileSync(join(root, 'ünïcödé.css'), 'body{}');
  writeFileSync(join(root, BLOG, '_thumbnails', 'small.jpg'), 'jpeg');
  for (const name of ['a.css', 'a.html', 'a.svg', 'a.woff2', 'a.js', 'a.json', 'a.unknownext', 'noext']) writeFileSync(join(root, name), 'x');
  symlinkSync('hello.txt', join(root, 'link-inside'));
});

after(() => rmSync(base, { recursive: true, force: true }));

const folder = (options: Partial<FolderOriginOptions> = {}) => new FolderOrigin({ root, ...options });

async function read(body: Readable): Promise<{ data: Buffer; chunks: number[] }> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return { data: Buffer.concat(chunks), chunks: chunks.map((c) => c.length) };
}

async function call(origin: FolderOrigin, path: string, headers: HeaderMap = {}, method = 'GET') {
  const res = await origin.fetch({ method, path, headers: { host: 'cdn.test', ...headers } });
  const { data, chunks } = await read(res.body);
  return { ...res, data, text: data.toString(), chunks };
}

const openFds = () => readdirSync('/proc/self/fd').length;

test('a file: 200 with its bytes, Content-Type, Content-Length, an nginx-style ETag and Last-Modified', async () => {
  const res = await call(folder(), '/hello.txt');
  assert.equal(res.status, 200);
  assert.equal(res.text, 'hello world\n');
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(res.headers['content-length'], '12');
  assert.equal(res.headers['accept-ranges'], 'bytes');
  const st = statSync(join(root, 'hello.txt'));
  assert.equal(res.headers['etag'], `"${Math.floor(st.mtimeMs).toString(16)}-c"`);
  assert.equal(res.headers['last-modified'], st.mtime.toUTCString());
  assert.equal(res.headers['cache-control'], undefined);
  assert.equal(res.member, 'folder');
  assert.equal(res.attempts.length, 1);
});

test('HEAD: the same fields, no body', async () => {
  const res = await call(folder(), '/hello.txt', {}, 'HEAD');
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-length'], '12');
  assert.equal(res.data.length, 0);
});

test('other methods: 405 with Allow', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    const res = await call(folder(), '/hello.txt', {}, method);
    assert.equal(res.status, 405, method);
    assert.equal(res.headers['allow'], 'GET, HEAD');
  }
});

test('conditional requests: If-None-Match and If-Modified-Since give 304, a failed If-Match 412', async () => {
  const origin = folder();
  const { headers } = await call(origin, '/hello.txt');
  const etag = headers['etag'] as string;
  for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
    const res = await call(origin, '/hello.txt', { 'if-none-match': inm });
    assert.equal(res.status, 304, inm);
    assert.equal(res.data.length, 0);
    assert.equal(res.headers['etag'], etag);
  }
  assert.equal((await call(origin, '/hello.txt', { 'if-none-match': '"other"' })).status, 200);
  assert.equal((await call(origin, '/hello.txt', { 'if-modified-since': headers['last-modified'] as string })).status, 304);
  assert.equal((await call(origin, '/hello.txt', { 'if-modified-since': 'Thu, 01 Jan 1998 00:00:00 GMT' })).status, 200);
  assert.equal((await call(origin, '/hello.txt', { 'if-match': '"other"' })).status, 412);
  assert.equal((await call(origin, '/hello.txt', { 'if-match': etag })).status, 200);
});

test('ranges: one range is 206, several get the whole file, past the end is 416, If-Range guards', async () => {
  const origin = folder();
  const first = await call(origin, '/hello.txt', { range: 'bytes=0-4' });
  assert.equal(first.status, 206);
  assert.equal(first.text, 'hello');
  assert.equal(first.headers['content-range'], 'bytes 0-4/12');
  assert.equal(first.headers['content-length'], '5');
  const suffix = await call(origin, '/hello.txt', { range: 'bytes=-6' });
  assert.equal(suffix.text, 'world\n');
  const tail = await call(origin, '/big.bin', { range: `bytes=${big.length - 10}-` });
  assert.deepEqual(tail.data, big.subarray(big.length - 10));
  const many = await call(origin, '/hello.txt', { range: 'bytes=0-1,6-7' });
  assert.equal(many.status, 200);
  assert.equal(many.text, 'hello world\n');
  const beyond = await call(origin, '/hello.txt', { range: 'bytes=100-' });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers['content-range'], 'bytes */12');
  const etag = first.headers['etag'] as string;
  assert.equal((await call(origin, '/hello.txt', { range: 'bytes=0-4', 'if-range': etag })).status, 206);
  assert.equal((await call(origin, '/hello.txt', { range: 'bytes=0-4', 'if-range': '"old"' })).status, 200);
  assert.equal((await call(origin, '/hello.txt', { range: 'bytes=0-4' }, 'HEAD')).status, 200);
  assert.equal((await call(origin, '/hello.txt', { range: 'lines=1-2' })).status, 200);
});

test('a large file is streamed from disk in bounded chunks, never read whole', async () => {
  const res = await call(folder(), '/big.bin');
  assert.equal(res.headers['content-length'], String(big.length));
  assert.equal(createHash('sha256').update(res.data).digest('hex'), createHash('sha256').update(big).digest('hex'));
  assert.ok(res.chunks.length >= 80, `${res.chunks.length} chunks`);
  assert.ok(Math.max(...res.chunks) <= 64 * 1024, `largest chunk ${Math.max(...res.chunks)}`);
  const small = await call(folder({ readSize: 16 * 1024 }), '/big.bin');
  assert.ok(Math.max(...small.chunks) <= 16 * 1024);
});

test('an empty file is a 200 with Content-Length 0', async () => {
  const res = await call(folder(), '/empty.txt');
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-length'], '0');
  assert.equal(res.data.length, 0);
});

test('Content-Type comes from the extension; unknown ones are application/octet-stream', async () => {
  const expect: Record<string, string> = {
    '/a.css': 'text/css; charset=utf-8',
    '/a.html': 'text/html; charset=utf-8',
    '/a.svg': 'image/svg+xml',
    '/a.woff2': 'font/woff2',
    '/a.js': 'text/javascript; charset=utf-8',
    '/a.json': 'application/json; charset=utf-8',
    '/a.unknownext': 'application/octet-stream',
    '/noext': 'application/octet-stream',
  };
  for (const [path, type] of Object.entries(expect)) assert.equal((await call(folder(), path)).headers['content-type'], type, path);
});

test('percent-encoded names: spaces and unicode', async () => {
  assert.equal((await call(folder(), '/with%20space.txt')).text, 'spaced');
  const res = await call(folder(), '/' + encodeURIComponent('ünïcödé.css'));
  assert.equal(res.status, 200);
  assert.equal(res.text, 'body{}');
  assert.equal(res.headers['content-type'], 'text/css; charset=utf-8');
  assert.equal((await call(folder(), '/hello.txt?v=123')).text, 'hello world\n');
});

test('missing files and directories are 404; no listing ever', async () => {
  for (const path of ['/missing.txt', '/dir', '/dir/', '/', '/hello.txt/', '/hello.txt/x']) {
    const res = await call(folder(), path);
    assert.equal(res.status, 404, path);
    assert.doesNotMatch(res.text, /index\.html/);
  }
});

test('with an index file: dir/ serves it, dir redirects to dir/, a folder without one is still 404', async () => {
  const origin = folder({ index: 'index.html' });
  const res = await call(origin, '/dir/');
  assert.equal(res.status, 200);
  assert.equal(res.text, '<h1>index</h1>');
  assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
  const redirect = await call(origin, '/dir?x=1');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers['location'], '/dir/?x=1');
  // Never a protocol-relative Location (an open redirect to a host named like a folder).
  assert.equal((await call(origin, '//dir')).headers['location'], '/dir/');
  assert.equal((await call(origin, `/${BLOG}/`)).status, 404);
  assert.equal((await call(origin, '/dir/index.html/')).status, 404);
  assert.throws(() => folder({ index: '../secret' }), /plain file name/);
});

test('Cache-Control by path: the platform’s generated assets are immutable for a year', async () => {
  const origin = folder({ cacheControl: [...BLOT_IMMUTABLE_RULES, { path: '*.css', value: 'public, max-age=60' }] });
  assert.equal((await call(origin, `/${BLOG}/_thumbnails/small.jpg`)).headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal((await call(origin, '/a.css')).headers['cache-control'], 'public, max-age=60');
  assert.equal((await call(origin, '/hello.txt')).headers['cache-control'], undefined);
  // 304s carry it too, so a revalidated object stays immutable.
  const etag = (await call(origin, '/a.css')).headers['etag'] as string;
  assert.equal((await call(origin, '/a.css', { 'if-none-match': etag })).headers['cache-control'], 'public, max-age=60');
});

test('a symlink that stays inside the root is followed; the root itself may be a symlink', async () => {
  assert.equal((await call(folder(), '/link-inside')).text, 'hello world\n');
  const linkedRoot = join(base, 'root-link');
  symlinkSync(root, linkedRoot);
  assert.equal((await call(new FolderOrigin({ root: linkedRoot }), '/hello.txt')).text, 'hello world\n');
});

test('a root that is missing or not a directory is refused at construction', () => {
  assert.throws(() => new FolderOrigin({ root: join(base, 'nope') }), /cannot be read/);
  assert.throws(() => new FolderOrigin({ root: join(root, 'hello.txt') }), /not a directory/);
});

test('a FIFO in the folder is a 404 at once, not a hung request', async () => {
  execFileSync('mkfifo', [join(root, 'pipe')]);
  const res = await call(folder(), '/pipe');
  assert.equal(res.status, 404);
});

test('an aborted request: refused before it starts, and its body stream is destroyed', async () => {
  const done = new AbortController();
  done.abort();
  await assert.rejects(folder().fetch({ method: 'GET', path: '/big.bin', headers: {} }, done.signal));
  const ac = new AbortController();
  const res = await folder({ readSize: 1024 }).fetch({ method: 'GET', path: '/big.bin', headers: {} }, ac.signal);
  const errored = new Promise<Error>((resolve) => res.body.once('error', resolve));
  res.body.once('data', () => ac.abort());
  res.body.resume();
  assert.equal((await errored).name, 'AbortError');
  assert.equal(res.body.destroyed, true);
});

test('no file descriptor is left open, whatever the answer', async () => {
  const origin = folder();
  const etag = (await call(origin, '/hello.txt')).headers['etag'] as string;
  const before = openFds();
  for (let i = 0; i < 50; i++) {
    await call(origin, '/hello.txt');
    await call(origin, '/hello.txt', {}, 'HEAD');
    await call(origin, '/hello.txt', { 'if-none-match': etag });
    await call(origin, '/hello.txt', { range: 'bytes=99-' });
    await call(origin, '/dir/');
    await call(origin, '/missing');
    await call(origin, '/empty.txt');
  }
  // Descriptors are closed just after each answer ends: wait for that, not for a fixed time (a
  // leaked one never closes, and the wait fails).
  await waitFor(() => openFds() <= before + 2, `the descriptors to close (${before} before the calls)`);
  assert.ok(openFds() <= before + 2, `fds ${before} → ${openFds()}`);
});
