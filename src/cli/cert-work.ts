// The work behind `blotcdn certs` (loaded only when such a command runs: it brings the TLS stack,
// ACME and Redis clients, which purge or stats do not need): a workbench of the same CertManager,
// CertStore and AcmeIssuer the edge builds, and what list, show, issue and renew print from it.
import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { CachedDomainSource } from '../sites/cached-domains.js';
import { RedisDomainSource } from '../sites/redis-domains.js';
import { AcmeIssuer } from '../tls/acme-issuer.js';
import { CertManager } from '../tls/cert-manager.js';
import type { CertStore, ChallengeKind, StoredCert } from '../tls/cert-store.js';
import { certDetails, coversHost, renewalTime } from '../tls/certificate.js';
import { FsCertStore } from '../tls/fs-cert-store.js';
import { certifiableHost, HostPolicy } from '../tls/host-policy.js';
import { RedisCertStore } from '../tls/redis-cert-store.js';
import { buildDomainList, buildTls, declaredHosts } from '../tls/build-tls.js';
import { loadConfigFile } from '../config/load.js';
import { createEventLog } from '../observe/event-log.js';
import type { CertsOptions } from './certs.js';
import { CliError } from './fail.js';

type Out = (line: string) => void;

/** What a certs command works on; close() when done. */
interface Workbench {
  store: CertStore;
  manager: CertManager;
  issuer?: AcmeIssuer;
  close(): Promise<void>;
}

/** The same parts a running edge builds from the same config. */
async function workbenchFromConfig(file: string, needIssuer: boolean): Promise<Workbench> {
  const config = await loadConfigFile(file);
  if (!config.tls) throw new CliError(`${file} has no tls section: certificates are configured there (see docs/tls.md)`);
  const events = createEventLog(false);
  const domainList = buildDomainList(config, events);
  const tls = buildTls(config, declaredHosts(config), domainList, events)!;
  if (needIssuer && !tls.issuer) throw new CliError(`${file} has no tls.acme section: add one (the ACME directory) to issue certificates`);
  return {
    store: tls.store,
    manager: tls.manager,
    issuer: tls.issuer,
    close: async () => {
      await tls.stop();
      await domainList?.close();
    },
  };
}

async function workbench(opts: CertsOptions, needIssuer: boolean): Promise<Workbench> {
  if (opts.config) return workbenchFromConfig(opts.config, needIssuer);
  if (!opts.store === !opts.redis) throw new CliError('say where the certificates are: exactly one of --store DIR or --redis URL, or --config FILE');
  let redis: Redis | undefined;
  let store: CertStore;
  if (opts.redis) {
    // One try, no reconnect loop: a command that cannot reach Redis says so and ends.
    redis = new Redis(opts.redis, { maxRetriesPerRequest: 2, lazyConnect: true, retryStrategy: () => null });
    let refused: Error | undefined;
    redis.on('error', (err: Error) => (refused ??= err));
    await redis.connect().catch((err: Error) => {
      throw new CliError(`cannot reach Redis at ${opts.redis} (${(refused ?? err).message}): is it running, and is that its URL?`);
    });
    store = new RedisCertStore(redis, { prefix: opts.redisPrefix, legacyKey: opts.platformCerts ? undefined : false });
  } else {
    store = new FsCertStore(opts.store!);
  }
  const sources = redis && opts.domainList ? [new CachedDomainSource(new RedisDomainSource(redis))] : [];
  const policy = new HostPolicy({ names: opts.allowHost ?? [], sources });
  let issuer: AcmeIssuer | undefined;
  if (needIssuer) {
    if (!opts.acmeDirectory) throw new CliError('--acme-directory URL is needed to issue (or --config FILE with a tls.acme section)');
    const challenges = (opts.challenge ?? []).map((c) => {
      if (c !== 'http-01' && c !== 'tls-alpn-01') throw new CliError(`unknown challenge type ${c}: give http-01 or tls-alpn-01`);
      return c as ChallengeKind;
    });
    issuer = new AcmeIssuer({ directoryUrl: opts.acmeDirectory, store, email: opts.acmeEmail, challenges, caCert: opts.acmeCa ? await readFile(opts.acmeCa, 'utf8') : undefined });
  }
  const manager = new CertManager({ store, policy, issuer });
  return {
    store,
    manager,
    issuer,
    close: async () => {
      await store.close();
      redis?.disconnect();
    },
  };
}

