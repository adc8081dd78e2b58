// One contract for every CertStore (FsCertStore, RedisCertStore): certificates replaced whole,
// challenge answers that expire, account keys, and the issuance lock — exclusive, expiring, and
// released only by its holder. Then what each store adds: file modes and stale lock files on disk;
// the platform's `ssl:{host}:latest` certificates in Redis.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedis, type TestRedis } from './helpers/redis.js';
import type { CertStore, StoredCert } from '../src/tls/cert-store.js';
import { FsCertStore } from '../src/tls/fs-cert-store.js';
import { RedisCertStore } from '../src/tls/redis-cert-store.js';
import { selfSignedCertificate } from '../src/tls/self-signed.js';
import { certId } from '../src/tls/certificate.js';
import { waitFor } from './helpers/wait.js';

function contract(name: string, make: () => Promise<CertStore>) {
  describe(`${name}: the CertStore contract`, () => {
    let store: CertStore;
    let a: StoredCert;
    let b: StoredCert;

    before(async () => {
      store = await make();
      [a, b] = await Promise.all([selfSignedCertificate({ names: ['a.example.com'] }), selfSignedCertificate({ names: ['a.example.com'] })]);
    });
    after(() => store.close());

    test('certificates: absent, put, replaced, listed, deleted', async () => {
      assert.equal(await store.getCert('a.example.com'), undefined);
      await store.putCert('a.example.com', { ...a, source: 'acme' });
      const got = await store.getCert('a.example.com');
      assert.equal(certId(got!), certId(a));
      assert.equal(got!.keyPem.trim(), a.keyPem.trim());
      assert.equal(got!.notAfter, a.notAfter);
      assert.equal(got!.source, 'acme');
      await store.putCert('a.example.com', { ...b, source: 'acme' });
      assert.equal(certId((await store.getCert('a.example.com'))!), certId(b));
      assert.ok((await store.listCerts()).includes('a.example.com'));
      await store.deleteCert('a.example.com');
      assert.equal(await store.getCert('a.example.com'), undefined);
      assert.ok(!(await store.listCerts()).includes('a.example.com'));
    });

    test('host names that could escape the store are refused', async () => {
      for (const bad of ['../etc/passwd', 'a/b', '', 'A.example.com', 'a..b']) {
        await assert.rejects(store.getCert(bad), /not a host name/, bad);
      }
    });

    test('challenge answers expire', async () => {
      // Expiry is the store's own (a file's deadline, Redis's PX), so a short-lived answer is
      // waited out, not slept out; a long-lived one shows the answer is kept until its time.
      await store.putChallenge('http-01', 'tok-1', 'tok-1.thumb', 60_000);
      await store.putChallenge('http-01', 'tok-2', 'tok-2.thumb', 80);
      await store.putChallenge('tls-alpn-01', 'a.example.com', '{"certPem":"x"}', 60_000);
      assert.equal(await store.getChallenge('http-01', 'tok-1'), 'tok-1.thumb');
      assert.equal(await store.getChallenge('tls-alpn-01', 'a.example.com'), '{"certPem":"x"}');
      assert.equal(await store.getChallenge('tls-alpn-01', 'tok-1'), undefined, 'kinds are separate');
      await waitFor(async () => (await store.getChallenge('http-01', 'tok-2')) === undefined, 'the 80 ms answer to expire');
      assert.equal(await store.getChallenge('http-01', 'tok-1'), 'tok-1.thumb', 'the 60 s answer outlives it');
      await store.deleteChallenge('http-01', 'tok-1');
      assert.equal(await store.getChallenge('http-01', 'tok-1'), undefined);
    });

    test('accounts are kept per directory', async () => {
      await store.putAccount({ directoryUrl: 'https://ca.example/dir', keyPem: 'KEY-1', email: 'ops@example.com' });
      assert.deepEqual(await store.getAccount('https://ca.example/dir'), { directoryUrl: 'https://ca.example/dir', keyPem: 'KEY-1', email: 'ops@example.com' });
      assert.equal(await store.getAccount('https://other.example/dir'), undefined);
    });

    test('the lock is exclusive, released by its holder, and expires', async () => {
      const release = await store.lock('issue:a.example.com', 60_000);
      assert.ok(release);
      assert.equal(await store.lock('issue:a.example.com', 60_000), undefined);
      assert.ok(await store.lock('issue:b.example.com', 60_000), 'locks are per name');
      await release();
      const again = await store.lock('issue:a.example.com', 100);
      assert.ok(again, 'free after release');
      // Taken again only once the 100 ms lock has expired (each try takes it if it is free).
      let next: Awaited<ReturnType<CertStore['lock']>>;
      await waitFor(async () => (next = await store.lock('issue:a.example.com', 60_000)) !== undefined, 'the 100 ms lock to expire');
      assert.ok(next, 'free after expiry');
      await again(); // the expired holder's late release…
      assert.equal(await store.lock('issue:a.example.com', 60_000), undefined, '…does not free the new holder');
      await next();
    });

    test('of 20 simultaneous takers exactly one gets the lock', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => store.lock('issue:race.example.com', 60_000)));
      assert.equal(results.filter(Boolean).length, 1);
      await results.find(Boolean)!();
    });
  });
}

