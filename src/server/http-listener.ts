// A plain-HTTP listener for the edge, with a graceful stop: stop accepting, let in-flight requests
// finish (idle keep-alive connections are closed at once), then cut whatever is left after the
// grace period. Requests Node's parser refuses get a short refusal instead of a bare reset
// (client-error.ts). With trusted proxies configured or the fast lane on, connections are
// accepted by a front net server first, which reads a PROXY protocol header from trusted peers and
// lets the fast lane (fast-lane.ts) answer plain hits before Node's HTTP parser sees the connection.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { acceptConnection } from './proxy-protocol.js';
import { FastLane, type LaneHandler } from './fast-lane.js';
import { answerClientError } from './client-error.js';
import type { ListenAddress } from '../config/schema.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** How long a client may take (ms): to send its headers, its whole request, and idle between requests. */
export interface ListenerLimits {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  /**
   * How often those timeouts are checked. Node's default (30 s) let a client that trickles its
   * headers hold a connection for up to 50 s against a 20 s limit; checked every second, it is cut
   * at 20-21 s.
   */
  checkInterval: number;
}

export const LISTENER_LIMITS: ListenerLimits = { headersTimeout: 20_000, requestTimeout: 120_000, keepAliveTimeout: 65_000, checkInterval: 1_000 };

export class HttpListener {
  readonly server: Server;
  private readonly front: NetServer | undefined;
  private readonly lane: FastLane | undefined;
  /** Connections the front handed to the HTTP server (it does not count them itself). */
  private readonly handed = new Set<Socket>();
  private onDrained: (() => void) | undefined;
  private bound: AddressInfo | undefined;

  constructor(
    private readonly address: ListenAddress,
    handler: RequestHandler,
    /** Peers whose PROXY protocol header is read (none: connections go straight to HTTP). */
    trusted?: (address: string) => boolean,
    /** Shorter limits for tests; LISTENER_LIMITS otherwise. */
    limits: Partial<ListenerLimits> = {},
    /** Answers plain hits below Node's HTTP layer (proxy.fastLane). */
    laneHandler?: LaneHandler,
  ) {
    const l = { ...LISTENER_LIMITS, ...limits };
    this.server = createServer(
      {
        keepAliveTimeout: l.keepAliveTimeout,
        headersTimeout: l.headersTimeout,
        requestTimeout: l.requestTimeout,
        connectionsCheckingInterval: l.checkInterval,
        // Joining duplicate headers the way the RFC lists them keeps Vary and cache keys honest.
        joinDuplicateHeaders: true,
      },
      handler,
    );
    this.server.on('clientError', answerClientError);
    const toNode = (s: Socket) => {
      this.server.emit('connection', s);
      // Bytes read while looking for a PROXY header, or left by the lane, were put back; let the parser have them.
      s.resume();
    };
    const lane = laneHandler && new FastLane(laneHandler, toNode, l.keepAliveTimeout);
    this.lane = lane;
    if (trusted || lane) {
      this.front = createNetServer({ noDelay: true }, (socket) => {
        this.handed.add(socket);
        socket.once('close', () => {
          this.handed.delete(socket);
          if (this.handed.size === 0) this.onDrained?.();
        });
        const next = lane ? (s: Socket) => lane.adopt(s) : toNode;
        if (trusted) acceptConnection(socket, trusted, next);
        else next(socket);
      });
    }
  }

  listen(): Promise<AddressInfo> {
    const listening: NetServer = this.front ?? this.server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      listening.once('error', onError);
      listening.listen(this.address.port, this.address.host, () => {
        listening.off('error', onError);
        this.bound = listening.address() as AddressInfo;
        // Node starts its HTTP timeout checks on the server's 'listening': the front listens for it.
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
    const front = this.front;
    return new Promise((resolve) => {
      if (!(front ?? this.server).listening) return resolve();
      const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      if (front === undefined) this.server.close(done);
      else {
        // The HTTP server never listened itself: close the front, stop the server's timers, and
        // wait for the connections it was handed to finish.
        front.close();
        this.lane?.closeAll();
        this.server.close(() => undefined);
        this.onDrained = done;
        if (this.handed.size === 0) done();
      }
      this.server.closeIdleConnections();
    });
  }
}
