// The HTTPS listener: HTTP/2 and HTTP/1.1 over TLS (ALPN), certificates chosen per name by an SNI
// callback (CertManager), TLS 1.2+, session resumption by tickets. ACME TLS-ALPN-01 validation
// connections (ClientHello offering `acme-tls/1`) are recognised before TLS starts and handed to a
// separate responder, so readers never see a challenge certificate. Graceful stop as HttpListener:
// GOAWAY to HTTP/2 sessions, idle HTTP/1.1 connections closed, the rest cut after the grace period.
import { randomBytes } from 'node:crypto';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContext, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { ListenAddress } from '../config/schema.js';
import { MAX_HELLO_BYTES, parseClientHello } from '../tls/client-hello.js';
import { acceptConnection } from './proxy-protocol.js';
import { FastLane, type LaneHandler } from './fast-lane.js';
import { LISTENER_LIMITS } from './http-listener.js';
import { TaskRunner } from '../tasks/task-runner.js';

export type HttpsRequestHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

type Sni = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;

/**
 * The stream lane's handler: an HTTP/2 request (as the compatibility layer's request presents it)
 * answered now — the header object for `respond`, `:status` included, and the body — or undefined.
 */
export type StreamLaneHandler = (req: IncomingMessage) => { headers: Record<string, string | string[] | number>; body: Buffer | undefined } | undefined;

type StreamListener = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;
const ignore = () => undefined;

/** What the listener needs from the certificate side (CertManager provides all three). */
export interface TlsProvider {
  sniCallback: Sni;
  /** Answers TLS-ALPN-01 validation connections; without it they are refused. */
  alpnChallengeCallback?: Sni;
  /** Served to handshakes without SNI. */
  readonly defaultCertificate: { certPem: string; keyPem: string };
  /** Tells the listener when the default certificate was replaced (a static pair renewed). */
  onDefaultCertificateChange?(listener: () => void): void;
}

export interface HttpsListenerOptions {
  /** 48 bytes shared by every node so tickets resume anywhere; random per process by default. */
  ticketKeys?: Buffer;
  /**
   * Replace the random ticket key this often (ms; 0 or absent: never). Node holds one key, so
   * tickets issued before a rotation no longer resume: one full handshake per client per period.
   */
  ticketKeyRotationMs?: number;
  /** Session (ticket) lifetime in seconds (default 300). */
  sessionTimeout?: number;
  /** Whole-handshake budget; must exceed the CertManager's handshake wait (default 30 s). */
  handshakeTimeoutMs?: number;
  /** Idle connection timeout (default 120 s). */
  idleTimeoutMs?: number;
  /** Look for TLS-ALPN-01 validation connections (default true; off saves a peek per connection). */
  acmeTlsAlpn?: boolean;
  /** Peers whose PROXY protocol header is read before TLS (trusted proxies). */
  trusted?: (address: string) => boolean;
  /** Where the ticket-key rotation runs (the edge's task runner). */
  scheduler?: Pick<TaskRunner, 'every'>;
  /** Answers plain HTTP/1.1 hits below Node's HTTP layer (proxy.fastLane). */
  laneHandler?: LaneHandler;
  /** Answers plain HTTP/2 hits on the stream, before Node's compatibility layer (proxy.fastLane). */
  streamLane?: StreamLaneHandler;
}

export class HttpsListener {
  readonly server: Http2SecureServer;
  private readonly front: NetServer | undefined;
  private readonly challenge: TlsServer | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();
  /** TLS sockets speaking HTTP/1.1 (HTTP/2 ones are reached through their session). */
  private readonly http1 = new Set<TLSSocket>();
  /** HTTP/1.1 requests in flight per TLS socket. */
  private readonly busy = new Map<TLSSocket, number>();
  private bound: AddressInfo | undefined;
  private stopRotation: (() => void) | undefined;
  private closing = false;
  /** Called when the last connection closes while closing. */
  private onDrained: (() => void) | undefined;

