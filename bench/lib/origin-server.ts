// The benchmark origin, run as its own process: fixed bodies of known sizes, cacheable for an hour,
// and an optional delay (?delay=ms) for coalescing runs. It counts what it serves so a benchmark can
// report how many requests actually reached it (GET /__count, /__reset).
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);
const bodies = new Map<string, Buffer>();
function body(size: number): Buffer {
  let b = bodies.get(String(size));
  if (!b) {
    b = Buffer.alloc(size);
    for (let i = 0; i < size; i++) b[i] = 97 + (i % 26);
    bodies.set(String(size), b);
  }
  return b;
}
const counts = new Map<string, number>();

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/__count') {
    res.end(JSON.stringify(Object.fromEntries(counts)));
    return;
  }
  if (url.pathname === '/__reset') {
    counts.clear();
    res.end('{}');
    return;
  }
  counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1);
  const m = /^\/(?:[a-z0-9-]+\/)*(\d+)(k|m)?$/.exec(url.pathname);
  const size = m ? Number(m[1]) * (m[2] === 'k' ? 1024 : m[2] === 'm' ? 1024 * 1024 : 1) : 4096;
  const delay = Number(url.searchParams.get('delay') ?? 0);
  const send = () => {
    const b = body(size);
    // /tagged/<n>/… objects carry Surrogate-Keys: obj-<n> and grp-<n mod 1000>.
    const tagged = /^\/tagged\/(\d+)\//.exec(url.pathname);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': b.length,
      'cache-control': 'public, max-age=3600',
      etag: `"b${size}"`,
      'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT',
      ...(tagged ? { 'surrogate-key': `obj-${tagged[1]} grp-${Number(tagged[1]) % 1000}` } : {}),
    });
    res.end(b);
  };
  if (delay > 0) setTimeout(send, delay);
  else send();
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  console.log(`origin listening on ${typeof addr === 'object' && addr ? addr.port : port}`);
});
