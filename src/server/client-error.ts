// What a client whose bytes Node's HTTP/1 parser refused is told, and when. The status says what was
// wrong (431 headers too large, 414 a request line too long, 505 an HTTP version other than 1.x,
// 408 too slow, else 400), as Node's own default and RFC 9112 would have it. The answer never lands
// inside a response still being written: requests parsed before the bad bytes (pipelining) are
// answered first, in order, and the refusal comes last; an error inside a request's own body aborts
// that request (the origin sees it cut off, never complete) and the connection closes.
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERRORS, type ErrorCode } from '../errors.js';

/** The refusal written to the socket, with the catalogue's code and message. */
export function refusalResponse(code: ErrorCode, detail?: string): string {
  const spec = ERRORS[code];
  const body = `${spec.status} ${code}: ${detail ?? spec.message}\n`;
  return `HTTP/1.1 ${spec.status} ${REASONS[spec.status] ?? 'Bad Request'}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 414: 'URI Too Long', 431: 'Request Header Fields Too Large', 505: 'HTTP Version Not Supported' };

/** The first line of what the parser was reading, when it is a request line (method, space, target…). */
const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^\r\n]*/;
/** A request line this long is a too-long target, whatever follows it. */
const LONG_LINE = 8 * 1024;
/** A request line ending in a well-formed HTTP-version (RFC 9112 §2.3). */
const VERSIONED_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^\s]+ HTTP\/\d\.\d\r\n/;

/** The answer for a parser error, or undefined for none (the connection was closing anyway). */
export function clientErrorResponse(err: NodeJS.ErrnoException & { rawPacket?: Buffer }): string | undefined {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW': {
      // Node counts the request line with the headers. A line that never ended is a too-long target
      // (RFC 9112 §3: 414); otherwise the fields are too large (RFC 6585 §5: 431).
      const packet = err.rawPacket?.subarray(0, 64 * 1024).toString('latin1') ?? '';
      const line = REQUEST_LINE.exec(packet)?.[0];
      if (line !== undefined && (line.length >= LONG_LINE || line.length === packet.length)) return refusalResponse('uri_too_long', 'The request line is longer than the edge reads.');
      return refusalResponse('headers_too_large');
    }
    case 'HPE_INVALID_VERSION': {
      // llhttp says "invalid version" for any request line it cannot end; only a well-formed
      // version other than 1.0 and 1.1 is "not supported" (RFC 9110 §15.6.6).
      if (VERSIONED_LINE.test(err.rawPacket?.subarray(0, 64 * 1024).toString('latin1') ?? '')) return refusalResponse('http_version');
      return refusalResponse('bad_request', 'The request line could not be parsed.');
    }
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return refusalResponse('request_timeout');
    case 'HPE_CLOSED_CONNECTION':
      return undefined;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return refusalResponse('bad_request', 'The chunk extensions are too long.');
    default:
      return refusalResponse('bad_request', 'The request could not be parsed.');
  }
}

const answered = new WeakSet<Duplex>();

/** The server's 'clientError' handler. */
export function answerClientError(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void {
  if (answered.has(socket)) return;
  answered.add(socket);
  if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
  const response = clientErrorResponse(err);
  afterInFlight(socket, () => {
    // Bytes after the bad ones keep being read (and go nowhere: the parser stays failed), so the
    // client's unread data does not turn our close into a reset that loses the answer; a client that
    // never closes its side is cut off after a while (nginx's lingering close does the same).
    if (response === undefined) socket.end();
    else socket.end(response);
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
  });
}

/** How long a refused connection may stay half-open (nginx's lingering_timeout is 5 s). */
const LINGER_MS = 5_000;

/** Node's response attached to the socket (pipelined ones wait in a queue and are attached in turn). */
const inFlight = (socket: Duplex) => (socket as { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;

function afterInFlight(socket: Duplex, then: () => void): void {
  const current = inFlight(socket);
  if (current === undefined) return then();
  if (!current.req.complete) {
    // The bad bytes are this request's own body: it cannot be answered as if whole. Closing the
    // connection aborts the request, and so the origin's copy of it.
    if (current.headersSent) return void socket.destroy();
    return then();
  }
  let finished = false;
  current.once('finish', () => {
    finished = true;
    // Node attaches the next queued response in its own 'finish' listener, which ran first.
    setImmediate(() => afterInFlight(socket, then));
  });
  current.once('close', () => {
    if (!finished) socket.destroy();
  });
}
