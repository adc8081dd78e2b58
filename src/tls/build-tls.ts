// The TLS side of an edge, built from its config: the platform's domain list (shared with the site
// table, so a custom domain is served and certified by the same answer), the certificate store, the
// ACME issuer and the CertManager every HTTPS listener asks at each handshake.
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { EdgeConfig } from '../config/schema.js';
import type { EventLog } from '../observe/event-log.js';
import { AskDomainSource } from '../sites/ask-domains.js';
import { CachedDomainSource } from '../sites/cached-domains.js';
import { DomainWatch } from '../sites/domain-watch.js';
import type { DomainSource } from '../sites/domain-source.js';
import { RedisDomainSource } from '../sites/redis-domains.js';
import type { TaskRunner } from '../tasks/task-runner.js';
import { AcmeIssuer } from './acme-issuer.js';
import { CertManager } from './cert-manager.js';
import type { CertStore } from './cert-store.js';
import { FsCertStore } from './fs-cert-store.js';
import { HostPolicy } from './host-policy.js';
import { RedisCertStore } from './redis-cert-store.js';
import { StaticCertificates } from './static-certs.js';
import { RedisOrderBudget } from '../cluster/redis-order-budget.js';
import { ClusterKeys, createRedisClient } from '../cluster/redis-client.js';

