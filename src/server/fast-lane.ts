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
const REQUEST_LINE = /^(GET|HEAD) (\/[\x21-\x7e]*) HTTP\/1\.1$/;
/** field-name ":" OWS field-value OWS, visible ASCII only (no obs-text, no obs-fold, no CR/LF/NUL). */
const FIELD = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*((?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?)[ \t]*$/;
/** Fields that change how the message is framed or the connection used: Node decides those. */
const NODE_DECIDES = new Set(['content-length', 'transfer-encoding', 'upgrade', 'expect', 'te', 'trailer', 'keep-alive', 'proxy-connection', 'http2-settings', '__proto__']);

/** A request head as Node's IncomingMessage presents it, or undefined when Node must read it. */
export function parseHead(head: string, socket: Socket): IncomingMessage | undefined {
  const lines = head.split('\r\n');
  if (lines.length > MAX_FIELDS + 1) return undefined;
  const start = REQUEST_LINE.exec(lines[0]!);
  if (start === null) return undefined;
  const headers: Record<string, string> = {};
  let host = false;
  for (let i = 1; i < lines.length; i++) {
    const field = FIELD.exec(lines[i]!);
    if (field === null) return undefined;
    const name = field[1]!.toLowerCase();
    if (NODE_DECIDES.has(name) || headers[name] !== undefined) return undefined;
    const value = field[2]!;
    if (name === 'connection' && value.toLowerCase() !== 'keep-alive') return undefined;
    if (name === 'host') host = true;
    headers[name] = value;
  }
  if (!host) return undefined;
  return { method: start[1], url: start[2], headers, httpVersion: '1.1', httpVersionMajor: 1, httpVersionMinor: 1, socket } as unknown as IncomingMessage;
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
