// Where certificates, ACME account keys and challenge answers live, so that a restart does not
// re-issue and any node can answer a challenge another node's order created. The contract is small
// and explicit (CertMagic's Storage is the model): values by name, tokens that expire, and one lock
// per issuance that always expires — a crashed holder can delay an order, never block it forever.
// Implementations: FsCertStore (one folder, single node) and RedisCertStore (many nodes).

export interface StoredCert {
  /** PEM: the leaf certificate first, then its chain. */
  certPem: string;
  /** PEM private key of the leaf. */
  keyPem: string;
  /** Validity of the leaf, ms since the epoch (read from the certificate, never trusted from JSON). */
  notBefore: number;
  notAfter: number;
  /** Where it came from: `acme` (issued here), `platform` (`ssl:{host}:latest`), `file`. */
  source: string;
}

/** `http-01` keys are ACME tokens (value: key authorization); `tls-alpn-01` keys are host names
 * (value: JSON `{ certPem, keyPem }` of the challenge certificate). */
export type ChallengeKind = 'http-01' | 'tls-alpn-01';

export interface AcmeAccount {
  directoryUrl: string;
  keyPem: string;
  /** Contact the account was registered with, for the record. */
  email?: string;
}

/** Gives the lock back; safe to call twice and after the lock expired (then it does nothing). */
export type Release = () => Promise<void>;

export interface CertStore {
  /** Human-readable, e.g. `fs /var/lib/blotcdn/certs`. */
  readonly name: string;
  /** The stored certificate for `host`, or undefined. Implementations parse and check the pair. */
  getCert(host: string): Promise<StoredCert | undefined>;
  /** Replaces the certificate for `host` at once: readers see the old pair or the new, never a mix. */
  putCert(host: string, cert: StoredCert): Promise<void>;
  deleteCert(host: string): Promise<void>;
  /** Every host with a stored certificate (order unspecified). */
  listCerts(): Promise<string[]>;

  putChallenge(kind: ChallengeKind, key: string, value: string, ttlMs: number): Promise<void>;
  /** The value, or undefined when absent or expired. */
  getChallenge(kind: ChallengeKind, key: string): Promise<string | undefined>;
  deleteChallenge(kind: ChallengeKind, key: string): Promise<void>;

  getAccount(directoryUrl: string): Promise<AcmeAccount | undefined>;
  putAccount(account: AcmeAccount): Promise<void>;

  /**
   * Try to take the lock `name` for `ttlMs` without waiting. Resolves to a Release when taken,
   * undefined when someone else holds it. The lock expires on its own after `ttlMs`; only the
   * holder's Release removes it (a late Release after expiry cannot free someone else's lock).
   */
  lock(name: string, ttlMs: number): Promise<Release | undefined>;

  close(): Promise<void>;
}

/** Host names reach the store already normalised; this is the store's own guard (file names, keys). */
export function assertStoreHost(host: string): void {
  if (!/^[a-z0-9](?:[a-z0-9.-]{0,252})$/.test(host) || host.includes('..')) throw new Error(`not a host name for the cert store: ${JSON.stringify(host)}`);
}

/** Takes `name`, polling every `pollMs` while another holder has it, for up to `waitMs`. */
export async function acquireLock(store: CertStore, name: string, ttlMs: number, waitMs: number, pollMs = 200): Promise<Release | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const release = await store.lock(name, ttlMs);
    if (release || Date.now() + pollMs > deadline) return release;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
