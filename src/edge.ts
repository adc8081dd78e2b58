// The composition root: builds every part from a validated config, starts them in order (cache,
// listeners, admin API) and stops them in reverse. Nothing else in the code base constructs parts;
// tests and the CLI go through here, so what they run is what production runs. Edge is also the
// ControlPlane the admin API and the metrics read.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EdgeConfig } from './config/schema.js';
import { buildStore } from './cache/build-store.js';
import { EdgeCache } from './cache/edge-cache.js';
import { Compressor } from './cache/compression.js';
import { Purger, type PurgeRecord, type PurgeRequest } from './cache/purger.js';
import type { CacheStore } from './cache/store.js';
import { purgeTarget } from './cache/purge-target.js';
import { clock } from './clock.js';
import { TieredStore } from './cache/tiered-store.js';
import { memoryFigure, type MemoryFigure } from './cache/memory-figure.js';
import { ERRORS } from './errors.js';
import { AdminApi, adminOptions } from './control/admin-api.js';
import { Cluster, type NodesReport, type PurgeSent } from './cluster/cluster.js';
import { defaultNodeName, nodeIdentity, type NodeIdentity } from './cluster/node-identity.js';
import type { BusStatus } from './cluster/purge-bus.js';
import type { ClusterSender, MachineBus } from './cluster/workers/worker-purge-bus.js';
import { JobQueueView } from './control/job-queue-view.js';
import type { CertInfo, ControlPlane, Readiness } from './control/control-plane.js';
import type { QueueReport } from './origin-lib/index.js';
import { createAccessLog, type AccessLog } from './observe/access-log.js';
import { createEventLog, type EventLog } from './observe/event-log.js';
import { EdgeStats } from './observe/stats.js';
import { buildOriginGroups } from './origins/build.js';
import type { OriginGroup } from './origins/origin-group.js';
import { RequestContext, type EdgeRequest, type EdgeResponse, type EdgeRuntime } from './pipeline/context.js';
import { fastHit, fastStreamHit, type FastAnswer, type FastStreamAnswer } from './pipeline/fast-hit.js';
import { handleRequest } from './pipeline/pipeline.js';
import { warmAll, type WarmResult } from './pipeline/warm.js';
import { HttpListener } from './server/http-listener.js';
import { HttpsListener } from './server/https-listener.js';
import { buildDomainList, buildTls, declaredHosts, type DomainList, type TlsParts } from './tls/build-tls.js';
import { buildSites } from './sites/build-sites.js';
import { SiteTable } from './sites/site-table.js';
import { AddressList } from './policy/address-list.js';
import { TaskRunner, type TaskCounts } from './tasks/task-runner.js';
import { ClientIp } from './policy/client-ip.js';

/** Config sections a running edge cannot change in place (a reload keeps their old values). */
const RESTART_FIELDS = ['listen', 'cache', 'admin', 'redis', 'node', 'log', 'domains', 'jobs', 'shutdownTimeout'] as const satisfies readonly (keyof EdgeConfig)[];

/** The names a certificate may be held for, beside the domain list: the sites' hosts and tls.allowHosts. */
function certificateNames(config: EdgeConfig): string[] {
  return [...new Set([...declaredHosts(config), ...(config.tls?.allowHosts ?? []).filter((h) => h !== '*')])];
}

/** The node's name in Via, CDN-Loop and the cluster: `node.id`, or the host name. */
export function nodeIdOf(config: EdgeConfig): string {
  return config.node.id ?? defaultNodeName();
}

/** How a worker process (src/cluster/workers) adapts an edge; a single process passes none. */
export interface EdgeOptions {
  /** This process's worker number (its cluster identity names it). */
  worker?: number;
  /**
   * The bus to this machine's other workers (the primary's relay). It is given what reaches other
   * nodes for purges the primary accepted itself; the edge publishes its own purges to the cluster.
   */
  busFor?: (remote: ClusterSender | undefined) => MachineBus;
  /** Wraps the listeners' request handler (a debug header naming the worker). */
  wrapHandler?: <H extends (req: never, res: never) => void>(handler: H) => H;
}

/** Some origin member is another edge (the shield tier). */
function hasShield(config: EdgeConfig): boolean {
  return Object.values(config.originGroups).some((g) => g.members.some((m) => m.shield === true));
}

