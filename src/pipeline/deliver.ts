// deliver: write the response — from a stored object (a hit: headers ready, body in memory or
// streamed from disk), from a flight (a miss: bytes as they arrive from the origin), or straight
// from the origin (a pass). The edge answers conditionals (304/412) and ranges (206/416) itself
// from what it holds, and adds Age and Cache-Status.
import type { ServerResponse } from 'node:http';
import { currentAge } from '../cache/policy.js';
import { clock } from '../clock.js';
import type { ChunkSink, StoredObject } from '../cache/store.js';
import type { CacheMeta } from '../cache/store.js';
import { formatCacheStatus } from '../http/cache-status.js';
import type { HeaderRules } from '../policy/header-rules.js';
import { prepareHead, usable, writePreparedHead, type PreparedHead } from '../http/prepared-head.js';
import { evaluateConditionals, NOT_MODIFIED_FIELDS } from '../http/conditional.js';
import { ifRangeAllows, parseRange, planMultipart, type ByteRange } from '../http/range.js';
import { EdgeError } from '../errors.js';
import { discardBody } from '../origins/origin.js';
import { clientGone, type EdgeResponse, type RequestContext } from './context.js';
import { clientHeaders, headerValue } from './origin-request.js';

/** A body to send: bytes by range, and optionally a faster way to copy a range to the client. */
interface Body {
  read(start: number, end: number): AsyncIterable<Buffer> | Buffer;
  pipe?(start: number, end: number, out: ChunkSink): Promise<number>;
  /** Bytes a reader may leave queued for the client before it waits for a drain (default: none). */
  writeAhead?: number;
}

export function deliver(ctx: RequestContext): 'done' | Promise<'done'> {
  if (ctx.res === undefined) return 'done';
  if (ctx.flight !== undefined) return deliverFlight(ctx);
  switch (ctx.outcome) {
    case 'hit':
    case 'stale':
    case 'revalidated':
      return deliverObject(ctx, ctx.object!);
    default:
      return deliverOrigin(ctx);
  }
}

/**
 * The header list a response starts from: the object's (or the origin's) fields and Age, with the
 * site's and behavior's response rules applied, then Cache-Status (which no rule may touch).
 */
function responseHeaders(ctx: RequestContext, base: readonly string[], age: number | undefined): string[] {
  const rules = ctx.behavior?.responseRules;
  let headers: string[];
  if (rules === undefined) {
    headers = base.slice();
    if (age !== undefined) headers.push('age', String(age));
  } else {
    headers = rules.applyFlat(age === undefined ? base : [...base, 'age', String(age)], ctx);
  }
  headers.push('cache-status', formatCacheStatus(ctx.edge.cdnId, ctx.cacheStatus));
  return headers;
}

/** Bodyless statuses never carry Content-Length or a body (RFC 9110 §8.6, §15.3.5, §15.4.5). */
function bodyless(status: number): boolean {
  return status === 204 || status === 304 || status < 200;
}

export function hasConditionals(h: ServerResponse['req']['headers']): boolean {
  return h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined || h['if-match'] !== undefined || h['if-unmodified-since'] !== undefined;
}

/**
 * Each stored object's prepared head (null: its fields need writeHead), made at its first plain
 * hit, for the response rules it was made with (static rules only: see HeaderRules.applyStatic).
 */
const heads = new WeakMap<CacheMeta, { rules: HeaderRules | undefined; head: PreparedHead | null }>();

export function preparedHead(meta: CacheMeta, rules: HeaderRules | undefined): PreparedHead | undefined {
  let entry = heads.get(meta);
  if (entry === undefined || entry.rules !== rules) {
    const split = rules === undefined ? { kept: meta.headers, appended: [] } : rules.applyStatic(meta.headers);
    entry = { rules, head: (split && prepareHead(meta.status, split.kept, split.appended)) ?? null };
    heads.set(meta, entry);
  }
  return entry.head ?? undefined;
}

