// Reading certificates: a PEM chain and key become a StoredCert only after the leaf parses and the
// key matches it, and its validity dates come from the leaf itself. Also the few questions the rest
// of the TLS code asks of a certificate: does it cover this host now, and when should it be renewed.
import { X509Certificate, createPrivateKey, createHash } from 'node:crypto';
import type { StoredCert } from './cert-store.js';
import { clock } from '../clock.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

/** PEM blocks of a text, in order, with their labels (`CERTIFICATE`, `PRIVATE KEY`, …). */
export function pemBlocks(text: string): { label: string; pem: string }[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, pem: `${m[0]}\n` }));
}

export class CertificateError extends Error {
  override name = 'CertificateError';
}

/** Checks a chain + key pair and reads its dates; throws CertificateError when unusable. */
export function parseCertificate(certPem: string, keyPem: string, source: string): StoredCert {
  const certs = pemBlocks(certPem).filter((b) => b.label === 'CERTIFICATE');
  if (certs.length === 0) throw new CertificateError('no certificate in the PEM');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certs[0]!.pem);
  } catch (err) {
    throw new CertificateError(`certificate does not parse: ${(err as Error).message}`);
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw new CertificateError('the private key does not match the certificate');
  } catch (err) {
    if (err instanceof CertificateError) throw err;
    throw new CertificateError(`private key does not parse: ${(err as Error).message}`);
  }
  const notBefore = Date.parse(leaf.validFrom);
  const notAfter = Date.parse(leaf.validTo);
  if (!Number.isFinite(notBefore) || !Number.isFinite(notAfter)) throw new CertificateError('unreadable validity dates');
  return { certPem: certs.map((c) => c.pem).join(''), keyPem, notBefore, notAfter, source };
}

/** True when `cert` is valid at `now` and names `host` (exactly or by a one-label wildcard). */
export function coversHost(cert: StoredCert, host: string, now = clock.now()): boolean {
  if (now < cert.notBefore || now >= cert.notAfter) return false;
  return leafOf(cert).checkHost(host, { wildcards: true, partialWildcards: false, singleLabelSubdomains: false, subject: 'never' }) !== undefined;
}

/** When renewal is due: a third of the lifetime left, minus `jitterMs` (spreads nodes and certs). */
export function renewalTime(cert: Pick<StoredCert, 'notBefore' | 'notAfter'>, jitterMs = 0): number {
  const lifetime = Math.max(0, cert.notAfter - cert.notBefore);
  return cert.notAfter - Math.floor(lifetime / 3) - jitterMs;
}

export interface CertDetails {
  names: string[];
  issuer: string;
  serial: string;
  fingerprint256: string;
  keyType: string;
  notBefore: Date;
  notAfter: Date;
  chainLength: number;
}

export function certDetails(cert: StoredCert): CertDetails {
  const leaf = leafOf(cert);
  const names = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4));
  const key = leaf.publicKey;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const bits = key.asymmetricKeyDetails?.modulusLength;
  return {
    names,
    issuer: /CN=([^\n]+)/.exec(leaf.issuer)?.[1] ?? leaf.issuer.replace(/\n/g, ', '),
    serial: leaf.serialNumber,
    fingerprint256: leaf.fingerprint256,
    keyType: `${key.asymmetricKeyType ?? '?'}${curve ? ` ${curve}` : bits ? ` ${bits}` : ''}`,
    notBefore: new Date(cert.notBefore),
    notAfter: new Date(cert.notAfter),
    chainLength: pemBlocks(cert.certPem).length,
  };
}

/** A short stable id of a certificate (for logs and tests: "was it replaced?"). */
export function certId(cert: StoredCert): string {
  return createHash('sha256').update(pemBlocks(cert.certPem)[0]?.pem ?? '').digest('hex').slice(0, 16);
}

const leaves = new WeakMap<StoredCert, X509Certificate>();
function leafOf(cert: StoredCert): X509Certificate {
  let leaf = leaves.get(cert);
  if (!leaf) {
    leaf = new X509Certificate(pemBlocks(cert.certPem)[0]!.pem);
    leaves.set(cert, leaf);
  }
  return leaf;
}