export class Edge implements ControlPlane {
  readonly runtime: EdgeRuntime;
  /** The origin groups in use (replaced by a reload; the old ones finish what they were doing). */
  origins: Map<string, OriginGroup>;
  readonly store: CacheStore;
  readonly purger: Purger;
  readonly nodeId: string;
  readonly stats: EdgeStats;
  admin: AdminApi | undefined;
  /** Certificates, when the config has a `tls` section. */
  readonly tls: TlsParts | undefined;
  private readonly domainList: DomainList | undefined;
  private readonly https: HttpsListener[];
  /** Cluster mode (`redis.url`): purges to and from the other nodes, receipts, the node list. */
  readonly cluster: Cluster | undefined;
  /** The primary's relay to this machine's other workers (worker processes only). */
  readonly machineBus: MachineBus | undefined;
  /** This process in the cluster: the node's name and a part of its own (src/cluster/node-identity.ts). */
  readonly identity: NodeIdentity;
  private readonly accessLog: AccessLog | undefined;
  /** The publishing queue (config `jobs`), read for GET /jobs. */
  private readonly jobQueue: JobQueueView | undefined;
  private readonly http: HttpListener[];
  private started = false;
  private indexed = false;

  /** Re-reads the config a reload applies (set by whoever started the edge from a file). */
  reloadSource: (() => Promise<EdgeConfig>) | undefined;

  /** The one runner of background work (refreshes, compression, warming, probes, periodic checks). */
  readonly tasks: TaskRunner;

  constructor(
    public config: EdgeConfig,
    options: EdgeOptions = {},
  ) {
    const events = createEventLog(config.log.events === 'stderr');
    this.tasks = new TaskRunner({ compress: config.cache.compression.concurrency, warm: config.admin?.warmConcurrency ?? 16, refresh: 64 });
    this.origins = this.buildOrigins(config, events);
    this.stats = new EdgeStats();
    this.store = buildStore(config.cache, (code, detail) => {
      events.warn({ code, ...detail }, ERRORS[code].message);
      this.stats.bump(this.stats.errors, code);
    });
    const limits = config.cache.limits;
    const cache = new EdgeCache(this.store, { ...limits, hitForMissMs: limits.hitForMiss });
    this.purger = new Purger(cache);
    this.identity = nodeIdentity(config.node.id, options.worker);
    this.nodeId = this.identity.name;
    this.accessLog = createAccessLog(config.log.access);
    const cdnId = config.proxy.cdnId;
    const compression = config.cache.compression;
    const log = this.accessLog;
    this.domainList = buildDomainList(config, events);
    const sites = new SiteTable(buildSites(config, this.origins), this.domainList?.source);
    this.tls = buildTls(config, declaredHosts(config), this.domainList, events, this.tasks);
    this.runtime = {
      sites,
      cache,
      purger: this.purger,
      // Here, then (worker processes) on every sibling: the machine is one cache to its clients.
      invalidate: async (primary) => {
        await this.purger.invalidate(primary);
        await this.machineBus?.invalidate(primary);
      },
      compressor: compression.enabled ? new Compressor(cache, compression, this.tasks) : undefined,
      tasks: this.tasks,
      stats: this.stats,
      nodeId: this.nodeId,
      cdnId,
      maxHops: config.proxy.maxHops,
      via: `1.1 ${this.nodeId}`,
      cdnLoopEntry: `${cdnId}; node=${this.nodeId}`,
      servedByHeader: config.proxy.servedByHeader,
      policy: { cdnId },
      accessLog: log ? (ctx) => log.write(ctx) : undefined,
      events,
      httpsPort: undefined,
      listenerPort: (scheme) => (scheme === 'https' ? this.https[0]?.addressInfo?.port : this.http[0]?.addressInfo?.port),
      maxTargetLength: config.proxy.maxTargetLength,
      abandonedFillLimit: config.proxy.abandonedFillLimit,
      acme: this.tls?.manager,
      clientIp: new ClientIp(new AddressList(config.trustedProxies)),
      shieldPeers: new AddressList(config.node.peers),
      toShield: hasShield(config),
    };
    // Read through the runtime so a reload's new list applies to connections from then on.
    const trusted = this.runtime.clientIp.trustsAnyone ? (address: string) => this.runtime.clientIp.trusts(address) : undefined;
    const wrap = options.wrapHandler ?? (<H>(h: H) => h);
    // The lane writes its answers itself: not with a handler wrapper (it would not see them).
    const lane = config.proxy.fastLane && options.wrapHandler === undefined ? this.laneHttp : undefined;
    this.http = config.listen.http.map((address) => new HttpListener(address, wrap(this.handleHttp), trusted, {}, lane));
    const tlsAlpn = config.tls?.acme?.challenges.includes('tls-alpn-01') ?? false;
    this.https = this.tls
      ? config.listen.https.map((address) => new HttpsListener(address, this.tls!.manager, wrap(this.handleHttps), { ticketKeys: this.tls!.ticketKeys, ticketKeyRotationMs: this.tls!.ticketKeyRotationMs, acmeTlsAlpn: tlsAlpn, trusted, scheduler: this.tasks, laneHandler: lane && this.laneHttps, streamLane: lane && this.laneStream }))
      : [];
    this.jobQueue = config.jobs ? new JobQueueView(config) : undefined;
    const count = (code: keyof typeof ERRORS) => this.stats.bump(this.stats.errors, code);
    this.cluster = config.redis ? new Cluster({ ...config, redis: config.redis }, this.identity, cache, events, count, this.tasks) : undefined;
    // Purges the primary accepted reach other nodes through the worker it hands them to.
    const cluster = this.cluster;
    this.machineBus = options.busFor?.(cluster && { send: (request) => cluster.send(request) });
  }

