import { test } from 'node:test';
import assert from 'node:assert/strict';
import Mustache from 'mustache';
import { createAssets, normaliseCdnHost } from './create-assets.js';
import { MemoryManifest } from './manifest.js';
import { cacheIdOf } from './cache-id.js';
import { AssetError } from './asset-error.js';

const BLOG = 'blog_0123456789abcdef0123456789abcdef';
const GUID = '6f1c2a9e-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
const CSS = Buffer.from('body { color: red }');
const ID = cacheIdOf(CSS);

async function setup(options: Partial<Parameters<typeof createAssets>[0]> = {}) {
  const manifest = new MemoryManifest();
  await manifest.update(BLOG, '/templates/foo/style.css', CSS);
  await manifest.update(GUID, 'style.css', CSS);
  await manifest.update(BLOG, 'images/my photo (1).jpg', Buffer.from('jpg'));
  return { manifest, assets: createAssets({ cdnHost: 'cdn.blot.im', manifest, ...options }) };
}

test('assetUrl: https://{cdnHost}/{blogID}/{cacheID}/{path}, for both blog id forms', async () => {
  const { assets } = await setup();
  assert.equal(assets.assetUrl(BLOG, '/templates/foo/style.css'), `https://cdn.blot.im/${BLOG}/${ID}/templates/foo/style.css`);
  assert.equal(assets.assetUrl(BLOG, 'templates/foo/style.css'), `https://cdn.blot.im/${BLOG}/${ID}/templates/foo/style.css`);
  assert.equal(assets.assetUrl(GUID, '/style.css'), `https://cdn.blot.im/${GUID}/${ID}/style.css`);
  assert.equal(assets.assetUrl(GUID.toUpperCase(), '/style.css'), `https://cdn.blot.im/${GUID}/${ID}/style.css`);
});

test('assetUrl: the path is %-encoded, and the URL parses back to the same file', async () => {
  const { assets, manifest } = await setup();
  const url = assets.assetUrl(BLOG, '/images/my photo (1).jpg');
  assert.match(url, /^https:\/\/cdn\.blot\.im\/blog_[0-9a-f]{32}\/[0-9a-f]{20}\/images\/my%20photo%20%281%29\.jpg$/);
  const parsed = new URL(url);
  assert.equal(parsed.href, url);
  const [, blogID, cacheID, ...rest] = parsed.pathname.split('/');
  assert.equal(blogID, BLOG);
  assert.equal(cacheID, manifest.get(BLOG, 'images/my photo (1).jpg'));
  assert.equal(decodeURIComponent(rest.join('/')), 'images/my photo (1).jpg');
});

test('assetUrl: always absolute https — the host may be given bare or as https://, never http or protocol-less', () => {
  assert.equal(normaliseCdnHost('cdn.blot.im'), 'cdn.blot.im');
  assert.equal(normaliseCdnHost('CDN.Blot.IM'), 'cdn.blot.im');
  assert.equal(normaliseCdnHost('https://cdn.blot.im/'), 'cdn.blot.im');
  assert.equal(normaliseCdnHost('https://cdn.blot.im:443'), 'cdn.blot.im');
  assert.equal(normaliseCdnHost('cdn.blot.test:8443'), 'cdn.blot.test:8443');
  for (const bad of ['http://cdn.blot.im', '//cdn.blot.im', 'ftp://x', '', 'cdn.blot.im/static', 'https://u:p@cdn.blot.im', 'cdn blot', 'https://cdn.blot.im?x']) {
    assert.throws(() => createAssets({ cdnHost: bad, manifest: new MemoryManifest() }), { name: 'AssetError', code: 'invalid_cdn_host' }, bad);
  }
  assert.throws(() => normaliseCdnHost('http://cdn.blot.im'), /always https/);
});

test('assetUrl: invalid blog ids and paths throw whatever `missing` says', async () => {
  const { assets } = await setup();
  assert.throws(() => assets.assetUrl('blog_../etc', 'style.css'), { code: 'invalid_blog_id' });
  assert.throws(() => assets.assetUrl(`${BLOG}/x`, 'style.css'), { code: 'invalid_blog_id' });
  assert.throws(() => assets.assetUrl(BLOG, '/../other/style.css'), { code: 'invalid_path' });
  assert.throws(() => assets.assetUrl(BLOG, ''), { code: 'invalid_path' });
});

test('unknown path, default: the mutable CDN address (no cacheID), and onMissing is told', async () => {
  const missed: string[] = [];
  const { assets } = await setup({ onMissing: (blogID, path) => missed.push(`${blogID} ${path}`) });
  assert.equal(assets.assetUrl(BLOG, '/typo.css'), `https://cdn.blot.im/${BLOG}/typo.css`);
  assert.equal(assets.assetUrl(BLOG, '/sub dir/x.css'), `https://cdn.blot.im/${BLOG}/sub%20dir/x.css`);
  assert.deepEqual(missed, [`${BLOG} typo.css`, `${BLOG} sub dir/x.css`]);
  // A first segment shaped like a cacheID would make the fallback look permanent: refused instead.
  assert.throws(() => assets.assetUrl(BLOG, '/0123456789abcdef0123/x.css'), { code: 'unknown_asset' });
});

