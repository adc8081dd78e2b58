// The composition root: builds every part from a validated config, starts them in order (cache,
// origins, listeners) and stops them in reverse. Nothing else in the code base constructs parts;
// tests and the CLI go through here, so what they run is what production runs.
import { hostname } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EdgeConfig } from './config/schema.js';
import { EdgeCache } from './cache/edge-cache.js';
import { Compressor } from './cache/compression.js';
import { DiskStore } from './cache/disk-store.js';
import { MemoryStore } from './cache/memory-store.js';
import { TieredStore } from './cache/tiered-store.js';
import type { CacheStore } from './cache/store.js';
import { buildOriginGroups } from './origins/build.js';
import type { OriginGroup } from './origins/origin-group.js';
import { EdgeStats } from './observe/stats.js';
import { RequestContext, type EdgeRuntime } from './pipeline/context.js';
import { handleRequest } from './pipeline/pipeline.js';
import { HttpListener } from './server/http-listener.js';
import { buildSite, SiteTable } from './sites/site-table.js';

export interface EdgeOptions {
  /** Access log sink (one call per request); none by default. */
  accessLog?: EdgeRuntime['accessLog'];
}

export class Edge {
  readonly runtime: EdgeRuntime;
  readonly origins: Map<string, OriginGroup>;
  readonly store: CacheStore;
  private readonly http: HttpListener[];
  private started = false;

  constructor(
    readonly config: EdgeConfig,
    options: EdgeOptions = {},
  ) {
    this.origins = buildOriginGroups(config);
    const group = (name: string) => this.origins.get(name)!;
    const sites = config.sites.map((s, i) =>
      buildSite(
        s.name ?? `site${i}`,
        s.hosts,
        group(s.originGroup),
        s.behaviors.map((b) => ({ path: b.path, origin: group(b.originGroup ?? s.originGroup), ttl: b.ttl, query: b.query, bypass: b.bypass, grace: b.grace ?? config.cache.grace })),
        config.cache.grace,
      ),
    );
    const memory = new MemoryStore({ maxBytes: config.cache.memory.maxSize, maxObjectBytes: config.cache.memory.maxObjectSize });
    const disk = config.cache.disk;
    this.store = disk
      ? new TieredStore(memory, new DiskStore({ dir: disk.dir, maxBytes: disk.maxSize, maxObjectBytes: disk.maxObjectSize, fsync: disk.fsync, smallObjectBytes: Math.min(1024 * 1024, config.cache.memory.maxObjectSize) }))
      : memory;
    const nodeId = config.node.id ?? hostname().replace(/[^A-Za-z0-9._-]/g, '-');
    const cdnId = config.proxy.cdnId;
    const cache = new EdgeCache(this.store);
    const compression = config.cache.compression;
    this.runtime = {
      sites: new SiteTable(sites),
      cache,
      compressor: compression.enabled ? new Compressor(cache, compression) : undefined,
      stats: new EdgeStats(),
      nodeId,
      cdnId,
      maxHops: config.proxy.maxHops,
      via: `1.1 ${nodeId}`,
      cdnLoopEntry: `${cdnId}; node=${nodeId}`,
      servedByHeader: config.proxy.servedByHeader,
      policy: { cdnId },
      accessLog: options.accessLog,
    };
    this.http = config.listen.http.map((address) => new HttpListener(address, this.handleHttp));
  }

  /** The request handler for plain-HTTP listeners (also usable with any http.Server). */
  readonly handleHttp = (req: IncomingMessage, res: ServerResponse): void => {
    handleRequest(new RequestContext(req, res, this.runtime, 'http'));
  };

  /** Resolves once a disk tier has found what it held before a restart (lookups work before). */
  ready(): Promise<void> {
    return (this.store.ready ?? Promise.resolve()).then(() => this.runtime.cache.loadIndex());
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.store.prepared;
    this.ready().catch((err: unknown) => console.error('blotcdn: reading the disk cache failed:', err));
    try {
      for (const listener of this.http) await listener.listen();
    } catch (err) {
      await this.stop(0);
      throw err;
    }
    this.started = true;
  }

  /** Bound addresses of the plain-HTTP listeners (port 0 in the config becomes the real port). */
  get httpAddresses(): AddressInfo[] {
    return this.http.map((l) => l.addressInfo).filter((a): a is AddressInfo => a !== undefined);
  }

  /** Stops listeners (in-flight requests get `graceMs`), then origins and the cache. */
  async stop(graceMs = 10_000): Promise<void> {
    await Promise.all(this.http.map((l) => l.close(graceMs)));
    await Promise.all([...this.origins.values()].map((g) => g.close()));
    await this.store.close();
    this.started = false;
  }
}