  private buildOrigins(config: EdgeConfig, events: EventLog): Map<string, OriginGroup> {
    return buildOriginGroups(
      config,
      (group, member, state, reason) => {
        if (state === 'open') events.warn({ group, member, reason }, 'origin member down: skipped while another member can answer');
        else events.info({ group, member }, 'origin member back up');
      },
      this.tasks,
    );
  }

  /**
   * Applies a new config in place: sites, behaviors and their policy, origin groups, trusted
   * proxies, limits and the certificate policy's names. The cache, the listeners and open
   * connections stay; requests in flight finish with the site, behavior and origin group they
   * started with. Resolves with the changed fields that only a restart applies (listeners, cache
   * tiers, admin, Redis, TLS store…), which keep their old values.
   */
  reload(next: EdgeConfig): { restartNeeded: string[] } {
    const restartNeeded: string[] = RESTART_FIELDS.filter((field) => JSON.stringify(this.config[field]) !== JSON.stringify(next[field]));
    const tlsOf = (c: EdgeConfig) => JSON.stringify(c.tls === undefined ? undefined : { ...c.tls, allowHosts: undefined });
    if (tlsOf(this.config) !== tlsOf(next)) restartNeeded.push('tls (other than allowHosts)');
    if ((this.config.trustedProxies.length === 0) !== (next.trustedProxies.length === 0)) restartNeeded.push('trustedProxies (turning the PROXY protocol front on or off)');
    if (this.config.proxy.fastLane !== next.proxy.fastLane) restartNeeded.push('proxy.fastLane');
    const rt = this.runtime;
    const origins = this.buildOrigins(next, rt.events);
    const sites = new SiteTable(buildSites(next, origins), this.domainList?.source);
    const old = this.origins;
    this.origins = origins;
    rt.sites = sites;
    const cdnId = next.proxy.cdnId;
    rt.cdnId = cdnId;
    rt.cdnLoopEntry = `${cdnId}; node=${this.nodeId}`;
    rt.policy = { cdnId };
    rt.maxHops = next.proxy.maxHops;
    rt.servedByHeader = next.proxy.servedByHeader;
    rt.maxTargetLength = next.proxy.maxTargetLength;
    rt.abandonedFillLimit = next.proxy.abandonedFillLimit;
    rt.clientIp = new ClientIp(new AddressList(next.trustedProxies));
    rt.toShield = hasShield(next);
    this.tls?.manager.policy.setNames(certificateNames(next));
    void this.tls?.statics?.reload(); // a reload re-reads the static certificates' files too, as nginx's does
    const tls = this.config.tls && next.tls ? { ...this.config.tls, allowHosts: next.tls.allowHosts } : this.config.tls;
    this.config = { ...next, ...Object.fromEntries(RESTART_FIELDS.map((f) => [f, this.config[f]])), tls } as EdgeConfig;
    // The old groups take no new requests; closing lets their pools finish what is in flight.
    for (const group of old.values()) void group.close();
    rt.events.info({ restartNeeded }, restartNeeded.length > 0 ? 'config reloaded; some changes need a restart' : 'config reloaded');
    return { restartNeeded };
  }