let redisServer: TestRedis;
const clients: Redis[] = [];
before(async () => {
  redisServer = await startRedis();
});
after(async () => {
  for (const c of clients) c.disconnect();
  await redisServer?.stop();
});
const redis = () => {
  const c = new Redis(redisServer.url);
  clients.push(c);
  return c;
};

contract('FsCertStore', async () => new FsCertStore(await mkdtemp(join(tmpdir(), 'blotcdn-certs-'))));
contract('RedisCertStore', async () => new RedisCertStore(redis(), { prefix: 'contract:' }));

describe('FsCertStore on disk', () => {
  test('key files are 0600 in 0700 folders, and no temporary file is left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'blotcdn-certs-'));
    const store = new FsCertStore(dir);
    await store.putCert('a.example.com', await selfSignedCertificate({ names: ['a.example.com'] }));
    await store.putAccount({ directoryUrl: 'https://ca.example/dir', keyPem: 'KEY' });
    assert.equal((await stat(join(dir, 'certs', 'a.example.com.pem'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'certs'))).mode & 0o777, 0o700);
    const [account] = await readdir(join(dir, 'accounts'));
    assert.equal((await stat(join(dir, 'accounts', account!))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  });

  test('a lock file left empty by a crash is broken once it is old', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'blotcdn-certs-'));
    const store = new FsCertStore(dir);
    const release = await store.lock('issue:crash.example.com', 60_000);
    await release!();
    assert.deepEqual(await readdir(join(dir, 'locks')), [], 'released locks leave no file');
    // Simulate a crash between creating the lock file and writing it.
    const taken = await store.lock('issue:crash.example.com', 60_000);
    const [file] = await readdir(join(dir, 'locks'));
    await writeFile(join(dir, 'locks', file!), '');
    assert.equal(await store.lock('issue:crash.example.com', 60_000), undefined, 'a fresh unreadable lock is respected');
    const old = new Date(Date.now() - 60_000);
    await utimes(join(dir, 'locks', file!), old, old);
    const after = await store.lock('issue:crash.example.com', 60_000);
    assert.ok(after, 'an old unreadable lock is broken');
    await taken!(); // its token is gone: does nothing
    assert.equal(await store.lock('issue:crash.example.com', 60_000), undefined);
    await after();
  });
});

describe("RedisCertStore and the platform's certificates", () => {
  test('ssl:{host}:latest is read, listed, and loses to a longer-lived certificate of our own', async () => {
    const client = redis();
    const errors: string[] = [];
    const store = new RedisCertStore(client, { prefix: 'legacy-test:', onError: (_e, key) => errors.push(key) });
    const platform = await selfSignedCertificate({ names: ['blog.example.net'], validityMs: 30 * 86_400_000 });
    await client.set('ssl:blog.example.net:latest', JSON.stringify({ fullchain_pem: platform.certPem, privkey_pem: platform.keyPem }));
    const got = await store.getCert('blog.example.net');
    assert.equal(got?.source, 'platform');
    assert.equal(certId(got!), certId(platform));
    assert.ok((await store.listCerts()).includes('blog.example.net'));

    const ours = await selfSignedCertificate({ names: ['blog.example.net'], validityMs: 90 * 86_400_000 });
    await store.putCert('blog.example.net', { ...ours, source: 'acme' });
    assert.equal(certId((await store.getCert('blog.example.net'))!), certId(ours));
    assert.equal(await client.get('ssl:blog.example.net:latest').then((v) => JSON.parse(v!).fullchain_pem), platform.certPem, "the platform's key is never written");

    await client.set('ssl:broken.example.net:latest', '{"fullchain_pem": "not a pem", "privkey_pem": "x"}');
    await client.set('ssl:mismatch.example.net:latest', JSON.stringify({ fullchain_pem: platform.certPem, privkey_pem: ours.keyPem }));
    assert.equal(await store.getCert('broken.example.net'), undefined);
    assert.equal(await store.getCert('mismatch.example.net'), undefined, 'a key that does not match its certificate is not used');
    assert.deepEqual(errors.sort(), ['ssl:broken.example.net:latest', 'ssl:mismatch.example.net:latest']);

    const without = new RedisCertStore(client, { prefix: 'legacy-test:', legacyKey: false });
    assert.equal(await without.getCert('broken.example.net'), undefined);
    assert.ok(!(await without.listCerts()).includes('broken.example.net'));
  });
});
