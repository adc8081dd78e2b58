// What publish() accepts and what it derives: the URLs purged hard and warmed (index, pages, feeds,
// tag pages on every host), the soft purge, and a clear error naming the field for a bad post.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssetError } from '../asset-error.js';
import { publishJobData, type Post } from './publisher.js';

const BLOG = 'blog_0123456789abcdef0123456789abcdef';
const defaults = { scheme: 'https', feeds: ['/feed.rss'], tagPath: (t: string) => `/tagged/${encodeURIComponent(t.toLowerCase())}`, softPurge: 'hosts' as const };

test('a post becomes the URLs to purge and warm on every host, and a soft purge of the hosts', () => {
  const data = publishJobData(
    { blogID: BLOG, hosts: ['Example.blot.im', 'www.example.com.'], changed: { pages: ['/2024/hello', '/'], tags: ['Long Walks'], assets: [{ path: '/photos/a.jpg', file: '/src/a.jpg' }] } },
    defaults,
  );
  assert.deepEqual(data.hosts, ['example.blot.im', 'www.example.com']);
  assert.deepEqual(data.assets, ['photos/a.jpg']);
  const paths = ['/', '/2024/hello', '/feed.rss', '/tagged/long%20walks'];
  assert.deepEqual(data.urls, [...paths.map((p) => `https://example.blot.im${p}`), ...paths.map((p) => `https://www.example.com${p}`)]);
  assert.deepEqual(data.soft, { host: ['example.blot.im', 'www.example.com'] });
  assert.deepEqual(publishJobData({ blogID: BLOG, hosts: ['a.blot.im'], changed: {} }, { ...defaults, softPurge: () => ({ tag: [BLOG] }) }).soft, { tag: [BLOG] });
  assert.deepEqual(publishJobData({ blogID: BLOG, hosts: ['a.blot.im'], changed: {} }, { ...defaults, softPurge: false }).soft, {});
});

test('a bad post is refused with the field that is wrong', () => {
  const bad: [unknown, RegExp][] = [
    [{ blogID: 'nope', hosts: ['a.blot.im'], changed: {} }, /blog/i],
    [{ blogID: BLOG, hosts: [], changed: {} }, /^hosts: .* at least one host/],
    [{ blogID: BLOG, hosts: ['https://a.blot.im'], changed: {} }, /^hosts\[0\]: "https:\/\/a\.blot\.im" is not a host name/],
    [{ blogID: BLOG, hosts: ['a.blot.im'], changed: { pages: ['2024/x'] } }, /^changed\.pages\[0\]: .*starting with \//],
    [{ blogID: BLOG, hosts: ['a.blot.im'], changed: { pages: ['//evil.example/x'] } }, /^changed\.pages\[0\]/],
    [{ blogID: BLOG, hosts: ['a.blot.im'], changed: { tags: [''] } }, /^changed\.tags\[0\]/],
    [{ blogID: BLOG, hosts: ['a.blot.im'], changed: { assets: [{ path: 'a.jpg', file: 'relative/a.jpg' }] } }, /^changed\.assets\[0\]: .*absolute path/],
    [{ blogID: BLOG, hosts: ['a.blot.im'], changed: { assets: [{ path: '../a.jpg', file: '/a.jpg' }] } }, /^changed\.assets\[0\]\.path: /],
  ];
  for (const [post, message] of bad) {
    assert.throws(() => publishJobData(post as Post, defaults), (err: AssetError) => (err.code === 'invalid_post' || err.code === 'invalid_blog_id') && message.test(err.message), JSON.stringify(post));
  }
});
