// A self-signed certificate for the edge's default TLS context: what a client gets when it sends no
// SNI or asks for a name the edge will not certify. No browser trusts it, and that is the point — the
// handshake completes with a clear certificate error instead of a reset, and no real name leaks.
// Built with @peculiar/x509 (acme-client's own X.509 library) and a P-256 key.
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { parseCertificate } from './certificate.js';
import type { StoredCert } from './cert-store.js';

export interface SelfSignedOptions {
  /** Subject CN and DNS names (default `blotcdn default certificate`, no names). */
  commonName?: string;
  names?: string[];
  /** Lifetime (default 1 year); starts an hour in the past to absorb clock skew. */
  validityMs?: number;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
// The DOM's crypto types are not in this project's lib; name them through the library's signatures.
type WebCrypto = Parameters<typeof x509.cryptoProvider.set>[0];
type KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

export async function selfSignedCertificate(options: SelfSignedOptions = {}): Promise<StoredCert> {
  x509.cryptoProvider.set(webcrypto as unknown as WebCrypto);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as KeyPair;
  const now = Date.now();
  const names = options.names ?? [];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: [{ CN: [options.commonName ?? 'blotcdn default certificate'] }],
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + (options.validityMs ?? 365 * 86_400_000)),
    keys,
    signingAlgorithm: ALG,
    extensions,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  return parseCertificate(cert.toString('pem'), keyPem, 'self-signed');
}
