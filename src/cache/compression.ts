// Compression at the edge. The edge fetches compressible responses from the origin uncompressed
// (one origin fetch, one stored identity object), adds `Vary: Accept-Encoding` itself, and keeps at
// most two compressed copies beside it — brotli and gzip — made once, in the background, the first
// time a client that accepts them asks. Clients' Accept-Encoding is reduced to br, gzip or identity,
// so there is no variant per header spelling. `Cache-Control: no-transform` is respected.
import { constants, createBrotliCompress, createGzip } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import type { Transform } from 'node:stream';
import type { TaskRunner } from '../tasks/task-runner.js';
import type { EdgeCache } from './edge-cache.js';
import type { CacheMeta, StoredObject } from './store.js';
import type { ServedEncoding } from './vary.js';
import { clock } from '../clock.js';

export type Encoding = Exclude<ServedEncoding, 'identity'>;

export interface CompressionOptions {
  enabled: boolean;
  /** Smallest body worth compressing (bytes). */
  minSize: number;
  /** Largest body compressed (bytes); larger ones are served as they are. */
  maxSize: number;
  /** Compressions running at once (each takes a share of the CPU the hit path needs). */
  concurrency: number;
}

/** Media types that shrink when compressed (RFC 6838 names; images other than SVG do not). */
export function isCompressibleType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    type.endsWith('+json') ||
    type.endsWith('+xml') ||
    type === 'application/json' ||
    type === 'application/javascript' ||
    type === 'application/x-javascript' ||
    type === 'application/xml' ||
    type === 'application/wasm' ||
    type === 'image/svg+xml' ||
    type === 'image/x-icon' ||
    type === 'font/ttf' ||
    type === 'font/otf' ||
    type === 'application/vnd.ms-fontobject'
  );
}

/** The key of an object's compressed copy. */
export function encodedKey(key: string, encoding: Encoding): string {
  return `${key}\u0000${encoding}`;
}

/** A strong ETag names one representation, so each encoding gets its own (`"abc"` → `"abc-br"`). */
export function encodedEtag(etag: string | undefined, encoding: Encoding): string | undefined {
  if (etag === undefined) return undefined;
  return etag.endsWith('"') ? `${etag.slice(0, -1)}-${encoding}"` : etag;
}

/** The identity object's headers, for its compressed copy. */
export function encodedHeaders(headers: readonly string[], encoding: Encoding): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name === 'content-encoding' || name === 'content-length' || name === 'content-md5') continue;
    out.push(name, name === 'etag' ? encodedEtag(headers[i + 1], encoding)! : headers[i + 1]!);
  }
  out.push('content-encoding', encoding);
  return out;
}

/**
 * What a client that accepts `encoding` gets: the compressed copy's body with the identity
 * object's current freshness (a 304 revalidation of the identity object covers its copies too).
 */
export function asEncoded(identity: StoredObject, copy: StoredObject): StoredObject | undefined {
  if (copy.meta.bodyId === undefined || copy.meta.bodyId !== identity.meta.bodyId) return undefined;
  return {
    meta: { ...identity.meta, headers: encodedHeaders(identity.meta.headers, copy.meta.encoding!), size: copy.meta.size, etag: copy.meta.etag, encoding: copy.meta.encoding },
    body: copy.body,
    open: copy.open,
  };
}

/** Responses the edge compresses vary on Accept-Encoding, whatever the origin said. */
export function addVaryAcceptEncoding(headers: string[]): void {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'vary') continue;
    if (!/(^|,)\s*accept-encoding\s*(,|$)/i.test(headers[i + 1]!)) headers[i + 1] = `${headers[i + 1]}, Accept-Encoding`;
    return;
  }
  headers.push('vary', 'Accept-Encoding');
}

function compressor(encoding: Encoding): Transform {
  return encoding === 'br'
    ? // Quality 5: most of brotli's gain at a small part of quality 11's CPU cost.
      createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } })
    : createGzip({ level: 6 });
}

/**
 * Makes compressed copies in the background: one `compress` task per copy on the edge's task
 * runner (deduplicated by the copy's key; `cache.compression.concurrency` at a time).
 */
/** Copies waiting their turn at most; past it a request is dropped (a later hit asks again). */
export const MAX_QUEUED = 256;

export class Compressor {
  /** Copies waiting or being made (a test waits for 0 instead of sleeping). */
  pending = 0;
  /** Body bytes the waiting copies hold (the objects they were asked with). */
  queuedBytes = 0;
  /** Copies made, for the admin API. */
  made = 0;

  constructor(
    private readonly cache: EdgeCache,
    readonly options: CompressionOptions,
    private readonly tasks: Pick<TaskRunner, 'run' | 'isRunning'>,
  ) {}

  /** Asks for a compressed copy of `identity` (nothing happens if one is on its way). */
  request(identity: StoredObject, encoding: Encoding): void {
    const key = encodedKey(identity.meta.key, encoding);
    if (identity.meta.size > this.options.maxSize || this.tasks.isRunning('compress', key) || this.pending >= MAX_QUEUED + this.options.concurrency) return;
    // A purge after this moment must win over the copy being made from the object looked up now.
    const since = clock.now();
    const held = identity.body?.length ?? 0;
    this.pending++;
    this.queuedBytes += held;
    void this.tasks
      .run('compress', key, () => {
        this.queuedBytes -= held;
        return this.make(identity, encoding, key, since);
      })
      .catch(() => {})
      .finally(() => this.pending--);
  }

  private async make(identity: StoredObject, encoding: Encoding, key: string, since: number): Promise<void> {
    const source = identity.meta;
    const meta: CacheMeta = {
      ...source,
      key,
      headers: encodedHeaders(source.headers, encoding),
      size: 0,
      etag: encodedEtag(source.etag, encoding),
      encoding,
      compressible: false,
    };
    const writer = this.cache.writer(meta, since);
    if (!writer) return;
    const zip = compressor(encoding);
    const done = (async () => {
      for await (const chunk of zip as AsyncIterable<Buffer>) {
        const wait = writer.write(chunk);
        if (wait) await wait;
      }
    })();
    try {
      if (identity.body) zip.end(identity.body);
      else {
        for await (const chunk of identity.open!(0, source.size - 1)) if (!zip.write(chunk)) await new Promise((r) => zip.once('drain', r));
        zip.end();
      }
      await done;
      if (await writer.commit()) this.made++;
    } catch {
      writer.abort();
    }
  }
}

export function newBodyId(): string {
  return randomUUID();
}
