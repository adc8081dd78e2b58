// store: decide whether the origin's answer may be kept (RFC 9111 §3 and the behavior's TTL rules),
// and if so start streaming it into the cache. The body is teed: it goes into the store while
// readers get it from the flight, and it becomes visible in the store only once it arrived whole —
// a body cut short never becomes a cached object.
import type { Readable } from 'node:stream';
import { decideStorage, freshnessMeta, canServeStaleOnError, permanentDecision, type NoStoreReason, type StorageDecision } from '../cache/policy.js';
import { CacheIdCheck, cacheIdOfPath, immutableHeaders, YEAR_MS } from '../cache/permanent-url.js';
import { Uncacheable } from '../cache/single-flight.js';
import type { Flight } from '../cache/flight.js';
import type { CacheMeta, ObjectWriter } from '../cache/store.js';
import { negotiateEncoding, parseVary } from '../cache/vary.js';
import { addVaryAcceptEncoding, isCompressibleType, newBodyId } from '../cache/compression.js';
import { parseDirectives } from '../cache/cache-control.js';
import { EdgeError } from '../errors.js';
import { discardBody } from '../origins/origin.js';
import { firstValue, joinValues, type HeaderMap } from '../http/headers.js';
import type { EdgeRuntime, RequestContext } from './context.js';
import type { VaryPolicy } from '../sites/site-table.js';
import { LookupAgain } from './fetch.js';
import { clientHeaders } from './origin-request.js';
import { refreshedMeta } from './revalidate.js';
import { clock } from '../clock.js';

/** How far the fastest reader may run ahead of the slowest when nothing is being stored. */
const STREAM_WINDOW = 1024 * 1024;

/** Reasons that describe the response (not this one request), worth remembering as hit-for-miss. */
const REMEMBERED: ReadonlySet<NoStoreReason> = new Set(['no-store', 'private', 'set-cookie', 'vary-star', 'no-freshness', 'must-understand', 'status', 'too-large', 'close-delimited']);

/** Surrogate-Key (space separated) and Cache-Tag (comma separated) → tags. */
export function parseTags(headers: HeaderMap): string[] {
  const raw = [headers['surrogate-key'], headers['cache-tag']].flat().filter((v): v is string => typeof v === 'string');
  if (raw.length === 0) return [];
  return [...new Set(raw.join(' ').split(/[\s,]+/).filter(Boolean))];
}

/**
 * May a 304 update the stored response (RFC 9111 §4.3.4)? A strong ETag in the 304 must be the
 * stored one; a 304 without a strong validator applies to the response it was asked about.
 */
function validatorMatches(stored: string | undefined, received: string | undefined): boolean {
  if (received === undefined || received.startsWith('W/')) return true;
  return stored === received;
}

