// A plain-HTTP listener for the edge, with a graceful stop: stop accepting, let in-flight requests
// finish (idle keep-alive connections are closed at once), then cut whatever is left after the
// grace period. Requests Node's parser refuses get a short 400 instead of a bare reset.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ListenAddress } from '../config/schema.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function badRequestResponse(detail: string): string {
  const body = `400 bad_request: ${detail}\n`;
  return `HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

export class HttpListener {
  readonly server: Server;
  private bound: AddressInfo | undefined;

  constructor(
    private readonly address: ListenAddress,
    handler: RequestHandler,
  ) {
    this.server = createServer(
      {
        keepAliveTimeout: 65_000,
        headersTimeout: 20_000,
        requestTimeout: 120_000,
        // Joining duplicate headers the way the RFC lists them keeps Vary and cache keys honest.
        joinDuplicateHeaders: true,
      },
      handler,
    );
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable || err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const detail = err.code === 'HPE_HEADER_OVERFLOW' ? 'The request headers are too large.' : 'The request could not be parsed.';
      socket.end(badRequestResponse(detail));
    });
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.address.port, this.address.host, () => {
        this.server.off('error', onError);
        this.bound = this.server.address() as AddressInfo;
        resolve(this.bound);
      });
    });
  }

  get addressInfo(): AddressInfo | undefined {
    return this.bound;
  }

  /** Stops accepting; in-flight requests get `graceMs` to finish before their connections are cut. */
  close(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.server.closeIdleConnections();
    });
  }
}
