// Obtains one certificate for one host from an ACME CA (acme-client): P-256 keys, the account key
// made once and kept in the CertStore, challenge answers put in the CertStore so that whichever
// node the CA reaches can answer (HTTP-01: token → key authorization; TLS-ALPN-01: host → challenge
// certificate). Every order first passes AcmeLimits. It does not decide *whether* a host deserves a
// certificate (HostPolicy) nor stores the result (CertObtainer does, under the issuance lock).
import { createHash, createPrivateKey } from 'node:crypto';
import acme from 'acme-client';
import { configureAcmeHttp } from './acme-http.js';
import { AcmeLimitError, AcmeLimits, type AcmeLimitOptions } from './acme-limits.js';
import type { SharedOrderBudget } from '../cluster/redis-order-budget.js';
import { parseCertificate } from './certificate.js';
import { acquireLock, type CertStore, type ChallengeKind, type StoredCert } from './cert-store.js';

export interface AcmeIssuerOptions {
  directoryUrl: string;
  store: CertStore;
  /** Account contact (optional for Let's Encrypt). */
  email?: string;
  /** Challenge types to use, most preferred first (default HTTP-01, then TLS-ALPN-01). */
  challenges?: ChallengeKind[];
  /** Extra CA certificate(s) (PEM) to trust for the ACME server's own HTTPS API. */
  caCert?: string | string[];
  /** acme-client's status polling: first wait, longest wait, attempts (default 250 ms, 5 s, 10). */
  pollMinMs?: number;
  pollMaxMs?: number;
  pollAttempts?: number;
  /** Budget of one HTTP request to the CA (default 30 s) and of a whole order (default 3 min). */
  requestTimeoutMs?: number;
  orderTimeoutMs?: number;
  limits?: AcmeLimitOptions;
  /** The cluster's shared order budget (Redis), spent after this node's own limits allow an order. */
  sharedBudget?: SharedOrderBudget;
}

export interface AcmeIssuerStats {
  /** Orders placed with the CA. */
  orders: number;
  issued: number;
  failed: number;
  /** Orders not placed because a limit said no. */
  refused: number;
}

/** Challenge answers outlive the order only by this much; a leftover expires on its own. */
const CHALLENGE_TTL_MS = 10 * 60_000;

export class AcmeIssuer {
  readonly directoryUrl: string;
  readonly limits: AcmeLimits;
  private readonly challenges: ChallengeKind[];
  private readonly counts: AcmeIssuerStats = { orders: 0, issued: 0, failed: 0, refused: 0 };
  private client: Promise<acme.Client> | undefined;

  constructor(private readonly options: AcmeIssuerOptions) {
    this.directoryUrl = options.directoryUrl;
    this.limits = new AcmeLimits(options.limits);
    this.challenges = options.challenges?.length ? options.challenges : ['http-01', 'tls-alpn-01'];
    configureAcmeHttp(options.directoryUrl, { ca: options.caCert, timeoutMs: options.requestTimeoutMs });
  }

  get store(): CertStore {
    return this.options.store;
  }

  stats(): AcmeIssuerStats & ReturnType<AcmeLimits['stats']> {
    return { ...this.counts, ...this.limits.stats() };
  }