  constructor(
    private readonly address: ListenAddress,
    private readonly tls: TlsProvider,
    handler: HttpsRequestHandler,
    private readonly options: HttpsListenerOptions = {},
  ) {
    this.server = createSecureServer({
      allowHTTP1: true,
      // HTTP/2 rapid reset (CVE-2023-44487): at most 128 streams open at once per session, and a
      // session that resets more than 100 at once or 20 a second is sent GOAWAY (Node's defaults
      // are effectively unlimited streams and a burst of 1,000 resets). A reset stream's origin
      // fetch is cancelled by the fetch step when nobody else waits for it.
      settings: { maxConcurrentStreams: 128 },
      ...({ streamResetBurst: 100, streamResetRate: 20 } as object),
      SNICallback: tls.sniCallback,
      minVersion: 'TLSv1.2',
      handshakeTimeout: options.handshakeTimeoutMs ?? 30_000,
      sessionTimeout: options.sessionTimeout ?? 300,
      ticketKeys: options.ticketKeys,
    });
    this.server.setTimeout(options.idleTimeoutMs ?? 120_000);
    // HTTP/1.1 over TLS runs Node's http1 code with the http2 server as `this`: give it
    // HttpListener's limits (slow headers, slow requests, idle keep-alive, joined duplicates).
    const { headersTimeout, requestTimeout, keepAliveTimeout } = LISTENER_LIMITS;
    Object.assign(this.server, { headersTimeout, requestTimeout, keepAliveTimeout, joinDuplicateHeaders: true });
    this.server.on('request', (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | ServerResponse) => {
      if (req.httpVersionMajor === 1) this.trackHttp1(req.socket as TLSSocket, res as ServerResponse);
      handler(req, res);
    });
    this.server.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      if (this.closing) session.close();
    });
    if (options.laneHandler) this.laneFirst(options.laneHandler);
    if (options.streamLane) this.streamLaneFirst(options.streamLane);
    this.server.on('secureConnection', (socket: TLSSocket) => {
      if (socket.alpnProtocol === 'h2') return;
      if (this.closing) return void socket.destroy();
      this.http1.add(socket);
      socket.once('close', () => this.http1.delete(socket));
    });
    if (options.acmeTlsAlpn ?? true) {
      this.challenge = createTlsServer({ ALPNProtocols: ['acme-tls/1'], minVersion: 'TLSv1.2', SNICallback: tls.alpnChallengeCallback ?? refuse, handshakeTimeout: 10_000 });
      // The CA only needs the handshake; close as soon as it is done.
      this.challenge.on('secureConnection', (socket: TLSSocket) => socket.end());
    }
    const trusted = options.trusted;
    if (this.challenge || trusted) {
      // A front reads what must be read before TLS starts (a trusted proxy's PROXY header, the
      // ClientHello of a TLS-ALPN-01 validation); connections it does not read go on untouched.
      const next = (socket: Socket) => (this.challenge ? this.route(socket) : this.server.emit('connection', socket));
      this.front = createNetServer({ pauseOnConnect: false }, (socket) => {
        this.track(socket);
        if (trusted) acceptConnection(socket, trusted, next);
        else next(socket);
      });
    } else {
      this.server.on('connection', (socket: Socket) => this.track(socket));
    }
  }

  /**
   * HTTP/1.1 connections go to the fast lane before Node's http2 server (whose own listener would
   * start its HTTP/1 parser on them); the lane hands them to that listener when it cannot answer.
   * HTTP/2 and anything else go to Node's listener as before.
   */
  private laneFirst(handler: LaneHandler): void {
    const [nodeListener] = this.server.listeners('secureConnection') as ((socket: TLSSocket) => void)[];
    if (nodeListener === undefined) return;
    const server = this.server;
    const lane = new FastLane(
      handler,
      (socket) => {
        nodeListener.call(server, socket as TLSSocket);
        socket.resume();
      },
      LISTENER_LIMITS.keepAliveTimeout,
    );
    server.removeListener('secureConnection', nodeListener);
    server.prependListener('secureConnection', (socket: TLSSocket) => {
      if (socket.alpnProtocol === false || socket.alpnProtocol === 'http/1.1') lane.adopt(socket);
      else nodeListener.call(server, socket);
    });
  }

  /**
   * HTTP/2 streams go to the stream lane before Node's compatibility layer, which makes a request
   * and a response object (and their listeners) for every stream: a plain GET or HEAD for a hit
   * is answered with one `respond` and one write. Anything else goes on to that layer untouched.
   */
  private streamLaneFirst(handler: StreamLaneHandler): void {
    const [compat] = this.server.listeners('stream') as StreamListener[];
    if (compat === undefined) return;
    const server = this.server;
    server.removeListener('stream', compat);
    server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      const method = headers[':method'];
      const path = headers[':path'];
      const session = stream.session;
      const answer =
        (method === 'GET' || method === 'HEAD') && typeof path === 'string' && path.charCodeAt(0) === 47 /* / */ && headers[':protocol'] === undefined && session !== undefined && !this.closing && !stream.destroyed
          ? handler({ method, url: path, headers, httpVersion: '2.0', httpVersionMajor: 2, httpVersionMinor: 0, socket: session.socket, stream } as unknown as IncomingMessage)
          : undefined;
      if (answer === undefined) return void compat.call(server, stream, headers, flags, rawHeaders);
      // A client's reset after the answer is no error of ours (the compatibility layer ignores it too).
      stream.on('error', ignore);
      stream.respond(answer.headers, { endStream: answer.body === undefined });
      if (answer.body !== undefined) stream.end(answer.body);
    });
  }

  /** Reads the ClientHello, then hands the connection (bytes put back) to the challenge or main server. */
  private route(socket: Socket): void {
    let buffered: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), this.options.handshakeTimeoutMs ?? 30_000);
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
    };
    const onEnd = () => {
      done();
      socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const hello = parseClientHello(buffered);
      if (hello === 'incomplete' && buffered.length < MAX_HELLO_BYTES) return;
      done();
      socket.pause();
      socket.unshift(buffered);
      const acme = typeof hello === 'object' && hello.alpn.includes('acme-tls/1');
      (acme ? this.challenge! : this.server).emit('connection', socket);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', () => socket.destroy());
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0) this.onDrained?.();
    });
  }

  private trackHttp1(socket: TLSSocket, res: ServerResponse): void {
    this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
    if (this.closing && !res.headersSent) res.setHeader('connection', 'close');
    res.once('close', () => {
      const left = (this.busy.get(socket) ?? 1) - 1;
      if (left > 0) return void this.busy.set(socket, left);
      this.busy.delete(socket);
      if (this.closing) socket.end();
    });
  }

  /** The default certificate (handshakes without SNI) on both servers. */
  private setDefaultContext(): void {
    const { certPem, keyPem } = this.tls.defaultCertificate;
    this.server.setSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2', ticketKeys: this.options.ticketKeys, sessionTimeout: this.options.sessionTimeout ?? 300 });
    this.challenge?.setSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2' });
  }

  listen(): Promise<AddressInfo> {
    this.setDefaultContext();
    this.tls.onDefaultCertificateChange?.(() => this.setDefaultContext());
    const every = this.options.ticketKeyRotationMs ?? 0;
    if (this.options.ticketKeys === undefined && every > 0) {
      this.stopRotation = (this.options.scheduler ?? new TaskRunner()).every('ticket-key-rotation', every, () => this.server.setTicketKeys(randomBytes(48)));
    }
    const listening: NetServer = this.front ?? this.server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      listening.once('error', onError);
      listening.listen(this.address.port, this.address.host, () => {
        listening.off('error', onError);
        this.bound = listening.address() as AddressInfo;
        // Node starts its HTTP/1.1 timeout checks on the server's 'listening': the front listens for it.
        if (this.front) this.server.emit('listening');
        resolve(this.bound);
      });
    });
  }

  get addressInfo(): AddressInfo | undefined {
    return this.bound;
  }

  /** Stops accepting; in-flight requests get `graceMs` to finish before their connections are cut. */
  close(graceMs: number): Promise<void> {
    this.stopRotation?.();
    const listening: NetServer = this.front ?? this.server;
    if (!listening.listening) return Promise.resolve();
    this.closing = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const session of this.sessions) session.destroy();
        for (const socket of this.sockets) socket.destroy();
      }, graceMs);
      timer.unref();
      let pending = 2;
      const finish = () => {
        if (--pending > 0) return;
        clearTimeout(timer);
        resolve();
      };
      listening.close(() => finish());
      // Stops Node's HTTP/1.1 timeout checks (the server itself never listened: no callback error matters).
      if (this.front) this.server.close(() => undefined);
      // Connections handed over by the front are not the TLS server's own: count them here.
      this.onDrained = () => {
        this.onDrained = undefined;
        finish();
      };
      for (const session of this.sessions) session.close();
      for (const socket of this.http1) if (!this.busy.has(socket)) socket.destroy();
      if (this.sockets.size === 0) this.onDrained();
    });
  }
}

const refuse: Sni = (_name, cb) => cb(new Error('no TLS-ALPN-01 responder'));
