// Any Origin (a FolderOrigin, an S3Origin, a whole OriginGroup) behind a tiny node:http server on
// 127.0.0.1, so a real edge can use it as an ordinary HTTP member until the config can name these
// origins itself. The member that answered is reported in `x-inner-member` (the edge replaces
// `x-served-by-origin` with its own member's name).
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { EdgeError } from '../../src/errors.js';
import type { Origin } from '../../src/origins/origin.js';

export interface ServedOrigin {
  url: string;
  port: number;
  server: Server;
  /** Request paths (with query) as this server received them. */
  paths: string[];
  /** The status the wrapped origin answered, for each request in order. */
  statuses: number[];
  close(): Promise<void>;
}

export async function serveOrigin(origin: Origin): Promise<ServedOrigin> {
  const paths: string[] = [];
  const statuses: number[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    origin
      .fetch({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: null }, abort.signal)
      .then((out) => {
        statuses.push(out.status);
        const headers = { ...out.headers, 'x-inner-member': out.member };
        res.writeHead(out.status, headers as Record<string, string | string[]>);
        pipeline(out.body, res, () => {});
      })
      .catch((err: unknown) => {
        const status = err instanceof EdgeError ? err.status : 500;
        if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(`${(err as Error).message}\n`);
      });
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
    server,
    paths,
    statuses,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
