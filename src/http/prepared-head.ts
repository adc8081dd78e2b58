// A hit's response head as prepared bytes. Node's writeHead checks every header name and value
// against its token and field-content rules and builds the head string field by field, on every
// response: for a cache hit that is the same work on the same stored headers each time. Here a
// stored object's head (status line and its fields) is checked and built once, kept beside the
// object, and each hit appends only what changes (Age, Cache-Status, Content-Length, Date and
// Node's own keep-alive fields), then hands the string to the ServerResponse exactly as
// `_storeHeader` would have left it — so the bytes on the wire are the ones writeHead writes.
// This reaches into ServerResponse's fields (`_header`, `_last`, `shouldKeepAlive`…): Node 20's,
// checked once at start; where they are missing (HTTP/2, another Node) `usable` says no and the
// caller uses writeHead.
import { ServerResponse, STATUS_CODES, type IncomingMessage } from 'node:http';

/** Field names Node's processHeader treats specially: such heads are left to writeHead. */
const SPECIAL = new Set(['connection', 'content-length', 'transfer-encoding', 'trailer', 'expect', 'keep-alive']);
const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
/** Node's checkInvalidHeaderChar. */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

interface NodeResponseFields {
  _header: string | null;
  _headerSent: boolean;
  _hasBody: boolean;
  _last: boolean;
  _removedConnection: boolean;
  _keepAliveTimeout: number;
  _defaultKeepAlive: boolean;
  _maxRequestsPerSocket?: number;
  _expect_continue: boolean;
  _sent100: boolean;
  shouldKeepAlive: boolean;
  maxRequestsOnConnectionReached: boolean;
  chunkedEncoding: boolean;
  sendDate: boolean;
  statusMessage: string;
}

/** Node's symbol for headers set with setHeader (a response with any is left to writeHead). */
const kOutHeaders = ((): symbol | undefined => {
  const probe = new ServerResponse({ method: 'GET', httpVersionMajor: 1, httpVersionMinor: 1, headers: {} } as IncomingMessage);
  const fields = probe as unknown as Record<string, unknown>;
  const known = ['_header', '_headerSent', '_hasBody', '_last', '_removedConnection', '_keepAliveTimeout', '_defaultKeepAlive', 'shouldKeepAlive', 'maxRequestsOnConnectionReached', 'chunkedEncoding', 'sendDate', '_expect_continue', '_sent100'];
  if (!known.every((k) => k in fields)) return undefined;
  return Object.getOwnPropertySymbols(probe).find((s) => s.description === 'kOutHeaders');
})();

export interface PreparedHead {
  readonly status: number;
  /** The status line and the fields, each line ending in CRLF. */
  readonly text: string;
  /** Fields that follow Age (a site's or behavior's appended response headers), CRLF-ended. */
  readonly after: string;
  /** The fields include Date (the origin's), so Node's is not added. */
  readonly date: boolean;
  /**
   * The same fields (both parts) as an HTTP/2 header object — names lower case, repeated names as
   * arrays in order, as Node's compatibility layer builds them — or undefined when one of them may
   * not go on an HTTP/2 stream or is a field each hit sets.
   */
  readonly h2: Readonly<Record<string, string | string[]>> | undefined;
}

/** Fields a hit sets itself, and fields HTTP/2 forbids (RFC 9113 §8.2.2): heads with them take the general path. */
const NOT_H2 = new Set(['age', 'cache-status', 'content-length', 'accept-ranges', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

function h2Fields(lists: readonly (readonly string[])[]): Record<string, string | string[]> | undefined {
  const out: Record<string, string | string[]> = {};
  for (const list of lists) {
    for (let i = 0; i < list.length; i += 2) {
      const name = list[i]!.toLowerCase();
      const value = list[i + 1]!;
      if (NOT_H2.has(name) || name === '__proto__') return undefined;
      const had = out[name];
      out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
    }
  }
  return out;
}

/** `name: value\r\n` lines for a flat list; undefined when a field must go through writeHead. */
function fieldLines(headers: readonly string[]): { text: string; date: boolean } | undefined {
  if (headers.length % 2 !== 0) return undefined;
  let text = '';
  let date = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    const lower = name.toLowerCase();
    if (SPECIAL.has(lower) || !TOKEN.test(name) || INVALID_VALUE.test(value)) return undefined;
    if (lower === 'date') date = true;
    text += `${name}: ${value}\r\n`;
  }
  return { text, date };
}

/**
 * A stored object's status line and fields (and the fields that follow Age), checked once;
 * undefined when writeHead must do it.
 */
export function prepareHead(status: number, headers: readonly string[], after: readonly string[] = []): PreparedHead | undefined {
  const reason = STATUS_CODES[status];
  if (reason === undefined || status < 200 || status === 204 || status === 304) return undefined;
  const before = fieldLines(headers);
  const rest = fieldLines(after);
  if (before === undefined || rest === undefined) return undefined;
  return { status, text: `HTTP/1.1 ${status} ${reason}\r\n${before.text}`, after: rest.text, date: before.date || rest.date, h2: h2Fields([headers, after]) };
}

/** Whether this response can take a prepared head: a fresh HTTP/1 ServerResponse with nothing set. */
export function usable(res: unknown): res is ServerResponse {
  if (kOutHeaders === undefined || !(res instanceof ServerResponse)) return false;
  const fields = res as unknown as NodeResponseFields & Record<symbol, unknown>;
  return fields._header === null && fields[kOutHeaders] == null && !fields._removedConnection && !fields.chunkedEncoding;
}

/** The Date field, made once a second (Node's utcDate does the same). */
let dateSecond = -1;
let dateField = '';
export function dateLine(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateField = `Date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateField;
}

/**
 * Sets `res`'s head to `fields` (the status line and `name: value\r\n` lines made from `prepared`,
 * one of them Content-Length: only responses with a length and a status that has a body come
 * here), with the Date and keep-alive fields `_storeHeader` would add. `res` must have passed `usable`. The head
 * goes out with the first body bytes or at end(), as with writeHead.
 */
export function writePreparedHead(res: ServerResponse, prepared: PreparedHead, fields: string): void {
  const out = res as unknown as NodeResponseFields;
  res.statusCode = prepared.status;
  out.statusMessage = STATUS_CODES[prepared.status]!;
  if (out._expect_continue && !out._sent100) out.shouldKeepAlive = false;
  let head = fields;
  if (out.sendDate && !prepared.date) head += dateLine();
  if (out.shouldKeepAlive && out.maxRequestsOnConnectionReached) head += 'Connection: close\r\n';
  else if (out.shouldKeepAlive) {
    head += 'Connection: keep-alive\r\n';
    if (out._keepAliveTimeout && out._defaultKeepAlive) {
      const max = ~~(out._maxRequestsPerSocket ?? 0) > 0 ? `, max=${out._maxRequestsPerSocket}` : '';
      head += `Keep-Alive: timeout=${Math.floor(out._keepAliveTimeout / 1000)}${max}\r\n`;
    }
  } else {
    out._last = true;
    head += 'Connection: close\r\n';
  }
  out._header = head + '\r\n';
  out._headerSent = false;
}
