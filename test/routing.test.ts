// Host → site and path → behavior, seen from a client: two sites on different hosts with different
// origins, wildcards, behaviors tried in order, bypass, and unknown hosts refused without ever
// reaching an origin.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, type TestEdge } from './helpers/edge.js';
import { get } from './helpers/client.js';

let app: TestOrigin;
let bucket: TestOrigin;
let other: TestOrigin;
let edge: TestEdge;

const named = (name: string) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
  // The host name only: the edge adds its listener's port (a free one here) to the Host it sends.
  res.end(`${name} ${req.headers.host?.replace(/:\d+$/, '')} ${req.url}`);
};

before(async () => {
  app = await startOrigin(named('app'));
  bucket = await startOrigin(named('bucket'));
  other = await startOrigin(named('other'));
  edge = await startEdge({
    originGroups: {
      app: { members: [{ url: app.url }] },
      bucket: { members: [{ url: bucket.url }] },
      other: { members: [{ url: other.url }] },
    },
    sites: [
      {
        name: 'blogs',
        hosts: ['*.blot.im', 'blot.im', 'example.com'],
        originGroup: 'app',
        behaviors: [
          { path: '/blog_*/_thumbnails/*', originGroup: 'bucket' },
          { path: '*.css', originGroup: 'bucket', ttl: { max: 0 } },
          { path: '/live/*', bypass: true },
          { path: '*' },
        ],
      },
      { name: 'other', hosts: ['other.test'], originGroup: 'other' },
    ],
  });
});

after(async () => {
  await edge.stop();
  await Promise.all([app.close(), bucket.close(), other.close()]);
});

test('two sites on different hosts go to different origins, Host kept', async () => {
  const a = await get(`${edge.url}/x`, { host: 'example.com' });
  const b = await get(`${edge.url}/x`, { host: 'other.test' });
  assert.equal(a.text, 'app example.com /x');
  assert.equal(b.text, 'other other.test /x');
});

test('a one-label wildcard matches subdomains, not deeper names', async () => {
  assert.equal((await get(`${edge.url}/w`, { host: 'alice.blot.im' })).text, 'app alice.blot.im /w');
  const deep = await get(`${edge.url}/w`, { host: 'a.b.blot.im' });
  assert.equal(deep.status, 421);
});

test('behaviors are tried in order; the first match decides', async () => {
  const thumb = await get(`${edge.url}/blog_0123/_thumbnails/a.css`, { host: 'blot.im' });
  assert.equal(thumb.text, 'bucket blot.im /blog_0123/_thumbnails/a.css', 'the thumbnail rule comes before *.css');
  const css = await get(`${edge.url}/style.css`, { host: 'blot.im' });
  assert.equal(css.text, 'bucket blot.im /style.css');
  const page = await get(`${edge.url}/about`, { host: 'blot.im' });
  assert.equal(page.text, 'app blot.im /about');
});

test("a behavior's TTL bounds apply (max 0: never fresh) and bypass never caches", async () => {
  await get(`${edge.url}/theme.css`, { host: 'blot.im' });
  const again = await get(`${edge.url}/theme.css`, { host: 'blot.im' });
  assert.doesNotMatch(String(again.headers['cache-status']), /hit/);
  assert.equal(bucket.count('/theme.css'), 2);

  const live1 = await get(`${edge.url}/live/stream`, { host: 'blot.im' });
  const live2 = await get(`${edge.url}/live/stream`, { host: 'blot.im' });
  assert.equal(live1.headers['cache-status'], 'blotcdn; fwd=bypass');
  assert.equal(live2.headers['cache-status'], 'blotcdn; fwd=bypass');
  assert.equal(app.count('/live/stream'), 2);
});

test('an unknown host gets 421 with a clear body and is never forwarded', async () => {
  const before = app.requests.length + bucket.requests.length + other.requests.length;
  const res = await get(`${edge.url}/`, { host: 'evil.example' });
  assert.equal(res.status, 421);
  assert.match(res.text, /unknown_host/);
  assert.match(res.text, /evil\.example/);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(app.requests.length + bucket.requests.length + other.requests.length, before);
});

test('a Host that is not a host name is refused with 400', async () => {
  const res = await get(`${edge.url}/`, { host: 'a/b@c' });
  assert.equal(res.status, 400);
  assert.match(res.text, /bad_request/);
});
