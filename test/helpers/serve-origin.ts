// Any Origin (a FolderOrigin, an S3Origin, a whole OriginGroup) behind a tiny node:http server on
// 127.0.0.1, so a real edge can use it as an ordinary HTTP member until the config can name these
// origins itself. The member that answered is reported in `x-inner-member` (the edge replaces
// `x-served-by-origin` with its own member's name).
import type { Server } from 'node:http';
import { pipeline } from 'node:stream';
import { EdgeError } from '../../src/errors.js';
import type { Origin } from '../../src/origins/origin.js';
import { startOrigin } from './origin.js';

export interface ServedOrigin {
  url: string;
  port: number;
  server: Server;
  /** Request paths (with query) as this server received them. */
  readonly paths: string[];
  /** The status the wrapped origin answered, for each request in order. */
  statuses: number[];
  close(): Promise<void>;
}

export async function serveOrigin(origin: Origin): Promise<ServedOrigin> {
  const statuses: number[] = [];
  const served = await startOrigin((req, res) => {
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
  return {
    url: served.url,
    port: served.port,
    server: served.server,
    get paths() {
      return served.requests.map((r) => r.url);
    },
    statuses,
    close: served.close,
  };
}
