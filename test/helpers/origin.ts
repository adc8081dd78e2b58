// A real HTTP origin on 127.0.0.1 and a free port, recording every request it gets, for scenario
// tests. Handlers are plain node:http handlers, so a test can misbehave exactly as it needs to
// (stall, die mid-body, answer 503…).
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { clock } from '../../src/clock.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}

export interface TestOrigin {
  url: string;
  port: number;
  requests: SeenRequest[];
  /** Requests for one path (query included). */
  count(url: string): number;
  close(): Promise<void>;
  server: Server;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export async function startOrigin(handler: Handler): Promise<TestOrigin> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    // The origin reads the edge's clock for its Date, as two NTP-synced machines agree: a test that
    // moves the edge's clock forward must not make every later answer look older than it is.
    res.setHeader('date', new Date(clock.now()).toUTCString());
    handler(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    server,
    count: (url) => requests.filter((r) => r.url === url).length,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A handler answering 200 with `body` and the given headers. */
export function respond(body: string | Buffer, headers: Record<string, string | string[]> = {}, status = 200): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
}

/**
 * An origin body sent in `chunk`-byte pieces as fast as the client takes them, cacheable for an
 * hour, that stops at the byte count `holdAt` named for the request's path until `release()`: so a
 * test knows a write is in progress, and how far, by the bytes themselves rather than by a pace.
 */
export function heldStream(payload: Buffer, chunk: number, headers: Record<string, string> = {}) {
  const holds = new Map<string, number>();
  const parked = new Set<() => void>();
  const handler: Handler = (req, res) => {
    res.writeHead(200, { 'content-length': payload.length, 'cache-control': 'public, max-age=3600', ...headers });
    let offset = 0;
    const send = () => {
      while (offset < payload.length && !res.destroyed) {
        if (offset >= (holds.get(req.url ?? '') ?? payload.length)) return void parked.add(send);
        const more = res.write(payload.subarray(offset, offset + chunk));
        offset += chunk;
        if (!more) return void res.once('drain', send);
      }
      if (offset >= payload.length) res.end();
    };
    res.on('close', () => parked.delete(send));
    send();
  };
  return {
    handler,
    /** Requests for `path` (from now on, and those under way) stop after `bytes` (a multiple of the chunk). */
    holdAt: (path: string, bytes: number) => void holds.set(path, bytes),
    /** Every request goes on to the end, those stopped included. */
    release: () => {
      holds.clear();
      const waiting = [...parked];
      parked.clear();
      for (const send of waiting) send();
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (connection refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
