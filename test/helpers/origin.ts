// A real HTTP origin on 127.0.0.1 and a free port, recording every request it gets, for scenario
// tests. Handlers are plain node:http handlers, so a test can misbehave exactly as it needs to
// (stall, die mid-body, answer 503…).
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

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

/** Streams `payload` in `chunk`-byte pieces, one every `everyMs`, cacheable for an hour (a write in progress for a while). */
export function streamSlowly(payload: Buffer, chunk: number, everyMs: number, headers: Record<string, string> = {}): Handler {
  return (req, res) => {
    res.writeHead(200, { 'content-length': payload.length, 'cache-control': 'public, max-age=3600', ...headers });
    let offset = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      res.write(payload.subarray(offset, offset + chunk));
      offset += chunk;
      if (offset >= payload.length) {
        clearInterval(timer);
        res.end();
      }
    }, everyMs);
    req.on('close', () => clearInterval(timer));
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