  /** Reads the config again from where it came from and applies it (SIGHUP, POST /reload). */
  async reloadFromSource(): Promise<{ restartNeeded: string[] }> {
    if (this.reloadSource === undefined) throw new Error('this edge was started without a config file: there is nothing to re-read');
    return this.reload(await this.reloadSource());
  }

  /** The request handler for plain-HTTP listeners (also usable with any http.Server). */
  readonly handleHttp = (req: IncomingMessage, res: ServerResponse): void => {
    handleRequest(new RequestContext(req, res, this.runtime, 'http'));
  };

  /** The fast lane's handler: a plain hit's answer as bytes, or undefined for Node's server to run it. */
  readonly laneHttp = (req: IncomingMessage, keepAlive: string): FastAnswer | undefined => fastHit(new RequestContext(req, undefined, this.runtime, 'http', true), keepAlive);
  readonly laneHttps = (req: IncomingMessage, keepAlive: string): FastAnswer | undefined => fastHit(new RequestContext(req, undefined, this.runtime, 'https', true), keepAlive);
  /** The same for HTTP/2 streams, before Node's compatibility layer. */
  readonly laneStream = (req: IncomingMessage): FastStreamAnswer | undefined => fastStreamHit(new RequestContext(req, undefined, this.runtime, 'https', true));

  /** The request handler for HTTPS listeners (HTTP/1.1 and HTTP/2). */
  readonly handleHttps = (req: EdgeRequest, res: EdgeResponse): void => {
    handleRequest(new RequestContext(req, res, this.runtime, 'https'));
  };

  /**
   * Resolves once a disk tier's index is whole (at once from its snapshot; after reading every
   * file when there is none). Lookups work before; purges are answered after.
   */
  ready(): Promise<void> {
    return (this.store.ready ?? Promise.resolve()).then(() => {
      this.indexed = true;
    });
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.store.prepared;
    this.ready().catch((err: unknown) => console.error('blotcdn: reading the disk cache failed:', err));
    try {
      // This machine's other workers' purges, those missed while this one was down first.
      await this.machineBus?.start({ purge: (request) => this.purger.purge(request), invalidate: (primary) => this.purger.invalidate(primary) });
      // Other nodes' purges apply here from the start, those missed while away first (a purge is
      // never broadcast onwards again): the listeners open once this node is caught up.
      await this.cluster?.start(this.purger);
      // Hosts the platform adds are served from their first request on (domains.redis.watch).
      await this.domainList?.start();
      await this.tls?.manager.start();
      for (const listener of this.https) await listener.listen();
      // Plain-HTTP requests are redirected to the (first) HTTPS listener's port.
      this.runtime.httpsPort = this.https[0]?.addressInfo?.port;
      for (const listener of this.http) await listener.listen();
      const admin = this.config.admin;
      if (admin) {
        this.admin = new AdminApi(this, adminOptions(admin));
        await this.admin.listen();
      }
    } catch (err) {
      await this.stop(0);
      throw err;
    }
    this.stats.startSampling(this.tasks);
    this.started = true;
  }

  /** Bound addresses of the plain-HTTP listeners (port 0 in the config becomes the real port). */
  get httpAddresses(): AddressInfo[] {
    return this.http.map((l) => l.addressInfo).filter((a): a is AddressInfo => a !== undefined);
  }

  get httpsAddresses(): AddressInfo[] {
    return this.https.map((l) => l.addressInfo).filter((a): a is AddressInfo => a !== undefined);
  }

  private stopping: Promise<void> | undefined;

  /** Stops listeners (in-flight requests get `graceMs`), then the admin API, origins and the cache. */
  stop(graceMs = 10_000): Promise<void> {
    this.stopping ??= this.shutdown(graceMs);
    return this.stopping;
  }

  /** Replaces the TLS session ticket key on every HTTPS listener (workers: the primary's, rotated together). */
  setTicketKeys(keys: Buffer): void {
    for (const listener of this.https) listener.server.setTicketKeys(keys);
  }

  /** Reopens the log files by name (SIGUSR1, after logrotate moved them). */
  async reopenLogs(): Promise<void> {
    await this.accessLog?.reopen();
  }

