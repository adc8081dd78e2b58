// The CertStore in one folder, for a single node (the embedded default). Every file is written to
// `tmp/` and renamed into place, so a crash leaves the old file or the new one, never half of one;
// files holding private keys are created 0600 in a 0700 folder. Locks are O_EXCL files that carry
// their expiry; a stale lock is broken under a second, short-lived lock so two breakers cannot
// both win. Layout: certs/{host}.pem (key + chain), accounts/, challenges/{kind}/, locks/.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CertificateError, parseCertificate, pemBlocks } from './certificate.js';
import { assertStoreHost, type AcmeAccount, type CertStore, type ChallengeKind, type Release, type StoredCert } from './cert-store.js';

/** An unreadable lock or breaker file older than this is left over from a crash. */
const ORPHAN_MS = 10_000;

interface LockFile {
  token: string;
  expires: number;
  pid: number;
  name: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);
const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export class FsCertStore implements CertStore {
  readonly name: string;
  private prepared: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly options: { onError?: (err: unknown, path: string) => void } = {},
  ) {
    this.name = `fs ${dir}`;
  }

  private prepare(): Promise<void> {
    return (this.prepared ??= (async () => {
      for (const sub of ['', 'certs', 'accounts', 'challenges/http-01', 'challenges/tls-alpn-01', 'locks', 'tmp']) {
        await mkdir(join(this.dir, sub), { recursive: true, mode: 0o700 });
      }
    })());
  }

  /** Writes `text` to `path` through a temporary file and a rename; fsynced before the rename. */
  private async writeAtomic(path: string, text: string): Promise<void> {
    await this.prepare();
    const tmp = join(this.dir, 'tmp', `${randomUUID()}.tmp`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  private async readOrUndefined(path: string): Promise<string | undefined> {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  private certPath(host: string): string {
    assertStoreHost(host);
    return join(this.dir, 'certs', `${host}.pem`);
  }

  /** An unusable file (damaged, key not matching) reads as absent, so a new certificate replaces it. */
  async getCert(host: string): Promise<StoredCert | undefined> {
    const path = this.certPath(host);
    const text = await this.readOrUndefined(path);
    if (text === undefined) return undefined;
    try {
      const blocks = pemBlocks(text);
      const key = blocks.find((b) => b.label.endsWith('PRIVATE KEY'));
      const chain = blocks.filter((b) => b.label === 'CERTIFICATE').map((b) => b.pem).join('');
      if (!key || !chain) throw new CertificateError('the file lacks a private key or a certificate');
      const source = /^# source: (\S+)/m.exec(text)?.[1] ?? 'file';
      return parseCertificate(chain, key.pem, source);
    } catch (err) {
      this.options.onError?.(err, path);
      return undefined;
    }
  }

  async putCert(host: string, cert: StoredCert): Promise<void> {
    // One file holds key and chain: a reader can never pair a new key with an old certificate.
    await this.writeAtomic(this.certPath(host), `# source: ${cert.source}\n${cert.keyPem.trim()}\n${cert.certPem.trim()}\n`);
  }

  async deleteCert(host: string): Promise<void> {
    await unlink(this.certPath(host)).catch((err) => {
      if (!isMissing(err)) throw err;
    });
  }

  async listCerts(): Promise<string[]> {
    await this.prepare();
    const names = await readdir(join(this.dir, 'certs'));
    return names.filter((n) => n.endsWith('.pem')).map((n) => n.slice(0, -4));
  }

  private challengePath(kind: ChallengeKind, key: string): string {
    return join(this.dir, 'challenges', kind, `${digest(key)}.json`);
  }

  async putChallenge(kind: ChallengeKind, key: string, value: string, ttlMs: number): Promise<void> {
    await this.writeAtomic(this.challengePath(kind, key), JSON.stringify({ key, value, expires: Date.now() + ttlMs }));
  }

  async getChallenge(kind: ChallengeKind, key: string): Promise<string | undefined> {
    const text = await this.readOrUndefined(this.challengePath(kind, key));
    if (text === undefined) return undefined;
    const entry = JSON.parse(text) as { key: string; value: string; expires: number };
    if (entry.key !== key) return undefined;
    if (Date.now() >= entry.expires) {
      await this.deleteChallenge(kind, key);
      return undefined;
    }
    return entry.value;
  }

  async deleteChallenge(kind: ChallengeKind, key: string): Promise<void> {
    await unlink(this.challengePath(kind, key)).catch((err) => {
      if (!isMissing(err)) throw err;
    });
  }

  async getAccount(directoryUrl: string): Promise<AcmeAccount | undefined> {
    const text = await this.readOrUndefined(join(this.dir, 'accounts', `${digest(directoryUrl)}.json`));
    return text === undefined ? undefined : (JSON.parse(text) as AcmeAccount);
  }

  async putAccount(account: AcmeAccount): Promise<void> {
    await this.writeAtomic(join(this.dir, 'accounts', `${digest(account.directoryUrl)}.json`), JSON.stringify(account));
  }

  async lock(name: string, ttlMs: number): Promise<Release | undefined> {
    await this.prepare();
    const path = join(this.dir, 'locks', `${digest(name)}.lock`);
    const token = randomUUID();
    // Two tries: the second only after a stale lock was broken.
    for (let attempt = 0; attempt < 2; attempt++) {
      let fh;
      try {
        fh = await open(path, 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (await this.breakIfStale(path)) continue;
        return undefined;
      }
      try {
        await fh.writeFile(JSON.stringify({ token, expires: Date.now() + ttlMs, pid: process.pid, name } satisfies LockFile));
      } finally {
        await fh.close();
      }
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        const held = await this.readLock(path);
        if (held?.token === token) await unlink(path).catch(() => undefined);
      };
    }
    return undefined;
  }

  private async readLock(path: string): Promise<LockFile | undefined> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as LockFile;
    } catch {
      return undefined;
    }
  }

  /** Removes the lock at `path` if it has expired (or is an orphaned empty file); true if removed. */
  private async breakIfStale(path: string): Promise<boolean> {
    const held = await this.readLock(path);
    if (held ? Date.now() < held.expires : !(await olderThan(path, ORPHAN_MS))) return false;
    const breaker = `${path}.break`;
    let fh;
    try {
      fh = await open(breaker, 'wx', 0o600);
    } catch (err) {
      // Another breaker is at work; clear its file only if it died doing so.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && (await olderThan(breaker, ORPHAN_MS))) await unlink(breaker).catch(() => undefined);
      return false;
    }
    await fh.close();
    try {
      // Re-read under the breaker: the lock may have been released and taken afresh meanwhile.
      const again = await this.readLock(path);
      if (again?.token !== held?.token || (again && Date.now() < again.expires)) return false;
      await unlink(path).catch(() => undefined);
      return true;
    } finally {
      await unlink(breaker).catch(() => undefined);
    }
  }

  async close(): Promise<void> {}
}

async function olderThan(path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > ms;
  } catch (err) {
    return isMissing(err);
  }
}