test("unknown path with missing: 'throw' or a function", async () => {
  const strict = (await setup({ missing: 'throw' })).assets;
  assert.throws(
    () => strict.assetUrl(BLOG, '/typo.css'),
    (err: unknown) => err instanceof AssetError && err.code === 'unknown_asset' && /"typo\.css" is not in the manifest of blog_/.test(err.message),
  );
  const own = (await setup({ missing: (blogID, path) => `https://example.com/${blogID}/${path}` })).assets;
  assert.equal(own.assetUrl(BLOG, 'typo.css'), `https://example.com/${BLOG}/typo.css`);
});

test('a new version changes the URL at once (memo dropped on change); other blogs keep theirs', async () => {
  const { assets, manifest } = await setup();
  const before = assets.assetUrl(BLOG, '/templates/foo/style.css');
  const other = assets.assetUrl(GUID, '/style.css');
  assert.equal(assets.assetUrl(BLOG, '/templates/foo/style.css'), before);
  const next = await manifest.update(BLOG, 'templates/foo/style.css', Buffer.from('body { color: blue }'));
  assert.equal(assets.assetUrl(BLOG, '/templates/foo/style.css'), `https://cdn.blot.im/${BLOG}/${next}/templates/foo/style.css`);
  assert.equal(assets.assetUrl(GUID, '/style.css'), other);
  await manifest.remove(BLOG, 'templates/foo/style.css');
  assert.equal(assets.assetUrl(BLOG, '/templates/foo/style.css'), `https://cdn.blot.im/${BLOG}/templates/foo/style.css`);
  assets.close();
});

test('the memo stays within its limit and answers stay right', async () => {
  const { assets } = await setup({ memoLimit: 2 });
  for (let i = 0; i < 10; i++) {
    assert.equal(assets.assetUrl(BLOG, i % 2 ? '/templates/foo/style.css' : 'templates//foo/style.css'), `https://cdn.blot.im/${BLOG}/${ID}/templates/foo/style.css`);
    assert.equal(assets.assetUrl(GUID, 'style.css'), `https://cdn.blot.im/${GUID}/${ID}/style.css`);
  }
});

test('helper: a plain (path) => url function for other template engines', async () => {
  const { assets } = await setup();
  const asset = assets.helper(BLOG);
  assert.equal(asset('/templates/foo/style.css'), `https://cdn.blot.im/${BLOG}/${ID}/templates/foo/style.css`);
  const html = `<link rel="stylesheet" href="${asset('templates/foo/style.css')}">`;
  assert.match(html, /href="https:\/\/cdn\.blot\.im\/blog_[0-9a-f]{32}\/[0-9a-f]{20}\/templates\/foo\/style\.css"/);
  assert.throws(() => assets.helper('not-a-blog'), { code: 'invalid_blog_id' });
});

test('Mustache: {{#asset}}/style.css{{/asset}} renders the permanent URL with the real mustache package', async () => {
  const { assets } = await setup();
  const template = [
    '<link rel="stylesheet" href="{{#asset}}/templates/foo/style.css{{/asset}}">',
    '{{#posts}}<img src="{{#asset}}{{image}}{{/asset}}" alt="{{title}}">{{/posts}}',
    '{{#posts}}<img src="{{#asset}}{{{image}}}{{/asset}}">{{/posts}}',
    '<a href="{{#asset}} /templates/{{theme}}/style.css {{/asset}}">again</a>',
  ].join('\n');
  const view = {
    theme: 'foo',
    posts: [{ title: 'One & two', image: '/images/my photo (1).jpg' }],
    asset: assets.mustacheLambda(BLOG),
  };
  const html = Mustache.render(template, view);
  const jpg = assets.assetUrl(BLOG, 'images/my photo (1).jpg');
  assert.equal(
    html,
    [
      `<link rel="stylesheet" href="https://cdn.blot.im/${BLOG}/${ID}/templates/foo/style.css">`,
      `<img src="${jpg}" alt="One &amp; two">`,
      `<img src="${jpg}">`,
      `<a href="https://cdn.blot.im/${BLOG}/${ID}/templates/foo/style.css">again</a>`,
    ].join('\n'),
  );
});

test('Mustache: names with & and = survive the escaping of {{…}} inside the section', async () => {
  const { assets, manifest } = await setup();
  const id = await manifest.update(BLOG, 'a&b=c.css', Buffer.from('x'));
  const html = Mustache.render('{{#asset}}{{name}}{{/asset}}', { name: '/a&b=c.css', asset: assets.mustacheLambda(BLOG) });
  assert.equal(html, `https://cdn.blot.im/${BLOG}/${id}/a%26b%3Dc.css`);
});

test('Mustache: a lambda per blog, so two blogs rendered side by side never mix their URLs', async () => {
  const { assets } = await setup();
  const template = '{{#asset}}style.css{{/asset}}';
  assert.equal(Mustache.render(template, { asset: assets.mustacheLambda(GUID) }), `https://cdn.blot.im/${GUID}/${ID}/style.css`);
  assert.equal(Mustache.render(template, { asset: assets.mustacheLambda(BLOG) }), `https://cdn.blot.im/${BLOG}/style.css`);
});
