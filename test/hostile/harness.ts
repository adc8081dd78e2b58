// The hostile suite's one harness: a real edge in front of a real origin that records and reflects
// every request it gets, raw bytes sent on a fresh socket (plain or TLS), and the answer read back as
// the list of HTTP/1.1 responses it contains. A raw exchange always ends with a sentinel request that
// asks to close, so "read until the server closes" needs no timer: either the edge closed after
// refusing the attack, or it answered everything and then the sentinel. A table of cases becomes one
// test each, named after the RFC section or attack class it guards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConfigInput } from '../../src/config/schema.js';
import { startOrigin, type Handler, type TestOrigin } from '../helpers/origin.js';
import { startEdge, type TestEdge } from '../helpers/edge.js';

export interface Stage {
  edge: TestEdge;
  origin: TestOrigin;
  port: number;
  /** Requests the origin received whose path (query included) starts with `prefix`. */
  seen(prefix: string): TestOrigin['requests'];
  /** Request bodies the origin received, and whether each arrived whole (false: cut off). */
  bodies(prefix: string): { url: string; body: Buffer; complete: boolean; closed: boolean }[];
  stop(): Promise<void>;
}

/**
 * A page listing the request line, every field and the body size the origin received, sent once the
 * request body has ended: any reflection shows, and a request cut off is never answered.
 */
