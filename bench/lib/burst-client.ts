// A burst of N simultaneous requests for one URL from raw sockets (run pinned to the client core),
// timing each one's first byte and last byte from the moment its request was written. Prints JSON.
import { connect } from 'node:net';

const [url, count] = [new URL(process.argv[2]!), Number(process.argv[3] ?? 200)];
const path = url.pathname + url.search;

interface Timing {
  ttfb: number;
  total: number;
  bytes: number;
}

function one(): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let sent = 0;
    let first = -1;
    let bytes = 0;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      // Requests are written together once every socket is connected (see below).
      ready.push(() => {
        sent = performance.now();
        socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
      });
      if (ready.length === count) for (const go of ready) go();
    });
    socket.on('data', (c: Buffer) => {
      if (first < 0) first = performance.now();
      bytes += c.length;
    });
    socket.on('close', () => resolve({ ttfb: first - sent, total: performance.now() - sent, bytes }));
    socket.on('error', reject);
  });
}

const ready: (() => void)[] = [];
const results = await Promise.all(Array.from({ length: count }, one));
console.log(JSON.stringify(results));