  private async shutdown(graceMs: number): Promise<void> {
    await Promise.all([...this.http, ...this.https].map((l) => l.close(graceMs)));
    await this.admin?.close();
    await this.tls?.stop();
    await this.domainList?.close();
    await this.machineBus?.close();
    await this.cluster?.close();
    await this.jobQueue?.close();
    this.stats.stopSampling();
    this.tasks.stop();
    await Promise.all([...this.origins.values()].map((g) => g.close()));
    await this.store.close();
    await this.accessLog?.close();
  }

  // ---- ControlPlane ----

  /**
   * Purges here, then tells the other nodes (whose own counts are not included); with `waitMs`,
   * waits at most that long for their acknowledgements.
   */
  async purge(request: PurgeRequest, waitMs?: number): Promise<PurgeRecord & { sent?: PurgeSent }> {
    const record = await this.purger.purge(request);
    await this.machineBus?.publish(request);
    if (this.cluster === undefined) return record;
    return { ...record, sent: await this.cluster.publish(request, waitMs) };
  }

  /** The cluster's nodes with heartbeat and lag (this one alone without Redis). */
  async nodes(): Promise<NodesReport> {
    if (this.cluster) return this.cluster.nodes();
    return { self: this.identity.id, bus: undefined, nodes: [{ id: this.identity.id, name: this.nodeId, self: true, heartbeatAgeMs: 0, lagMs: 0, queued: 0 }] };
  }

  clusterStatus(): BusStatus | undefined {
    return this.cluster?.bus.status();
  }

  /** How long POST /purge with "wait": true may wait for acknowledgements. */
  get ackTimeoutMs(): number {
    return this.cluster?.ackTimeoutMs ?? 0;
  }

  purgeLog(): readonly PurgeRecord[] {
    return this.purger.log;
  }

  purgeTotals(): ReadonlyMap<string, { purges: number; objects: number }> {
    return this.purger.totals;
  }

  activePurges(): number {
    return this.purger.active;
  }

  cacheStats(): ReturnType<ControlPlane['cacheStats']> {
    const cache = this.runtime.cache;
    const tiers = this.store instanceof TieredStore ? this.store.tierStats() : undefined;
    const disk = this.store instanceof TieredStore ? this.store.disk.startup : undefined;
    return { total: this.store.stats(), tiers, flights: cache.flights.size, indexed: this.store.footprint().entries, ...(disk ? { diskIndexLoad: disk } : {}) };
  }

  memory(): MemoryFigure {
    return memoryFigure(this.store, this.runtime.cache, this.purger, this.runtime.compressor);
  }

  originStatus(): { group: string; members: ReturnType<OriginGroup["status"]> }[] {
    return [...this.origins].map(([group, g]) => ({ group, members: g.status() }));
  }

  async certs(): Promise<CertInfo[]> {
    if (!this.tls) return [];
    const listed = await this.tls.manager.list();
    return listed.map((c) => ({ host: c.host, notAfter: c.notAfter.toISOString(), notBefore: c.notBefore.toISOString(), issuer: c.issuer, source: c.source }));
  }

  isReady(): boolean {
    return this.indexed;
  }

  async inspect(host: string): Promise<string[]> {
    return (await this.store.keysFor(purgeTarget({ kind: 'host', value: host }, clock.now()))).sort();
  }

  /** The index is kept whole (snapshot and journal, or rebuilt from the files at start): nothing to rebuild. */
  async rehydrate(): Promise<void> {
    await this.store.ready;
  }

  readiness(): Readiness {
    const checks = {
      cache: this.indexed,
      origins: [...this.origins.values()].every((g) => g.status().some((m) => m.state === 'closed')),
      certificates: this.tls === undefined || this.started,
    };
    return { ready: checks.cache && checks.origins && checks.certificates, checks };
  }

  /** The task runner's counts (GET /tasks, metrics). */
  taskCounts(): TaskCounts[] {
    return this.tasks.stats();
  }

  jobs(): Promise<QueueReport | undefined> {
    return this.jobQueue ? this.jobQueue.report() : Promise.resolve(undefined);
  }

  warm(urls: string[], concurrency: number, onResult?: (r: WarmResult) => void): Promise<WarmResult[]> {
    return warmAll(this.runtime, urls, concurrency, onResult);
  }
}
