import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE_ID_LENGTH, CacheIdHasher, assertCacheID, cacheIdOf, cacheIdOfContent, cacheIdOfFile, isCacheID } from './cache-id.js';

test('a cacheID is the first 20 hex digits of SHA-256', () => {
  assert.equal(CACHE_ID_LENGTH, 20);
  assert.equal(cacheIdOf(Buffer.alloc(0)), 'e3b0c44298fc1c149afb'); // SHA-256 of nothing
  assert.equal(cacheIdOf(Buffer.from('body{}')), createHash('sha256').update('body{}').digest('hex').slice(0, 20));
  assert.ok(isCacheID(cacheIdOf(Buffer.from('x'))));
});

test('bytes, a streamed file and a running hash agree; one changed byte changes the id', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cacheid-'));
  try {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const file = join(dir, 'big.bin');
    await writeFile(file, bytes);
    const id = cacheIdOf(bytes);
    assert.equal(await cacheIdOfFile(file), id);
    assert.equal(await cacheIdOfContent({ file }), id);
    assert.equal(await cacheIdOfContent(new Uint8Array(bytes)), id);
    const hasher = new CacheIdHasher();
    for (let i = 0; i < bytes.length; i += 65_536) hasher.update(bytes.subarray(i, i + 65_536));
    assert.equal(hasher.digest(), id);
    bytes[1000] ^= 1;
    assert.notEqual(cacheIdOf(bytes), id);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('content must be bytes or { file }: a bare string is ambiguous and refused', async () => {
  await assert.rejects(cacheIdOfContent('body{}' as never), /bytes .* or \{ file/);
  await assert.rejects(cacheIdOfContent({ file: '/nonexistent/x' }), { code: 'ENOENT' });
});

test('only 20 lower-case hex digits are a cacheID', () => {
  assert.equal(assertCacheID('0123456789abcdef0123'), '0123456789abcdef0123');
  for (const bad of ['0123456789ABCDEF0123', '0123456789abcdef012', '0123456789abcdef01234', '_thumbnails', '', 12]) {
    assert.equal(typeof bad === 'string' && isCacheID(bad), false);
    assert.throws(() => assertCacheID(bad), { code: 'invalid_cache_id' });
  }
});