const day = 86_400_000;
const when = (d: Date | number) => new Date(d).toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$/, 'Z');
const daysLeft = (notAfter: number) => ((notAfter - Date.now()) / day).toFixed(1);

function hostArg(raw: string): string {
  const host = certifiableHost(raw);
  if (!host) throw new CliError(`not a host name a certificate can be issued for: ${JSON.stringify(raw)}`);
  return host;
}

function describeCert(host: string, cert: StoredCert): string {
  const d = certDetails(cert);
  const state = Date.now() >= cert.notAfter ? 'EXPIRED' : coversHost(cert, host) ? 'valid' : 'does not cover this host';
  return [
    `host:        ${host}`,
    `state:       ${state}`,
    `names:       ${d.names.join(', ') || '(none)'}`,
    `not before:  ${when(d.notBefore)}`,
    `not after:   ${when(d.notAfter)} (${daysLeft(cert.notAfter)} days left)`,
    `renew from:  ${when(renewalTime(cert))}`,
    `issuer:      ${d.issuer}`,
    `serial:      ${d.serial}`,
    `key:         ${d.keyType}`,
    `chain:       ${d.chainLength} certificate(s)`,
    `sha-256:     ${d.fingerprint256}`,
    `source:      ${cert.source}`,
  ].join('\n');
}

async function run<T>(opts: CertsOptions, needIssuer: boolean, fn: (w: Workbench) => Promise<T>): Promise<T> {
  const w = await workbench(opts, needIssuer);
  try {
    return await fn(w);
  } finally {
    await w.close();
  }
}

export function listCerts(opts: CertsOptions, out: Out): Promise<void> {
  return run(opts, false, async ({ manager }) => {
    const rows = await manager.list();
    if (rows.length === 0) return out('no certificates');
    const width = Math.max(4, ...rows.map((r) => r.host.length));
    out(`${'HOST'.padEnd(width)}  ${'EXPIRES (UTC)'.padEnd(17)}  ${'DAYS'.padStart(6)}  ${'RENEW FROM (UTC)'.padEnd(17)}  SOURCE    ISSUER`);
    for (const r of rows) {
      out(`${r.host.padEnd(width)}  ${when(r.notAfter)}  ${daysLeft(r.notAfter.getTime()).padStart(6)}  ${when(r.renewAt)}  ${r.source.padEnd(8)}  ${r.issuer}`);
    }
  });
}

export function showCert(raw: string, opts: CertsOptions, out: Out): Promise<void> {
  return run(opts, false, async ({ store }) => {
    const host = hostArg(raw);
    const cert = await store.getCert(host);
    if (!cert) throw new CliError(`no certificate stored for ${host} (blotcdn certs list shows what is stored)`);
    out(describeCert(host, cert));
  });
}

export function obtainCert(raw: string, opts: CertsOptions, need: 'missing' | 'forced', out: Out): Promise<void> {
  return run(opts, true, async ({ manager, store, issuer }) => {
    const host = hostArg(raw);
    if (!(await manager.policy.allows(host))) throw new CliError(`${host} is not allowed: add --allow-host ${host} (or put it on the domain list)`);
    const before = await store.getCert(host);
    const started = Date.now();
    const cert = await manager.obtain(host, need).catch((err: Error) => {
      throw new CliError(`could not obtain a certificate for ${host}: ${err.message}`);
    });
    const ordered = (issuer?.stats().issued ?? 0) > 0;
    const verb = !ordered ? 'already has a valid certificate' : need === 'forced' || before ? 'renewed' : 'issued';
    out(`${host}: ${verb}, expires ${when(cert.notAfter)} (${daysLeft(cert.notAfter)} days)${ordered ? ` in ${Date.now() - started} ms` : ''}`);
  });
}