  /**
   * Places an order for `host` and returns the certificate (not stored). Throws AcmeLimitError
   * without contacting the CA when a limit refuses, or the CA's error when the order fails.
   */
  async issue(host: string): Promise<StoredCert> {
    let ticket;
    try {
      ticket = await this.limits.start(host);
    } catch (err) {
      this.counts.refused++;
      throw err;
    }
    const shared = this.options.sharedBudget;
    if (shared) {
      // The cluster's budget: spent, refused, or out of reach (Redis down) — then no order either.
      const wait = await shared.spend(host).catch((err: unknown) => {
        ticket.abandon();
        this.counts.refused++;
        throw new Error(`no ACME order for ${host}: the cluster's order budget (Redis) cannot be reached: ${(err as Error).message}`);
      });
      if (wait !== undefined) {
        ticket.abandon();
        this.counts.refused++;
        throw new AcmeLimitError(host, 'order-budget', wait);
      }
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`ACME order for ${host} took longer than ${this.orderTimeoutMs} ms`)), this.orderTimeoutMs);
      });
      const cert = await Promise.race([this.order(host), timeout]);
      this.counts.issued++;
      ticket.finish(true);
      return cert;
    } catch (err) {
      this.counts.failed++;
      ticket.finish(false);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The longest one order may take before it is given up. */
  get orderTimeoutMs(): number {
    return this.options.orderTimeoutMs ?? 180_000;
  }

  /** Throws AcmeLimitError (and counts it) if a limit would refuse an order for `host` now. */
  assertMayOrder(host: string): void {
    const refusal = this.limits.check(host);
    if (!refusal) return;
    this.counts.refused++;
    throw new AcmeLimitError(host, refusal.reason, refusal.retryAfterMs);
  }

  private async order(host: string): Promise<StoredCert> {
    const client = await this.accountClient();
    const key = await acme.crypto.createPrivateEcdsaKey('P-256');
    const [, csr] = await acme.crypto.createCsr({ commonName: host, altNames: [host] }, key);
    const store = this.options.store;
    this.counts.orders++;
    const chain = await client.auto({
      csr,
      termsOfServiceAgreed: true,
      challengePriority: this.challenges,
      // The CA's own check is the one that counts; a pre-check from here would cost a round trip
      // through public DNS to ourselves on every first handshake.
      skipChallengeVerification: true,
      // acme-client's types know http-01 and dns-01 only; TLS-ALPN-01 challenges arrive all the same.
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        const type = challenge.type as string;
        if (type === 'http-01') {
          await store.putChallenge('http-01', challenge.token, keyAuthorization, CHALLENGE_TTL_MS);
        } else if (type === 'tls-alpn-01') {
          const alpnKey = await acme.crypto.createPrivateEcdsaKey('P-256');
          const [, alpnCert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization, alpnKey);
          const value = JSON.stringify({ certPem: alpnCert.toString(), keyPem: alpnKey.toString() });
          await store.putChallenge('tls-alpn-01', authz.identifier.value, value, CHALLENGE_TTL_MS);
        } else {
          throw new Error(`unsupported challenge type ${type}`);
        }
      },
      challengeRemoveFn: async (authz, challenge) => {
        const type = challenge.type as string;
        if (type === 'http-01') await store.deleteChallenge('http-01', challenge.token);
        else if (type === 'tls-alpn-01') await store.deleteChallenge('tls-alpn-01', authz.identifier.value);
      },
    });
    return parseCertificate(chain, key.toString(), 'acme');
  }

  /** The acme-client for our account, registering (or finding) it once per process. */
  private accountClient(): Promise<acme.Client> {
    return (this.client ??= this.openAccount().catch((err: unknown) => {
      this.client = undefined;
      throw err;
    }));
  }

  private async openAccount(): Promise<acme.Client> {
    const { store, email } = this.options;
    const directoryUrl = this.directoryUrl;
    let account = await store.getAccount(directoryUrl);
    // Two nodes starting together must not make two accounts: the first makes it, the other waits.
    const release = account ? undefined : await acquireLock(store, `acme-account:${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}`, 60_000, 30_000);
    try {
      account ??= await store.getAccount(directoryUrl);
      const fresh = account === undefined;
      account ??= { directoryUrl, keyPem: (await acme.crypto.createPrivateEcdsaKey('P-256')).toString(), email };
      const client = new acme.Client({
        directoryUrl,
        accountKey: account.keyPem,
        backoffMin: this.options.pollMinMs ?? 250,
        backoffMax: this.options.pollMaxMs ?? 5_000,
        backoffAttempts: this.options.pollAttempts ?? 10,
      });
      signWithKeyObject(client);
      const registration = { termsOfServiceAgreed: true, ...(account.email ? { contact: [`mailto:${account.email}`] } : {}) };
      if (fresh) {
        await client.createAccount(registration);
      } else {
        // A stored key: look the account up (one request per process). A CA that forgot it
        // (a test CA restarted, an account deactivated) gets it registered again.
        try {
          await client.createAccount({ onlyReturnExisting: true });
        } catch {
          await client.createAccount(registration);
        }
      }
      if (fresh) await store.putAccount(account);
      return client;
    } finally {
      await release?.();
    }
  }
}

/**
 * acme-client keeps the account key as PEM and parses it for every JWS it signs (~0.7 ms each
 * with OpenSSL 3, a dozen per order). Give its HTTP client the parsed key instead; it only signs
 * with it and derives the JWK from it, both of which accept a KeyObject. Skipped if the internals
 * are not where acme-client 5.4 keeps them.
 */
function signWithKeyObject(client: acme.Client): void {
  const http = (client as unknown as { api?: { http?: { accountKey?: unknown } } }).api?.http;
  if (http && Buffer.isBuffer(http.accountKey)) http.accountKey = createPrivateKey(http.accountKey);
}
