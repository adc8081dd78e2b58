// Answers the CA's validation requests from the CertStore, so that whichever node the CA reaches
// can answer for an order another node placed: HTTP-01 (`/.well-known/acme-challenge/<token>` →
// key authorization) and TLS-ALPN-01 (the challenge certificate, for connections HttpsListener
// has recognised as the CA's by their `acme-tls/1` ALPN offer). Only for hosts the policy allows.
import { createSecureContext, type SecureContext } from 'node:tls';
import type { CertStore } from './cert-store.js';
import { certifiableHost, type HostPolicy } from './host-policy.js';

export type SniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

const PREFIX = '/.well-known/acme-challenge/';
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export class ChallengeResponder {
  constructor(
    private readonly store: CertStore,
    private readonly policy: HostPolicy,
  ) {}

  /** True for paths the HTTP listener must hand to answerHttp01 (and never forward or cache). */
  static isHttp01Path(path: string): boolean {
    return path.startsWith(PREFIX);
  }

  /**
   * The key authorization for an HTTP-01 request, or undefined (not a challenge path, unknown
   * token, or a host the policy refuses). Serve it with status 200 as text/plain.
   */
  async answerHttp01(host: string, path: string): Promise<string | undefined> {
    if (!path.startsWith(PREFIX)) return undefined;
    const token = path.slice(PREFIX.length).split('?')[0]!;
    if (!TOKEN.test(token)) return undefined;
    const name = certifiableHost(host);
    if (!name || !(await this.policy.allows(name))) return undefined;
    return this.store.getChallenge('http-01', token);
  }

  /** SNICallback for TLS-ALPN-01 validation connections only; refuses names without a challenge. */
  readonly alpnSniCallback: SniCallback = (servername, cb) => {
    this.alpnContext(servername).then(
      (ctx) => (ctx ? cb(null, ctx) : cb(new Error(`no TLS-ALPN-01 challenge for ${servername}`))),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  };

  private async alpnContext(servername: string): Promise<SecureContext | undefined> {
    const host = certifiableHost(servername);
    if (!host || !(await this.policy.allows(host))) return undefined;
    const raw = await this.store.getChallenge('tls-alpn-01', host);
    if (!raw) return undefined;
    const { certPem, keyPem } = JSON.parse(raw) as { certPem: string; keyPem: string };
    return createSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2' });
  }
}
