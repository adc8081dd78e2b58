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

/** A port on 127.0.0.1 that nothing listens on (connection refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