export interface DomainList {
  source: CachedDomainSource;
  /** Starts following the list's changes (domains.redis.watch); resolves once subscribed, or gave up. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The platform's domain list (Redis `domain:{host}` keys, or an ask URL), cached. */
export function buildDomainList(config: EdgeConfig, events: EventLog): DomainList | undefined {
  const domains = config.domains;
  if (!domains) return undefined;
  const sources: DomainSource[] = [];
  const clients: Redis[] = [];
  if (domains.redis) {
    const client = new Redis(domains.redis.url ?? config.redis!.url, { maxRetriesPerRequest: 2 });
    client.on('error', (err: Error) => events.warn({ err: err.message }, 'domain list: redis'));
    clients.push(client);
    sources.push(new RedisDomainSource(client, { prefix: domains.redis.prefix }));
  }
  if (domains.ask) sources.push(new AskDomainSource({ url: domains.ask.url, timeoutMs: domains.ask.timeout }));
  // One source, or the first that says yes.
  const combined: DomainSource =
    sources.length === 1
      ? sources[0]!
      : {
          name: sources.map((s) => s.name).join(' | '),
          lookup: async (host) => {
            for (const s of sources) if (await s.lookup(host)) return true;
            return false;
          },
        };
  const cache = domains.cache;
  const source = new CachedDomainSource(combined, {
    positiveTtlMs: cache.allowed,
    negativeTtlMs: cache.denied,
    staleIfErrorMs: cache.staleIfError,
    maxEntries: cache.maxEntries,
    onError: (err, host, source) => events.warn({ err: (err as Error).message, host, source }, 'domain list lookup failed'),
  });
  const redis = domains.redis;
  const watch = redis?.watch
    ? new DomainWatch({
        url: redis.url ?? config.redis!.url,
        prefix: redis.prefix,
        channel: redis.channel,
        enableKeyspaceEvents: redis.enableKeyspaceEvents,
        onChange: (host) => source.forget(host),
        onResync: () => source.clear(),
        onWarn: (message, fields) => events.warn(fields ?? {}, message),
      })
    : undefined;
  return {
    source,
    start: async () => {
      const mode = await watch?.start();
      if (mode) events.info({ mode }, 'domain list watch started');
    },
    close: async () => {
      watch?.close();
      for (const c of clients) c.disconnect();
    },
  };
}

/**
 * The names and `*.x` wildcards the sites declare: what certificates may cover. Not a catch-all
 * `*`, and not patterns like `preview-*.x` (a `*.x` wildcard must list their parent).
 */
export function declaredHosts(config: EdgeConfig): string[] {
  const hosts = config.sites.flatMap((s) => s.hosts).filter((h) => h !== '*' && !(h.startsWith('*.') ? h.slice(2) : h).includes('*'));
  return [...new Set(hosts)];
}

export interface TlsParts {
  manager: CertManager;
  /** tls.certificates (re-read on a change in their folders, and on a reload). */
  statics: StaticCertificates | undefined;
  store: CertStore;
  issuer: AcmeIssuer | undefined;
  ticketKeys: Buffer | undefined;
  ticketKeyRotationMs: number;
  stop(): Promise<void>;
}

export function buildTls(config: EdgeConfig, hosts: string[], domainList: DomainList | undefined, events: EventLog, scheduler?: Pick<TaskRunner, 'every'>): TlsParts | undefined {
  const tls = config.tls;
  if (!tls) return undefined;
  const store: CertStore = tls.store.dir
    ? new FsCertStore(tls.store.dir, { onError: (err, path) => events.warn({ err: (err as Error).message, path }, 'certificate store') })
    : RedisCertStore.connect(tls.store.redis === true ? config.redis!.url : tls.store.redis!, {
        prefix: tls.store.prefix,
        legacyKey: tls.store.platformCerts ? undefined : false,
        onError: (err, key) => events.warn({ err: (err as Error).message, key }, 'certificate store'),
      });
  const policy = new HostPolicy({
    // Certificates for what the sites declare (a catch-all `*` is not a list: use allowHosts).
    names: [...new Set([...hosts, ...tls.allowHosts.filter((h) => h !== '*')])],
    sources: domainList ? [domainList.source] : [],
    onError: (err, host, source) => events.warn({ err: (err as Error).message, host, source }, 'host policy'),
  });
  const acme = tls.acme;
  // Cluster mode: every node spends from one order budget in Redis.
  const sharedBudget =
    acme && config.redis
      ? new RedisOrderBudget(createRedisClient(config.redis.url, { name: 'blotcdn:acme-budget', onError: (err) => events.warn({ err: err.message }, 'ACME order budget: redis') }), new ClusterKeys(config.redis.keyPrefix).acmeOrders, acme.ordersPerWindow, acme.orderWindow)
      : undefined;
  const issuer = acme
    ? new AcmeIssuer({
        directoryUrl: acme.directory,
        store,
        email: acme.email,
        challenges: acme.challenges,
        caCert: acme.ca ? readFileSync(acme.ca, 'utf8') : undefined,
        pollMinMs: acme.pollMin,
        pollMaxMs: acme.pollMax,
        requestTimeoutMs: acme.requestTimeout,
        orderTimeoutMs: acme.orderTimeout,
        limits: {
          ordersPerWindow: acme.ordersPerWindow,
          orderWindowMs: acme.orderWindow,
          maxPending: acme.maxPending,
          failuresPerName: acme.failuresPerName,
          failureWindowMs: acme.failureWindow,
        },
        sharedBudget,
      })
    : undefined;
  const statics =
    tls.certificates.length > 0
      ? new StaticCertificates(tls.certificates, {
          onEvent: (e) => {
            if (e.type === 'refused') events.error({ hosts: e.hosts, file: e.file, err: e.error }, 'static certificate refused: the one in service stays');
            else if (e.notAfter <= Date.now()) events.error({ hosts: e.hosts, file: e.file, notAfter: new Date(e.notAfter).toISOString() }, `static certificate ${e.type} but expired: covered names get the default certificate`);
            else events.info({ hosts: e.hosts, file: e.file, id: e.id, notAfter: new Date(e.notAfter).toISOString() }, `static certificate ${e.type}`);
          },
        })
      : undefined;
  const manager = new CertManager({
    store,
    policy,
    issuer,
    statics,
    defaultCert: tls.defaultCert ? { certPem: readFileSync(tls.defaultCert.cert, 'utf8'), keyPem: readFileSync(tls.defaultCert.key, 'utf8') } : undefined,
    handshakeWaitMs: tls.handshakeWait,
    maxCached: tls.maxCached,
    renewCheckIntervalMs: tls.renewCheckInterval,
    scheduler,
    onEvent: (e) => {
      const fields = { host: e.host, ms: e.ms, error: e.error instanceof Error ? e.error.message : e.error === undefined ? undefined : String(e.error) };
      if (e.type === 'issued' || e.type === 'renewed') events.info(fields, `certificate ${e.type}`);
      else events.warn(fields, `certificate ${e.type}`);
    },
  });
  return {
    manager,
    statics,
    store,
    issuer,
    ticketKeys: tls.ticketKeys ? Buffer.from(tls.ticketKeys, 'hex') : undefined,
    ticketKeyRotationMs: tls.ticketKeyRotation,
    stop: async () => {
      await manager.stop();
      await store.close();
      await sharedBudget?.close();
    },
  };
}