export const reflect: Handler = (req, res) => {
  let size = 0;
  req.on('data', (c: Buffer) => (size += c.length));
  req.on('end', () => {
    const lines = [`${req.method} ${req.url}`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`), `body: ${size} bytes`];
    const body = lines.join('\n');
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'cache-control': 'max-age=300' });
    res.end(body);
  });
};

export interface StageOptions {
  /** The edge's config for an origin at this URL (every stage must serve a.test: the sentinel's host). */
  config?: (originUrl: string) => Omit<ConfigInput, 'listen'> & { listen?: ConfigInput['listen'] };
  handler?: Handler;
}

/** A stage for the tests of this file: started before them, stopped after. */
export function useStage(options: StageOptions = {}): () => Stage {
  let s: Stage | undefined;
  before(async () => {
    s = await stage(options);
  });
  after(() => s?.stop());
  return () => s!;
}

/** An edge (catch-all site unless `config` says otherwise) before an origin. */
export async function stage(options: StageOptions = {}): Promise<Stage> {
  const handler = options.handler ?? reflect;
  const bodies: { url: string; body: Buffer; complete: boolean; closed: boolean }[] = [];
  const origin = await startOrigin((req, res) => {
    const seen = { url: req.url ?? '', body: Buffer.alloc(0), complete: false, closed: false };
    bodies.push(seen);
    req.on('data', (c: Buffer) => (seen.body = Buffer.concat([seen.body, c])));
    req.on('end', () => (seen.complete = true));
    req.on('close', () => (seen.closed = true));
    if (req.url !== SENTINEL) return handler(req, res);
    req.resume();
    res.writeHead(200, { 'x-sentinel': 'yes', 'cache-control': 'no-store', 'content-length': 8 });
    res.end('sentinel');
  });
  const config = options.config?.(origin.url) ?? {
    originGroups: { main: { members: [{ name: 'main', url: origin.url }] } },
    sites: [{ name: 'all', hosts: ['*'], originGroup: 'main' }],
  };
  const edge = await startEdge(config);
  return {
    edge,
    origin,
    port: edge.port,
    seen: (prefix) => origin.requests.filter((r) => r.url.startsWith(prefix) && r.url !== SENTINEL),
    bodies: (prefix) => bodies.filter((b) => b.url.startsWith(prefix)),
    stop: async () => {
      await edge.stop();
      await origin.close();
    },
  };
}

export interface Response {
  version: string;
  status: number;
  /** Field names lower case; repeated fields joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  text: string;
}

export interface Exchange {
  /** Every complete response read, in order (interim 1xx included). */
  responses: Response[];
  /** The first final response, or undefined when the edge answered nothing. */
  first: Response | undefined;
  /** All bytes the server sent. */
  raw: Buffer;
  /** True when the sentinel was answered: the connection survived the attack. */
  sentinel: boolean;
}

export const SENTINEL = '/__sentinel';
/** Every stage serves a.test, and its origin answers the sentinel itself (with `x-sentinel: yes`). */
const sentinelRequest = `GET ${SENTINEL} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`;

/** Parses as many whole HTTP/1.x responses as `data` holds (bodies by Content-Length, chunked, or to the end). */
export function parseResponses(data: Buffer, closed = true): Response[] {
  const out: Response[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = data.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^(HTTP\/\d\.\d) (\d{3})/.exec(head[0]!);
    if (!m) break;
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const status = Number(m[2]);
    let bodyStart = end + 4;
    let body: Buffer = Buffer.alloc(0);
    if (status >= 200 && status !== 204 && status !== 304) {
      if (headers['transfer-encoding']?.includes('chunked')) {
        const parts: Buffer[] = [];
        let p = bodyStart;
        for (;;) {
          const eol = data.indexOf('\r\n', p);
          if (eol < 0) return out;
          const size = parseInt(data.subarray(p, eol).toString('latin1'), 16);
          if (Number.isNaN(size)) return out;
          if (size === 0) {
            const trailerEnd = data.indexOf('\r\n\r\n', eol);
            if (trailerEnd < 0) return out;
            p = trailerEnd + 4;
            break;
          }
          if (eol + 2 + size + 2 > data.length) return out;
          parts.push(data.subarray(eol + 2, eol + 2 + size));
          p = eol + 2 + size + 2;
        }
        body = Buffer.concat(parts);
        bodyStart = p;
      } else if (headers['content-length'] !== undefined) {
        const length = Number(headers['content-length']);
        if (bodyStart + length > data.length) return out;
        body = data.subarray(bodyStart, bodyStart + length);
        bodyStart += length;
      } else if (headers['connection']?.includes('close') || closed) {
        body = data.subarray(bodyStart);
        bodyStart = data.length;
      }
    }
    out.push({ version: m[1]!, status, headers, body, text: body.toString('latin1') });
    at = bodyStart;
  }
  return out;
}

const isSentinel = (r: Response) => r.headers['x-sentinel'] === 'yes';

export interface SendOptions {
  /** Over TLS, naming this server (undefined: no SNI). */
  tls?: { servername?: string; alpn?: string[] };
  /** Append the sentinel request (default true). Without it the exchange ends when the server closes. */
  sentinel?: boolean;
  /** Deadline for the whole exchange (a hang is a failure, not a wait). */
  timeoutMs?: number;
  /** Writes each part separately, waiting for the socket to drain between them. */
  parts?: boolean;
  /**
   * End the exchange once this many final responses are complete (for connections the edge rightly
   * keeps open, such as one that asked to upgrade: what follows is no longer HTTP/1.1 to it).
   */
  endAfter?: number;
}

function open(port: number, options: SendOptions): Socket {
  if (options.tls === undefined) return netConnect(port, '127.0.0.1');
  return tlsConnect({ host: '127.0.0.1', port, servername: options.tls.servername, rejectUnauthorized: false, ALPNProtocols: options.tls.alpn ?? ['http/1.1'] });
}

/** Sends `bytes` (then the sentinel) on a fresh connection and reads until the server closes. */
export function send(port: number, bytes: string | Buffer | (string | Buffer)[], options: SendOptions = {}): Promise<Exchange> {
  const parts = (Array.isArray(bytes) ? bytes : [bytes]).map((b) => (typeof b === 'string' ? Buffer.from(b, 'latin1') : b));
  if (options.sentinel ?? true) parts.push(Buffer.from(sentinelRequest));
  return new Promise((resolve, reject) => {
    const socket = open(port, options);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${options.timeoutMs ?? 15_000} ms; read so far:\n${Buffer.concat(chunks).toString('latin1').slice(0, 500)}`));
    }, options.timeoutMs ?? 15_000);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (options.endAfter !== undefined && parseResponses(Buffer.concat(chunks), false).filter((r) => r.status >= 200).length >= options.endAfter) socket.destroy();
    });
    socket.on('error', () => undefined); // a reset after a refusal is an answer too: judge what was read
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      const responses = parseResponses(raw, options.endAfter === undefined);
      const finals = responses.filter((r) => r.status >= 200);
      resolve({ responses, first: finals.find((r) => !isSentinel(r)), raw, sentinel: finals.some(isSentinel) });
    });
    const ready = options.tls ? 'secureConnect' : 'connect';
    socket.once(ready, async () => {
      for (const part of parts) {
        if (socket.destroyed) return;
        if (!socket.write(part) && options.parts) await new Promise((r) => socket.once('drain', r));
      }
    });
  });
}

