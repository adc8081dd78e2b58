import { test } from 'node:test';
import assert from 'node:assert/strict';
import { certifiableHost, HostPolicy } from './host-policy.js';

test('certifiable hosts: public-looking DNS names only', () => {
  assert.equal(certifiableHost('Blog.Example.COM.'), 'blog.example.com');
  assert.equal(certifiableHost('blog.example.com:443'), 'blog.example.com');
  for (const bad of ['localhost', 'x.localhost', 'foo.local', 'printer.localdomain', '1.2.3.4', '[::1]', '10.0.0.1:443', 'example', 'a_b.example.com', '-a.example.com', 'a-.example.com', 'a..example.com', 'example.123', 'a b.com', '', 'x.invalid', '4.3.2.1.in-addr.arpa', `${'a'.repeat(64)}.com`]) {
    assert.equal(certifiableHost(bad), undefined, bad);
  }
});

test('static names and one-label wildcards, as SiteTable matches them', async () => {
  const policy = new HostPolicy({ names: ['blot.im', '*.blot.im', 'www.Example.com'] });
  assert.equal(await policy.allows('blot.im'), true);
  assert.equal(await policy.allows('a.blot.im'), true);
  assert.equal(await policy.allows('A.Blot.IM.'), true);
  assert.equal(await policy.allows('a.b.blot.im'), false);
  assert.equal(await policy.allows('www.example.com'), true);
  assert.equal(await policy.allows('example.com'), false);
  assert.equal(await policy.verdict('localhost'), 'invalid');
  assert.equal(await policy.verdict('other.net'), 'not-listed');
});

test('a bare * or a malformed name in the config is refused', () => {
  assert.throws(() => new HostPolicy({ names: ['*'] }), /needs a list/);
  assert.throws(() => new HostPolicy({ names: ['*.*.blot.im'] }));
  assert.throws(() => new HostPolicy({ names: ['localhost'] }));
});

test('domain sources are asked in order; an error is a no from that source', async () => {
  const asked: string[] = [];
  const errors: string[] = [];
  const policy = new HostPolicy({
    names: ['*.blot.im'],
    sources: [
      { name: 'broken', lookup: async (h) => (asked.push(`broken:${h}`), Promise.reject(new Error('down'))) },
      { name: 'list', lookup: async (h) => (asked.push(`list:${h}`), h === 'custom.example.org') },
    ],
    onError: (_e, host, source) => errors.push(`${source}:${host}`),
  });
  assert.equal(await policy.allows('a.blot.im'), true);
  assert.deepEqual(asked, [], 'static names need no source');
  assert.equal(await policy.allows('custom.example.org'), true);
  assert.equal(await policy.allows('stranger.example.org'), false);
  assert.equal(await policy.allows('127.0.0.1'), false);
  assert.deepEqual(asked, ['broken:custom.example.org', 'list:custom.example.org', 'broken:stranger.example.org', 'list:stranger.example.org']);
  assert.deepEqual(errors, ['broken:custom.example.org', 'broken:stranger.example.org']);
});
