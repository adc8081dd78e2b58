// The CertStore in Redis, shared by every node: certificates, account keys and challenge answers
// (with expiry), and the issuance lock as `SET NX PX` with a random token that only its holder can
// delete. It also reads what the platform already holds — `ssl:{host}:latest`, JSON with
// `fullchain_pem` and `privkey_pem` — so moving to blotcdn re-issues nothing; when both exist,
// the certificate that lives longer wins. blotcdn never writes the platform's keys.
import { createHash, randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { parseCertificate } from './certificate.js';
import { assertStoreHost, type AcmeAccount, type CertStore, type ChallengeKind, type Release, type StoredCert } from './cert-store.js';

export interface RedisCertStoreOptions {
  /** Prefix of blotcdn's own keys (default `blotcdn:tls:`). */
  prefix?: string;
  /** Key of the platform's certificate for a host, or false to read none (default `ssl:{host}:latest`). */
  legacyKey?: ((host: string) => string) | false;
  /** SCAN pattern listing the platform's certificates, and how to get the host back from a key. */
  legacyPattern?: { match: string; host: (key: string) => string | undefined };
  /** Called when a stored value cannot be used (bad JSON, key not matching the certificate…). */
  onError?: (err: unknown, key: string) => void;
}

// Deletes the lock only if it still holds our token: a holder whose lock expired cannot free the next holder's.
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

const digest = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);
const defaultLegacyKey = (host: string) => `ssl:${host}:latest`;
const defaultLegacyPattern = { match: 'ssl:*:latest', host: (key: string) => /^ssl:(.+):latest$/.exec(key)?.[1] };

export class RedisCertStore implements CertStore {
  readonly name: string;
  private readonly prefix: string;
  private readonly legacyKey: ((host: string) => string) | false;
  private readonly legacyPattern: RedisCertStoreOptions['legacyPattern'];

  /** Uses the caller's client (not closed by close()); see RedisCertStore.connect for an owned one. */
  constructor(
    readonly redis: Redis,
    private readonly options: RedisCertStoreOptions = {},
    private readonly ownsClient = false,
  ) {
    this.prefix = options.prefix ?? 'blotcdn:tls:';
    this.legacyKey = options.legacyKey ?? defaultLegacyKey;
    this.legacyPattern = this.legacyKey === false ? undefined : (options.legacyPattern ?? defaultLegacyPattern);
    this.name = `redis ${this.prefix}`;
  }

  /** A store with its own connection to `url`, closed with the store. */
  static connect(url: string, options: RedisCertStoreOptions = {}, redisOptions: RedisOptions = {}): RedisCertStore {
    const redis = new Redis(url, { maxRetriesPerRequest: 2, ...redisOptions });
    // A connection that drops is reported (once per attempt), not printed as an unhandled event.
    redis.on('error', (err: Error) => options.onError?.(err, '(connection)'));
    return new RedisCertStore(redis, options, true);
  }

  private certKey(host: string): string {
    assertStoreHost(host);
    return `${this.prefix}cert:${host}`;
  }

  async getCert(host: string): Promise<StoredCert | undefined> {
    const keys = [this.certKey(host)];
    if (this.legacyKey) keys.push(this.legacyKey(host));
    const values = await this.redis.mget(...keys);
    let best: StoredCert | undefined;
    values.forEach((raw, i) => {
      if (raw == null) return;
      const cert = this.decode(keys[i]!, raw, i === 0);
      if (cert && (!best || cert.notAfter > best.notAfter)) best = cert;
    });
    return best;
  }

  private decode(key: string, raw: string, own: boolean): StoredCert | undefined {
    try {
      const json = JSON.parse(raw) as Record<string, unknown>;
      const chain = own ? json.certPem : json.fullchain_pem;
      const privateKey = own ? json.keyPem : json.privkey_pem;
      if (typeof chain !== 'string' || typeof privateKey !== 'string') throw new Error('certificate or key missing');
      return parseCertificate(chain, privateKey, own ? String(json.source ?? 'acme') : 'platform');
    } catch (err) {
      this.options.onError?.(err, key);
      return undefined;
    }
  }

  async putCert(host: string, cert: StoredCert): Promise<void> {
    const value = JSON.stringify({ certPem: cert.certPem, keyPem: cert.keyPem, source: cert.source, storedAt: new Date().toISOString() });
    await this.redis.set(this.certKey(host), value);
  }

  async deleteCert(host: string): Promise<void> {
    await this.redis.del(this.certKey(host));
  }

  async listCerts(): Promise<string[]> {
    const hosts = new Set<string>();
    const own = `${this.prefix}cert:`;
    for (const key of await this.scan(`${escapeGlob(own)}*`)) hosts.add(key.slice(own.length));
    if (this.legacyPattern) {
      for (const key of await this.scan(this.legacyPattern.match)) {
        const host = this.legacyPattern.host(key);
        if (host) hosts.add(host);
      }
    }
    return [...hosts];
  }

  private async scan(match: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      out.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return out;
  }

  private challengeKey(kind: ChallengeKind, key: string): string {
    return `${this.prefix}challenge:${kind}:${digest(key)}`;
  }

  async putChallenge(kind: ChallengeKind, key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.challengeKey(kind, key), value, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async getChallenge(kind: ChallengeKind, key: string): Promise<string | undefined> {
    return (await this.redis.get(this.challengeKey(kind, key))) ?? undefined;
  }

  async deleteChallenge(kind: ChallengeKind, key: string): Promise<void> {
    await this.redis.del(this.challengeKey(kind, key));
  }

  async getAccount(directoryUrl: string): Promise<AcmeAccount | undefined> {
    const raw = await this.redis.get(`${this.prefix}account:${digest(directoryUrl)}`);
    return raw == null ? undefined : (JSON.parse(raw) as AcmeAccount);
  }

  async putAccount(account: AcmeAccount): Promise<void> {
    await this.redis.set(`${this.prefix}account:${digest(account.directoryUrl)}`, JSON.stringify(account));
  }

  async lock(name: string, ttlMs: number): Promise<Release | undefined> {
    const key = `${this.prefix}lock:${name}`;
    const token = randomUUID();
    const ok = await this.redis.set(key, token, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
    if (ok !== 'OK') return undefined;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await this.redis.eval(RELEASE, 1, key, token);
    };
  }

  async close(): Promise<void> {
    if (!this.ownsClient) return;
    // While Redis is unreachable a QUIT would wait for a reconnect that may never come.
    if (this.redis.status !== 'ready') return this.redis.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