/** What a case expects of the exchange; omitted checks are not made. */
export interface Expect {
  /** Status of the first final response (one of a list). */
  status?: number | number[];
  /** The connection was closed after the answer (the sentinel never answered). */
  closed?: boolean;
  /** Paths (with any query) the origin must never have been sent. */
  neverForwarded?: string | string[];
  /** The origin got exactly this request line (`GET /path`), as the body of a reflecting origin shows. */
  originSaw?: string;
  /** Pattern the first response's body must (not) match. */
  body?: RegExp;
  bodyNot?: RegExp;
  /** Pattern the first response's Cache-Status must match. */
  cacheStatus?: RegExp;
  /** Number of final responses before the sentinel's. */
  answers?: number;
}

export interface RawCase {
  name: string;
  /** The RFC section or attack class guarded. */
  guards: string;
  bytes: string | Buffer | ((s: Stage) => string | Buffer | (string | Buffer)[]);
  expect: Expect;
  /** Where nginx behaves the same (the reference), or differs. */
  nginx?: string;
  options?: SendOptions;
}

const statuses = (s: number | number[]) => (Array.isArray(s) ? s : [s]);

/** Checks an exchange against a case's expectations, with messages that show what came back. */
export function check(stage: Stage, ex: Exchange, expect: Expect, label: string): void {
  const shown = `${label}\n--- answer ---\n${ex.raw.toString('latin1').slice(0, 600)}`;
  if (expect.status !== undefined) assert.ok(ex.first && statuses(expect.status).includes(ex.first.status), `status ${ex.first?.status} not in ${statuses(expect.status)}: ${shown}`);
  if (expect.closed === true) assert.equal(ex.sentinel, false, `the connection should have been closed: ${shown}`);
  if (expect.closed === false) assert.equal(ex.sentinel, true, `the connection should have survived: ${shown}`);
  for (const path of [expect.neverForwarded ?? []].flat()) {
    const reached = stage.seen(path).filter((r) => r.url === path || r.url.startsWith(`${path}?`));
    assert.deepEqual(reached.map((r) => r.url), [], `reached the origin: ${shown}`);
  }
  if (expect.originSaw !== undefined) assert.match(ex.first?.text ?? '', new RegExp(`^${escape(expect.originSaw)}$`, 'm'), shown);
  if (expect.body !== undefined) assert.match(ex.first?.text ?? '', expect.body, shown);
  if (expect.bodyNot !== undefined) assert.doesNotMatch(ex.raw.toString('latin1'), expect.bodyNot, shown);
  if (expect.cacheStatus !== undefined) assert.match(ex.first?.headers['cache-status'] ?? '', expect.cacheStatus, shown);
  if (expect.answers !== undefined) {
    const finals = ex.responses.filter((r) => r.status >= 200 && !isSentinel(r));
    assert.equal(finals.length, expect.answers, `answers: ${shown}`);
  }
}

export const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One test per case: `<guards> — <name>`. */
export function rawCases(getStage: () => Stage, cases: RawCase[]): void {
  for (const c of cases) {
    test(`${c.guards} — ${c.name}`, async () => {
      const s = getStage();
      const bytes = typeof c.bytes === 'function' ? c.bytes(s) : c.bytes;
      const ex = await send(s.port, bytes, c.options);
      check(s, ex, c.expect, c.name);
    });
  }
}

/** A GET request line and Host, plus extra header lines, ending the head. */
export function get(path: string, host = 'a.test', extra: string[] = []): string {
  return [`GET ${path} HTTP/1.1`, `Host: ${host}`, ...extra, '', ''].join('\r\n');
}