/** A hit: the hot path. Synchronous when the body is in memory. */
function deliverObject(ctx: RequestContext, object: StoredObject): 'done' | Promise<'done'> {
  const meta = object.meta;
  const age = Math.floor(currentAge(meta, clock.now()));
  const reqHeaders = ctx.req.headers;
  // The common hit — whole body, no conditionals — takes the prepared head.
  if (reqHeaders['range'] === undefined && !hasConditionals(reqHeaders) && usable(ctx.res)) {
    const head = preparedHead(meta, ctx.behavior?.responseRules);
    if (head !== undefined) return sendPrepared(ctx, ctx.res, head, age, object);
  }
  const headers = responseHeaders(ctx, meta.headers, age);
  if (hasConditionals(reqHeaders)) {
    const result = evaluateConditionals(ctx.method, reqHeaders, meta.status, meta.etag, meta.lastModified);
    if (result !== 'none') return finishEmpty(ctx, result === 'not-modified' ? 304 : 412, headers);
  }
  const body: Body = object.body
    ? { read: (start, end) => (start === 0 && end === meta.size - 1 ? object.body! : object.body!.subarray(start, end + 1)) }
    : { read: (start, end) => object.open!(start, end), pipe: object.pipe };
  return sendBody(ctx, meta.status, headers, meta.size, body);
}

/**
 * A whole-body hit's head from its prepared part: the same fields, in the same order, that
 * responseHeaders and sendBody give it (Date and the connection's fields come after).
 */
export function hitHead(ctx: RequestContext, head: PreparedHead, age: number, meta: CacheMeta): string {
  const ranges = meta.status === 200 ? 'accept-ranges: bytes\r\n' : '';
  return `${head.text}age: ${age}\r\n${head.after}cache-status: ${formatCacheStatus(ctx.edge.cdnId, ctx.cacheStatus)}\r\ncontent-length: ${meta.size}\r\n${ranges}`;
}

function sendPrepared(ctx: RequestContext, res: ServerResponse, head: PreparedHead, age: number, object: StoredObject): 'done' | Promise<'done'> {
  const { size, status } = object.meta;
  writePreparedHead(res, head, hitHead(ctx, head, age, object.meta));
  ctx.status = status;
  if (ctx.method === 'HEAD' || size === 0) return end(res);
  if (object.body !== undefined) {
    ctx.bytes = object.body.length;
    res.end(object.body);
    return 'done';
  }
  if (object.pipe !== undefined) return pipe(ctx, res, object.pipe, 0, size - 1);
  return stream(ctx, res, [object.open!(0, size - 1)]);
}

/** A miss (or a joined flight): headers now, bytes as the origin sends them. */
function deliverFlight(ctx: RequestContext): 'done' | Promise<'done'> {
  const flight = ctx.flight!;
  const head = flight.head!;
  // The origin's Age (and the time it took to arrive) is the object's age already (§4.2.3).
  const age = flight.meta === undefined ? undefined : Math.floor(currentAge(flight.meta, clock.now()));
  const headers = responseHeaders(ctx, ctx.ownHeaders ?? head.headers, age);
  if (hasConditionals(ctx.req.headers)) {
    const result = evaluateConditionals(ctx.method, ctx.req.headers, head.status, head.etag, head.lastModified);
    if (result !== 'none') return finishEmpty(ctx, result === 'not-modified' ? 304 : 412, headers);
  }
  // Only a body the flight keeps whole in memory is written ahead: a larger one may be read back
  // from the store's file, and those reads are each reader's own buffers.
  const whole = head.length !== undefined && head.length <= flight.retainLimit;
  return sendBody(ctx, head.status, headers, head.length, { read: (start, end) => flight.read(start, end), writeAhead: whole ? FLIGHT_WRITE_AHEAD : 0 });
}

/**
 * How far a reader of a flight writes ahead of its client before it waits for a drain. The
 * flight's chunks are in memory already and are written by reference, so writing ahead costs no
 * copy and no memory per reader; waiting at every chunk (the socket's 16 KiB mark) made 200
 * coalesced readers of a 1 MiB object wake for a drain per chunk each, where a hit of the same
 * object is one write.
 */