export function store(ctx: RequestContext): 'deliver' | 'synth' | 'fetch' {
  const { edge } = ctx;
  const res = ctx.originRes!;
  const flight = ctx.flight!;
  const now = clock.now();

  // RFC 9111 §4.3.4: a 304 to our revalidation freshens the stored object.
  if (res.status === 304 && ctx.object !== undefined) {
    discardBody(res.body);
    edge.cache.flights.finish(flight);
    flight.fail(new LookupAgain());
    ctx.flight = undefined;
    if (!validatorMatches(ctx.object.meta.etag, firstValue(res.headers['etag']))) {
      // The 304 names another representation than the one stored: it must not update it. Ask
      // again without validators.
      ctx.object = undefined;
      ctx.originRes = undefined;
      return 'fetch';
    }
    const refreshed = refreshedMeta(ctx, ctx.object.meta, res.headers, now);
    if (refreshed.kind === 'updated') void edge.cache.updateMeta(refreshed.meta, flight.startedAt);
    else if (refreshed.kind === 'unstorable') void edge.cache.delete(ctx.object.meta.key);
    if (refreshed.kind !== 'unstorable') ctx.object = { ...ctx.object, meta: refreshed.meta };
    ctx.outcome = 'revalidated';
    ctx.cacheStatus = { fwd: ctx.cacheStatus.fwd ?? 'stale', fwdStatus: 304, stored: refreshed.kind === 'updated' };
    return 'deliver';
  }
  // RFC 5861 §4: an error answer to a revalidation may be replaced by the stale object.
  if (res.status >= 500 && ctx.object !== undefined && canServeStaleOnError(ctx.object.meta, now)) {
    discardBody(res.body);
    abandon(ctx, flight, 'status');
    ctx.outcome = 'stale';
    ctx.cacheStatus = { fwd: 'stale', fwdStatus: res.status, detail: 'stale-if-error' };
    return 'deliver';
  }

  const behavior = ctx.behavior!;
  // A permanent URL: a year, immutable, whatever the origin says (when verifying, only for paths
  // that carry a cacheID to verify against).
  const expectedId = behavior.verifyCacheId ? cacheIdOfPath(ctx.path) : undefined;
  const permanent = behavior.immutable && res.status === 200 && (!behavior.verifyCacheId || expectedId !== undefined);
  const decision = permanent
    ? permanentDecision(res.headers, ctx.startedAt, now, YEAR_MS, behavior.grace)
    : decideForBehavior(ctx, res.status, res.headers, now);
  let vary = keyedVary(parseVary(res.headers['vary']), behavior.vary);
  if (behavior.keyHeaders.length > 0 && vary !== '*') vary = [...new Set([...vary, ...behavior.keyHeaders])].sort();
  const lengthHeader = firstValue(res.headers['content-length']);
  const length = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  // Only what the edge may really serve compressed gets its Vary: Accept-Encoding (a length not
  // announced may turn out either way).
  const sizeOk = (o: { minSize: number; maxSize: number }) => length === undefined || (length >= o.minSize && length <= o.maxSize);
  const compressible = edge.compressor !== undefined && isEdgeCompressible(res.status, res.headers) && sizeOk(edge.compressor.options);
  // The edge asked for identity and does Accept-Encoding itself: the origin's Vary on it is moot.
  if (compressible && vary !== '*') vary = vary.filter((name) => name !== 'accept-encoding');
  let writer: ObjectWriter | undefined;
  let meta: CacheMeta | undefined;
  let reason: NoStoreReason | undefined = decision.reason ?? (res.closeDelimited ? 'close-delimited' : undefined);
  if (decision.storable && vary !== '*' && !ctx.reqDirectives?.noStore && !res.closeDelimited) {
    const storedHeaders = (strip: readonly string[]) => {
      const out = clientHeaders(ctx, res.headers, strip, true);
      if (compressible) addVaryAcceptEncoding(out);
      return permanent ? immutableHeaders(out) : out;
    };
    const headers = storedHeaders(decision.stripFields);
    // Fields kept out of the store (qualified no-cache/private, a stripped cookie) still reach the
    // client whose request fetched them (RFC 9111 §5.2.2.4, §5.2.2.7).
    if (decision.stripFields.length > 0) ctx.ownHeaders = storedHeaders([]);
    meta = {
      key: edge.cache.variantKey(ctx.primary, vary, ctx.req.headers),
      primary: ctx.primary,
      host: ctx.host,
      path: ctx.path,
      status: res.status,
      headers,
      size: length ?? 0,
      vary,
      tags: parseTags(res.headers),
      surrogateControl: joinValues(res.headers['surrogate-control']),
      etag: firstValue(res.headers['etag']),
      lastModified: firstValue(res.headers['last-modified']),
      member: ctx.member,
      storedAt: now,
      bodyId: newBodyId(),
      compressible,
      immutable: permanent || undefined,
      ...freshnessMeta(decision, now),
    };
    writer = edge.cache.writer(meta, flight.startedAt);
    if (writer === undefined) reason = edge.cache.refusal(meta) ?? 'too-large';
    else flight.meta = meta;
  } else if (ctx.reqDirectives?.noStore) reason = 'request-no-store';

  if (writer === undefined || meta === undefined) {
    abandon(ctx, flight, reason ?? 'no-freshness');
    ctx.cacheStatus.detail = reason;
    return 'deliver';
  }

  flight.start(
    { key: meta.key, vary: meta.vary, member: ctx.member, status: res.status, headers: meta.headers, length, etag: meta.etag, lastModified: meta.lastModified },
    writer.readBack,
  );
  // The client that caused the miss accepts br or gzip: make that copy as soon as the object is in.
  const encoding = compressible ? negotiateEncoding(ctx.req.headers['accept-encoding']) : 'identity';
  const stored = meta;
  const onStored = encoding === 'identity' ? undefined : () => compressAfterStore(edge, stored.key, encoding);
  const check = permanent && expectedId !== undefined ? new CacheIdCheck(expectedId) : undefined;
  void pump(edge, flight, res.body, writer, length, onStored, check && { check, url: ctx.primary });
  ctx.outcome = 'miss';
  ctx.cacheStatus.stored = true;
  return 'deliver';
}

/** RFC 9111's storage decision for a response to this request, under its behavior's rules. */
export function decideForBehavior(ctx: RequestContext, status: number, responseHeaders: HeaderMap, now: number): StorageDecision {
  const behavior = ctx.behavior!;
  return decideStorage({
    method: 'GET',
    status,
    requestHeaders: ctx.req.headers,
    responseHeaders,
    requestTime: ctx.startedAt,
    responseTime: now,
    ttl: behavior.ttl,
    options: { ...ctx.edge.policy, graceMs: behavior.grace },
    clientCacheControl: behavior.clientCacheControl,
    setCookie: behavior.setCookie,
    statuses: behavior.statuses,
    vary: typeof behavior.vary === 'string' ? behavior.vary : 'some',
  });
}

