// The bundled demo origin: a small blog served from demo/site with a deliberate delay, HTML cached
// for a minute and assets for a year, so a newcomer can watch misses turn into hits.
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, normalize, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import mime from 'mime-types';

export const DEMO_SITE = fileURLToPath(new URL('../../demo/site/', import.meta.url));

export interface DemoOrigin {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function startDemoOrigin(options: { delayMs?: number; onRequest?: (method: string, path: string, status: number) => void } = {}): Promise<DemoOrigin> {
  const delay = options.delayMs ?? 150;
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const relative = normalize(path === '/' || path.endsWith('/') ? `${path}index.html` : path);
    const file = join(DEMO_SITE, relative);
    setTimeout(async () => {
      let status = 200;
      try {
        if (!file.startsWith(DEMO_SITE) || relative.split(sep).includes('..')) throw new Error('outside');
        const body = await readFile(file);
        const etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`;
        const isHtml = file.endsWith('.html');
        res.setHeader('content-type', mime.contentType(file.split('/').pop()!) || 'application/octet-stream');
        res.setHeader('cache-control', isHtml ? 'public, max-age=60' : 'public, max-age=31536000, immutable');
        res.setHeader('etag', etag);
        if (req.headers['if-none-match'] === etag) {
          status = 304;
          res.writeHead(304).end();
        } else {
          res.setHeader('content-length', body.length);
          res.writeHead(200).end(req.method === 'HEAD' ? undefined : body);
        }
      } catch {
        status = 404;
        res.writeHead(404, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=10' });
        res.end('<!doctype html><title>Not found</title><h1>Not found</h1>\n');
      }
      options.onRequest?.(req.method ?? 'GET', req.url ?? '/', status);
    }, delay);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