const FLIGHT_WRITE_AHEAD = 1024 * 1024;

/**
 * Writes status, headers and body, answering Range requests when the length is known. `size`
 * undefined means the length is not known yet (a streaming miss without Content-Length).
 */
function sendBody(ctx: RequestContext, status: number, headers: string[], size: number | undefined, body: Body): 'done' | Promise<'done'> {
  const res = ctx.res!;
  const rangeHeader = ctx.req.headers['range'];
  if (rangeHeader !== undefined && status === 200 && size !== undefined) {
    const etag = headerValue(headers, 'etag');
    const lastModified = headerValue(headers, 'last-modified');
    if (ifRangeAllows(ctx.req.headers, etag, lastModified)) {
      const parsed = parseRange(rangeHeader, size);
      if (parsed.kind === 'unsatisfiable') {
        headers.push('content-range', `bytes */${size}`);
        return finishEmpty(ctx, 416, headers);
      }
      if (parsed.kind === 'ranges') return sendRanges(ctx, headers, size, parsed.ranges, body);
    }
  }
  if (!bodyless(status) && size !== undefined) headers.push('content-length', String(size));
  if (rangeHeader === undefined && status === 200) headers.push('accept-ranges', 'bytes');
  ctx.status = status;
  res.writeHead(status, headers as unknown as Record<string, string>);
  if (ctx.method === 'HEAD' || bodyless(status) || size === 0) {
    res.end();
    return 'done';
  }
  const end = size === undefined ? Infinity : size - 1;
  if (body.pipe) return pipe(ctx, res, body.pipe, 0, end);
  const out = body.read(0, end);
  if (Buffer.isBuffer(out)) {
    ctx.bytes = out.length;
    res.end(out);
    return 'done';
  }
  return stream(ctx, res, [out], body.writeAhead);
}

function sendRanges(ctx: RequestContext, headers: string[], size: number, ranges: ByteRange[], body: Body): 'done' | Promise<'done'> {
  const res = ctx.res!;
  ctx.status = 206;
  if (ranges.length === 1) {
    const r = ranges[0]!;
    headers.push('content-range', `bytes ${r.start}-${r.end}/${size}`, 'content-length', String(r.end - r.start + 1));
    res.writeHead(206, headers as unknown as Record<string, string>);
    if (ctx.method === 'HEAD') return end(res);
    if (body.pipe) return pipe(ctx, res, body.pipe, r.start, r.end);
    const out = body.read(r.start, r.end);
    if (Buffer.isBuffer(out)) {
      ctx.bytes = out.length;
      res.end(out);
      return 'done';
    }
    return stream(ctx, res, [out], body.writeAhead);
  }
  const contentType = headerValue(headers, 'content-type');
  const plan = planMultipart(ranges, size, contentType);
  const partHeaders = headers.filter((_, i) => i % 2 === 0).flatMap((name, i) => (name === 'content-type' ? [] : [name, headers[i * 2 + 1]!]));
  partHeaders.push('content-type', `multipart/byteranges; boundary=${plan.boundary}`, 'content-length', String(plan.length));
  res.writeHead(206, partHeaders as unknown as Record<string, string>);
  if (ctx.method === 'HEAD') return end(res);
  const parts: (Buffer | AsyncIterable<Buffer>)[] = [];
  ranges.forEach((r, i) => {
    parts.push(Buffer.from(plan.heads[i]!));
    parts.push(body.read(r.start, r.end));
  });
  parts.push(Buffer.from(plan.tail));
  return stream(ctx, res, parts, body.writeAhead);
}

function end(res: EdgeResponse): 'done' {
  res.end();
  return 'done';
}

