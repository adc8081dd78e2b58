// Prometheus metrics (prom-client). Every value is read from the counters the request path already
// keeps, when Prometheus scrapes — no metric call sits on the hot path.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ControlPlane } from '../control/control-plane.js';
import type { Histogram } from './histogram.js';

export interface Metrics {
  contentType: string;
  text(): Promise<string>;
}

type Reading = () => [Record<string, string>, number][] | Promise<[Record<string, string>, number][]>;

/**
 * A histogram kept by the request path (observe.ts's Histogram), read at scrape time. prom-client
 * is handed its values in the shape its own histograms produce.
 */
function histogram(registry: Registry, name: string, help: string, read: () => [Record<string, string>, Histogram][]): void {
  registry.registerMetric({
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      values: read().flatMap(([labels, h]) => [
        ...h.cumulative().map((b) => ({ metricName: `${name}_bucket`, labels: { ...labels, le: b.le }, value: b.count })),
        { metricName: `${name}_sum`, labels, value: h.sum },
        { metricName: `${name}_count`, labels, value: h.count },
      ]),
    }),
    reset: () => undefined,
  } as unknown as Parameters<Registry['registerMetric']>[0]);
}

/** A counter (a running total kept elsewhere) or a gauge, whose values are read at scrape time. */
function metric(kind: 'counter' | 'gauge', registry: Registry, name: string, help: string, labelNames: string[], read: Reading): void {
  const options = { name, help, labelNames, registers: [registry] };
  if (kind === 'counter') {
    new Counter({ ...options, async collect() {
      this.reset();
      for (const [labels, value] of await read()) this.inc(labels, value);
    } });
  } else {
    new Gauge({ ...options, async collect() {
      this.reset();
      for (const [labels, value] of await read()) this.set(labels, value);
    } });
  }
}

const mirror = (registry: Registry, name: string, help: string, labelNames: string[], read: Reading) => metric('counter', registry, name, help, labelNames, read);
const gauge = (registry: Registry, name: string, help: string, labelNames: string[], read: Reading) => metric('gauge', registry, name, help, labelNames, read);

