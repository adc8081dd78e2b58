// The HTTP/1 fast lane: cache hits answered below Node's HTTP layer. Node's parser, IncomingMessage,
// ServerResponse and their streams cost about as much per request as the rest of a hit together
// (a bare node:net server answers a fixed buffer at twice the rate of a bare node:http one), so a
// CDN's commonest request — a plain GET for an object in memory — is read here from the socket's
// bytes and answered with one corked write. This is our hot path, so it is ours, and it is narrow
// on purpose: only complete heads of `GET`/`HEAD … HTTP/1.1` whose every byte passes the strict
// grammar below, without a body, an upgrade, an expectation or a `Connection` other than
// keep-alive, each field once. Anything else — and any request the pipeline cannot answer at once
// from memory — hands the connection, with every byte not yet answered, to Node's HTTP server,
// which then owns it to the end (the requests answered so far were answered in order). So every
// refusal, limit and timeout of Node's parser still applies to everything unusual.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** What the lane asks of the edge: an answer written now, or undefined to hand the request to Node. */
export type LaneHandler = (req: IncomingMessage, keepAlive: string) => { head: string; body: Buffer | undefined } | undefined;

const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);
/** Longer heads go to Node (its limit is 16 KiB; typical heads are well under 1 KiB). */
const MAX_HEAD = 8 * 1024;
const MAX_FIELDS = 64;
/** tchar (RFC 9110 §5.6.2) by character code: a field name is one or more of these. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;
/** Fields that change how the message is framed or the connection used: Node decides those. */
const NODE_DECIDES = new Set(['content-length', 'transfer-encoding', 'upgrade', 'expect', 'te', 'trailer', 'keep-alive', 'proxy-connection', 'http2-settings', '__proto__']);
const VERSION = ' HTTP/1.1';

const isOws = (c: number) => c === 32 || c === 9;
/** A character a field value may not hold here (visible ASCII, space and tab only). */
const BAD_VALUE = /[^\t\x20-\x7e]/;

/**
 * A request head as Node's IncomingMessage presents it, or undefined when Node must read it.
 * The grammar, checked by hand rather than by a regular expression per line (this runs for every
 * hit): `GET|HEAD SP /target SP HTTP/1.1`, the target visible ASCII; then `name ":" OWS value OWS`
 * lines, the name tchars, the value visible ASCII with inner spaces and tabs (no obs-text, no
 * obs-fold, no CR, LF or NUL).
 */
export function parseHead(head: string, socket: Socket): IncomingMessage | undefined {
  const firstEnd = head.indexOf('\r\n');
  const lineEnd = firstEnd < 0 ? head.length : firstEnd;
  const method = head.startsWith('GET /') ? 'GET' : head.startsWith('HEAD /') ? 'HEAD' : undefined;
  if (method === undefined || !head.startsWith(VERSION, lineEnd - VERSION.length)) return undefined;
  const urlStart = method.length + 1;
  const urlEnd = lineEnd - VERSION.length;
  if (urlEnd <= urlStart) return undefined;
  for (let i = urlStart; i < urlEnd; i++) {
    const c = head.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return undefined;
  }
  const headers: Record<string, string> = {};
  let host = false;
  let fields = 0;
  // Each CRLF starts a field line (an empty one, as after a trailing CRLF, is refused).
  for (let at = lineEnd + 2; firstEnd >= 0 && at <= head.length; ) {
    if (++fields > MAX_FIELDS) return undefined;
    let end = head.indexOf('\r\n', at);
    if (end < 0) end = head.length;
    let i = at;
    for (; i < end; i++) {
      const c = head.charCodeAt(i);
      if (c === 58 /* : */) break;
      if (c > 127 || TCHAR[c] === 0) return undefined;
    }
    if (i === at || i === end) return undefined;
    const name = head.slice(at, i).toLowerCase();
    if (NODE_DECIDES.has(name) || headers[name] !== undefined) return undefined;
    let from = i + 1;
    while (from < end && isOws(head.charCodeAt(from))) from++;
    let to = end;
    while (to > from && isOws(head.charCodeAt(to - 1))) to--;
    const value = head.slice(from, to);
    if (BAD_VALUE.test(value)) return undefined;
    if (name === 'connection' && value.toLowerCase() !== 'keep-alive') return undefined;
    if (name === 'host') host = true;
    headers[name] = value;
    if (end === head.length) break;
    at = end + 2;
  }
  if (!host) return undefined;
  return { method, url: head.slice(urlStart, urlEnd), headers, httpVersion: '1.1', httpVersionMajor: 1, httpVersionMinor: 1, socket } as unknown as IncomingMessage;
}

export class FastLane {
  private readonly sockets = new Set<Socket>();
  private readonly keepAlive: string;

  constructor(
    private readonly handler: LaneHandler,
    /** Gives a connection (its unread bytes put back) to Node's HTTP server. */
    private readonly toNode: (socket: Socket) => void,
    private readonly keepAliveTimeout: number,
  ) {
    this.keepAlive = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(keepAliveTimeout / 1000)}\r\n`;
  }

  /** Takes a new connection: its requests are answered here until one is not a plain hit. */
  adopt(socket: Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    // Idle between requests for longer than Node allows a kept-alive connection: closed, as Node does.
    const onIdle = () => socket.destroy();
    socket.setTimeout(this.keepAliveTimeout, onIdle);
    const onError = () => socket.destroy();
    const onClose = () => this.sockets.delete(socket);
    const release = (rest: Buffer) => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('timeout', onIdle);
      socket.setTimeout(0);
      this.sockets.delete(socket);
      socket.pause();
      if (rest.length > 0) socket.unshift(rest);
      this.toNode(socket);
    };
    // While the client has not taken its answers (a large body, a slow reader), reading stops and
    // what is left of the bytes read waits, as Node's server does: backpressure, in the lane.
    let held = false;
    let released = false;
    const hold = (rest: Buffer) => {
      held = true;
      socket.pause();
      // A slow reader taking a large answer is not idle: the keep-alive limit waits for the drain.
      socket.setTimeout(0);
      socket.once('drain', () => {
        held = false;
        if (!released) socket.setTimeout(this.keepAliveTimeout);
        if (rest.length > 0) run(rest);
        if (!held && !released) socket.resume();
      });
    };
    const run = (chunk: Buffer) => {
      let at = 0;
      while (at < chunk.length) {
        if (socket.writableNeedDrain) return hold(chunk.subarray(at));
        const end = chunk.indexOf(CRLFCRLF, at);
        // An incomplete head (a slow client, a segment boundary) or a long one: Node's parser and timeouts take over.
        if (end < 0 || end - at > MAX_HEAD) break;
        const req = parseHead(chunk.toString('latin1', at, end), socket);
        const answer = req && this.handler(req, this.keepAlive);
        if (answer === undefined) break;
        socket.cork();
        socket.write(answer.head, 'latin1');
        if (answer.body !== undefined) socket.write(answer.body);
        socket.uncork();
        at = end + 4;
      }
      if (at < chunk.length) {
        released = true;
        release(chunk.subarray(at));
      } else if (socket.writableNeedDrain) hold(EMPTY);
    };
    const onData = (chunk: Buffer) => run(chunk);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.once('close', onClose);
    // A connection that came through the PROXY reader was paused with its bytes put back.
    socket.resume();
  }

  /** Connections still in the lane are idle between requests (answers are written at once): end them. */
  closeAll(): void {
    for (const socket of this.sockets) socket.end();
  }
}