function finishEmpty(ctx: RequestContext, status: number, headers: string[]): 'done' {
  let out = headers;
  if (status === 304) {
    out = [];
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (NOT_MODIFIED_FIELDS.has(name) || name === 'age' || name === 'cache-status') out.push(name, headers[i + 1]!);
    }
  } else if (status !== 416) {
    out = headers.filter((_, i) => i % 2 === 0).flatMap((name, i) => (name === 'content-length' ? [] : [name, headers[i * 2 + 1]!]));
    out.push('content-length', '0');
  } else {
    out.push('content-length', '0');
  }
  ctx.status = status;
  ctx.res!.writeHead(status, out as unknown as Record<string, string>);
  ctx.res!.end();
  return 'done';
}

function write(res: EdgeResponse, chunk: Buffer): boolean {
  return (res as ServerResponse).write(chunk);
}

const gone = clientGone;

function drained(res: EdgeResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Copies a range with the store's own buffer-recycling pipe; a failure cuts the response off. */
async function pipe(ctx: RequestContext, res: EdgeResponse, copy: NonNullable<Body['pipe']>, start: number, end: number): Promise<'done'> {
  const sink: ChunkSink = {
    write: (chunk, done) => (res as ServerResponse).write(chunk, done),
    drained: () => drained(res),
    get gone() {
      return gone(res);
    },
  };
  try {
    ctx.bytes = await copy(start, end, sink);
    if (!gone(res)) res.end();
  } catch (err) {
    ctx.error = err instanceof EdgeError ? err : new EdgeError('internal', 'reading the cached object failed', { cause: err });
    res.destroy();
  }
  return 'done';
}

/**
 * Writes body parts in order with backpressure — waiting for a drain once the client has
 * `writeAhead` bytes or more queued — ; a source that fails cuts the response off.
 */
async function stream(ctx: RequestContext, res: EdgeResponse, parts: (Buffer | AsyncIterable<Buffer>)[], writeAhead = 0): Promise<'done'> {
  // A response that does not say how much it holds queued waits at every full buffer, as before.
  const full = () => ((res as { writableLength?: number }).writableLength ?? Infinity) >= writeAhead;
  try {
    for (const part of parts) {
      if (Buffer.isBuffer(part)) {
        ctx.bytes += part.length;
        if (!write(res, part) && full()) await drained(res);
        continue;
      }
      for await (const chunk of part) {
        if (gone(res)) break;
        ctx.bytes += chunk.length;
        if (!write(res, chunk) && full()) await drained(res);
      }
      if (gone(res)) break;
    }
    res.end();
  } catch (err) {
    // The origin died mid-body: the client must see a cut-off response, never a complete one.
    ctx.error = err instanceof EdgeError ? err : new EdgeError('origin_body', undefined, { cause: err });
    res.destroy();
  }
  return 'done';
}

/** A pass: the origin's response as it comes, nothing kept. */
function deliverOrigin(ctx: RequestContext): Promise<'done'> | 'done' {
  const res = ctx.res!;
  const origin = ctx.originRes!;
  const headers = responseHeaders(ctx, clientHeaders(ctx, origin.headers), undefined);
  ctx.status = origin.status;
  res.writeHead(origin.status, headers as unknown as Record<string, string>);
  if (ctx.method === 'HEAD' || bodyless(origin.status)) {
    discardBody(origin.body);
    res.end();
    return 'done';
  }
  const stats = ctx.edge.stats;
  return (async () => {
    const onClose = () => discardBody(origin.body);
    res.once('close', onClose);
    try {
      for await (const chunk of origin.body as AsyncIterable<Buffer>) {
        if (gone(res)) break;
        ctx.bytes += chunk.length;
        stats.bytesFromOrigin += chunk.length;
        if (!write(res, chunk)) await drained(res);
      }
      if (!gone(res)) res.end();
    } catch (err) {
      if (!gone(res)) {
        ctx.error = new EdgeError('origin_body', undefined, { cause: err });
        res.destroy();
      }
    } finally {
      res.off('close', onClose);
    }
    return 'done' as const;
  })();
}
