// An origin that answers with whatever bytes a test writes, for the faults node:http will not make:
// a body cut off or longer than announced, invalid status lines, broken chunking, 1xx floods,
// headers that never end. It reads each request's head from the socket, records it, and hands the
// socket to the script for the longest matching path prefix; the script writes, ends, resets or
// stalls. Requests that follow on a kept-alive connection go to their own scripts in turn.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface RawRequest {
  method: string;
  url: string;
  head: string;
}

/** Writes the answer (or not). Resolve when the connection may read its next request. */
export type RawScript = (socket: Socket, req: RawRequest) => void | Promise<void>;

export interface RawOrigin {
  url: string;
  port: number;
  requests: RawRequest[];
  /** Requests whose path (query included) starts with `prefix`. */
  seen(prefix: string): RawRequest[];
  close(): Promise<void>;
}

/** `HTTP/1.1 200 OK` with these header lines and the body, as one buffer (no Content-Length added). */
export function rawResponse(statusLine: string, headers: string[], body: string | Buffer = ''): Buffer {
  return Buffer.concat([Buffer.from(`${statusLine}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`, 'latin1'), typeof body === 'string' ? Buffer.from(body, 'latin1') : body]);
}

export async function startRawOrigin(scripts: Record<string, RawScript>): Promise<RawOrigin> {
  const requests: RawRequest[] = [];
  const sockets = new Set<Socket>();
  const prefixes = Object.keys(scripts).sort((a, b) => b.length - a.length);
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    let busy = false;
    const next = async (): Promise<void> => {
      const end = buffered.indexOf('\r\n\r\n');
      if (busy || end < 0) return;
      busy = true;
      const head = buffered.subarray(0, end).toString('latin1');
      buffered = buffered.subarray(end + 4); // the edge sends no bodies to these paths
      const [method = '', url = ''] = head.split('\r\n')[0]!.split(' ');
      const req = { method, url, head };
      requests.push(req);
      const prefix = prefixes.find((p) => url.startsWith(p));
      if (prefix === undefined) {
        socket.end(rawResponse('HTTP/1.1 404 Not Found', ['Content-Length: 0', 'Connection: close']));
        return;
      }
      await scripts[prefix]!(socket, req);
      busy = false;
      if (!socket.destroyed) void next();
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      void next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    seen: (prefix) => requests.filter((r) => r.url.startsWith(prefix)),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
