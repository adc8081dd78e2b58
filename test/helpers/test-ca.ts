// A certificate authority for tests: certificates that are not ACME's (the platform's wildcard for
// `*.blot.im`, renewed elsewhere; the custom-domain certificates it already holds in Redis), signed
// by a CA a test client trusts, made with @peculiar/x509 (the library the edge's self-signed default
// uses) and P-256 keys.
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type WebCrypto = Parameters<typeof x509.cryptoProvider.set>[0];
type KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

export interface IssuedPair {
  certPem: string;
  keyPem: string;
}

export interface TestCa {
  /** The CA's certificate: what a client trusts. */
  certPem: string;
  /** A leaf for `names`, valid from an hour ago for `days` (default 30). */
  issue(names: string[], days?: number): Promise<IssuedPair>;
}

const serial = () => Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
const newKeys = async () => (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as KeyPair;
async function keyPem(keys: KeyPair): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

export async function startTestCa(name = 'blotcdn test CA'): Promise<TestCa> {
  x509.cryptoProvider.set(webcrypto as unknown as WebCrypto);
  const caKeys = await newKeys();
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 30 * 86_400_000),
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return {
    certPem: ca.toString('pem'),
    async issue(names, days = 30) {
      const keys = await newKeys();
      const at = Date.now();
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: `CN=${names[0]}`,
        issuer: ca.subject,
        notBefore: new Date(at - 3_600_000),
        notAfter: new Date(at + days * 86_400_000),
        signingAlgorithm: ALG,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
        ],
      });
      return { certPem: `${leaf.toString('pem')}\n`, keyPem: await keyPem(keys) };
    },
  };
}