export function createMetrics(plane: ControlPlane): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: plane.nodeId });
  // Node's own process metrics under the names every dashboard expects (process_cpu_seconds_total…).
  collectDefaultMetrics({ register: registry });
  const s = plane.stats;
  mirror(registry, 'blotcdn_requests_total', 'Requests answered, by outcome (hit, stale, revalidated, miss, pass, synth, error).', ['outcome'], () =>
    Object.entries(s.outcomes).map(([outcome, n]) => [{ outcome }, n]),
  );
  mirror(registry, 'blotcdn_responses_total', 'Responses by status code.', ['status'], () => [...s.statuses].map(([status, n]) => [{ status: String(status) }, n]));
  mirror(registry, 'blotcdn_served_bytes_total', 'Body bytes sent to clients.', [], () => [[{}, s.bytesServed]]);
  histogram(registry, 'blotcdn_request_duration_seconds', 'Time from the request to the end of the response, by outcome.', () =>
    [...s.durations].map(([outcome, h]) => [{ outcome }, h]),
  );
  histogram(registry, 'blotcdn_origin_response_seconds', "Time from the request to the origin's response head.", () => [[{}, s.originLatency]]);
  // Cluster mode only (redis.url): absent on a lone node.
  const bus = () => plane.clusterStatus();
  gauge(registry, 'blotcdn_redis_up', '1 while Redis (the purge bus) is reachable from this node, 0 while it is not.', [], () => { const b = bus(); return b ? [[{}, b.up ? 1 : 0]] : []; });
  gauge(registry, 'blotcdn_purges_queued', 'Purges made here while Redis was unreachable, waiting to go out.', [], () => { const b = bus(); return b ? [[{}, b.queued]] : []; });
  mirror(registry, 'blotcdn_cluster_purges_applied_total', "Other nodes' purges applied here.", [], () => { const b = bus(); return b ? [[{}, b.applied]] : []; });
  gauge(registry, 'blotcdn_certificate_expiry_timestamp_seconds', 'When each certificate held expires (Unix time).', ['host'], async () =>
    (await plane.certs()).map((c) => [{ host: c.host }, Math.floor(Date.parse(c.notAfter) / 1000)] as [Record<string, string>, number]),
  );
  mirror(registry, 'blotcdn_bytes_from_origin_total', 'Body bytes received from origins.', [], () => [[{}, s.bytesFromOrigin]]);
  mirror(registry, 'blotcdn_origin_fetches_total', 'Requests sent to origin groups.', [], () => [[{}, s.originFetches]]);
  mirror(registry, 'blotcdn_collapsed_total', 'Requests that joined a fetch already under way.', [], () => [[{}, s.collapsed]]);
  mirror(registry, 'blotcdn_stored_total', 'Objects stored.', [], () => [[{}, s.stored]]);
  mirror(registry, 'blotcdn_not_stored_total', 'Origin answers not stored, by reason.', ['reason'], () => [...s.notStored].map(([reason, n]) => [{ reason }, n]));
  mirror(registry, 'blotcdn_errors_total', 'Requests that ended in an error, by code.', ['code'], () => [...s.errors].map(([code, n]) => [{ code }, n]));
  const split = (map: Map<string, number>, a: string, b: string) =>
    [...map].map(([key, n]) => {
      const at = key.lastIndexOf(' ');
      return [{ [a]: key.slice(0, at), [b]: key.slice(at + 1) }, n] as [Record<string, string>, number];
    });
  mirror(registry, 'blotcdn_denied_total', 'Requests refused by a deny rule, by site and status.', ['site', 'status'], () => split(s.denied, 'site', 'status'));
  mirror(registry, 'blotcdn_rate_limited_total', 'Requests refused by a rate limit, by site and bucket (client or host).', ['site', 'bucket'], () => split(s.rateLimited, 'site', 'bucket'));
  mirror(registry, 'blotcdn_tasks_total', "The edge's background tasks finished, by name and outcome (done, failed).", ['name', 'outcome'], () =>
    plane.taskCounts().flatMap((t) => [[{ name: t.name, outcome: 'done' }, t.done], [{ name: t.name, outcome: 'failed' }, t.failed]] as [Record<string, string>, number][]),
  );
  gauge(registry, 'blotcdn_tasks_running', "The edge's background tasks running now, by name.", ['name'], () => plane.taskCounts().map((t) => [{ name: t.name }, t.running]));
  const purges = () => [...plane.purgeTotals()].map(([k, v]) => ({ kind: k.split(' ')[0]!, mode: k.split(' ')[1]!, ...v }));
  mirror(registry, 'blotcdn_purges_total', 'Purges made, by kind and mode.', ['kind', 'mode'], () => purges().map((p) => [{ kind: p.kind, mode: p.mode }, p.purges]));
  mirror(registry, 'blotcdn_purged_objects_total', 'Objects removed or marked stale by purges.', ['kind', 'mode'], () =>
    purges().map((p) => [{ kind: p.kind, mode: p.mode }, p.objects]),
  );
  gauge(registry, 'blotcdn_cache_objects', 'Objects held, by tier.', ['tier'], () => {
    const c = plane.cacheStats();
    return Object.entries(c.tiers ?? { total: c.total }).map(([tier, st]) => [{ tier }, st.entries]);
  });
  gauge(registry, 'blotcdn_cache_bytes', 'Bytes held, by tier.', ['tier'], () => {
    const c = plane.cacheStats();
    return Object.entries(c.tiers ?? { total: c.total }).map(([tier, st]) => [{ tier }, st.bytes]);
  });
  gauge(registry, 'blotcdn_cache_max_bytes', 'Byte budget, by tier.', ['tier'], () => {
    const c = plane.cacheStats();
    return Object.entries(c.tiers ?? { total: c.total }).map(([tier, st]) => [{ tier }, st.maxBytes]);
  });
  gauge(registry, 'blotcdn_flights', 'Origin fetches under way that requests can join.', [], () => [[{}, plane.cacheStats().flights]]);
  gauge(registry, 'blotcdn_cache_memory_bytes', 'Memory the cache keeps per structure (indexes, hit-for-miss, flights, held purges).', ['part'], () =>
    Object.entries(plane.memory().parts).map(([part, p]) => [{ part }, p.bytes]),
  );
  gauge(registry, 'blotcdn_origin_member_up', '1 when an origin member takes traffic, 0 while its breaker is open.', ['group', 'member'], () =>
    plane.originStatus().flatMap((g) => g.members.map((m) => [{ group: g.group, member: m.name }, m.state === 'closed' ? 1 : 0] as [Record<string, string>, number])),
  );
  mirror(registry, 'blotcdn_origin_member_failures_total', 'Failures counted against an origin member.', ['group', 'member'], () =>
    plane.originStatus().flatMap((g) => g.members.map((m) => [{ group: g.group, member: m.name }, m.failures] as [Record<string, string>, number])),
  );
  return { contentType: registry.contentType, text: () => registry.metrics() };
}