/** The request fields a response is keyed on: what its Vary names, as far as the behavior allows. */
function keyedVary(vary: string[] | '*', policy: VaryPolicy): string[] | '*' {
  if (policy === 'honor') return vary;
  if (policy === 'ignore' || vary === '*') return [];
  return vary.filter((name) => policy.has(name));
}

/** A 200 of a compressible type, not encoded already, whose origin allows transformation. */
function isEdgeCompressible(status: number, headers: HeaderMap): boolean {
  return (
    status === 200 &&
    headers['content-encoding'] === undefined &&
    isCompressibleType(firstValue(headers['content-type'])) &&
    !parseDirectives(headers['cache-control']).has('no-transform')
  );
}

/** Not storable: waiters go to the origin themselves, and the key is remembered for a while. */
function abandon(ctx: RequestContext, flight: Flight, reason: NoStoreReason): void {
  const { edge } = ctx;
  edge.cache.flights.finish(flight);
  flight.fail(new Uncacheable(reason));
  ctx.flight = undefined;
  ctx.outcome = 'miss';
  edge.stats.bump(edge.stats.notStored, reason);
  if (REMEMBERED.has(reason)) edge.cache.markUncacheable(ctx.primary, reason);
}

/**
 * Moves the origin body into the flight (for readers) and the store (for later requests), at the
 * origin's pace. The object is committed only when every byte arrived (and as many as announced).
 */
function compressAfterStore(edge: EdgeRuntime, key: string, encoding: 'br' | 'gzip'): void {
  const compressor = edge.compressor;
  if (compressor === undefined) return;
  void Promise.resolve(edge.cache.get(key)).then((object) => {
    if (object && object.meta.size >= compressor.options.minSize) compressor.request(object, encoding);
  });
}

async function pump(
  edge: EdgeRuntime,
  flight: Flight,
  body: Readable,
  writer: ObjectWriter,
  expected: number | undefined,
  onStored?: () => void,
  verify?: { check: CacheIdCheck; url: string },
): Promise<void> {
  // Readers far behind read spilled bytes back from the store's file: it stays open for them
  // until the last one is done, whatever becomes of the object (stored, given up, purged).
  const release = writer.hold?.();
  if (release) flight.whenDone(release);
  let storing = true;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      flight.push(chunk);
      verify?.check.update(chunk);
      edge.stats.bytesFromOrigin += chunk.length;
      // Every client left and this object is large: stop filling it (a reset stream or a closed
      // connection must not keep a big download going for nobody).
      if (flight.unwanted && flight.received > edge.abandonedFillLimit) throw new EdgeError('client_gone', '(nobody waits for a large object)');
      if (storing) {
        const wait = writer.write(chunk);
        if (wait) await wait;
        if (!writer.abandoned) {
          if (writer.readBack) flight.markDurable(flight.received);
          continue;
        }
        // The store gave up (larger than announced, disk error): keep serving the readers there
        // are, admit no new ones, and read the origin no faster than they take the bytes.
        storing = false;
        edge.cache.flights.finish(flight);
        flight.storeGaveUp();
        edge.stats.bump(edge.stats.notStored, 'too-large');
      }
      if (flight.readers === 0) throw new Error('no one left to read an object that cannot be stored');
      const behind = flight.readersCaughtUp(STREAM_WINDOW);
      if (behind) await behind;
    }
    if (expected !== undefined && flight.received !== expected) {
      throw new EdgeError('origin_body', `(${flight.received} of ${expected} bytes)`);
    }
  } catch (err) {
    writer.abort();
    edge.cache.flights.finish(flight);
    flight.fail(err instanceof EdgeError ? err : new EdgeError('origin_body', undefined, { cause: err }));
    return;
  }
  flight.end();
  if (verify && storing) {
    const actual = verify.check.actual();
    if (actual !== verify.check.expected) {
      // The origin sent other bytes than the URL names: serve nothing of it from the cache.
      writer.abort();
      edge.cache.flights.finish(flight);
      edge.stats.bump(edge.stats.notStored, 'cacheid-mismatch');
      edge.events.warn({ url: verify.url, expected: verify.check.expected, actual }, 'permanent URL body does not match its cacheID; not stored');
      flight.stored(false);
      return;
    }
  }
  try {
    const ok = await writer.commit();
    flight.stored(ok);
    if (ok) {
      edge.stats.stored++;
      onStored?.();
    }
  } catch (err) {
    flight.stored(false);
    // The store refused it (disk full, closed): readers already had the whole body.
    edge.stats.bump(edge.stats.errors, 'store_failed');
    edge.events.warn({ code: 'store_failed', key: flight.key, err: (err as Error).message }, 'the cache refused an object');
  } finally {
    edge.cache.flights.finish(flight);
  }
}
