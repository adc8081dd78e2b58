// A bare Node HTTP server as a peer: `http.createServer` answering a fixed in-memory buffer whose
// size the path names (/…/4k, /…/100k), no cache and no pipeline — the most Node's own HTTP stack
// gives on this core, so a run shows what is blotcdn's cost and what is Node's.
import { freePort, pinned, SERVER_CORE, waitForPort } from './procs.js';
import { peer, type Peer } from './peers.js';

// Plain JavaScript run with `node -e`: no loader, nothing in the process but Node and this.
const SCRIPT = `
const { createServer } = require('node:http');
const bodies = new Map();
const server = createServer((req, res) => {
  let body = bodies.get(req.url);
  if (!body) {
    const m = /(\\d+)(k|m)?$/.exec(req.url);
    const size = m ? Number(m[1]) * (m[2] === 'k' ? 1024 : m[2] === 'm' ? 1048576 : 1) : 4096;
    body = Buffer.alloc(size, 'x');
    bodies.set(req.url, body);
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'cache-control': 'public, max-age=3600' });
  res.end(body);
});
server.keepAliveTimeout = 65000;
server.listen(Number(process.env.BARE_PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** Runs `script` on the server core as peer `name`, on a free port (BARE_PORT). */
async function startScript(name: string, script: string): Promise<Peer> {
  const port = await freePort();
  // The same V8 flag blotcdn runs with, so the two differ only in what they do per request.
  const proc = pinned(name, SERVER_CORE, process.execPath, ['--max-semi-space-size=32', '-e', script], { BARE_PORT: String(port) });
  await waitForPort(port, proc);
  return peer(name, port, [proc]);
}

export function startBareNode(name = 'node (bare)'): Promise<Peer> {
  return startScript(name, SCRIPT);
}

// The same answer from a bare `net` server: the request head found by its blank line, a prepared
// response written with one socket.write — no HTTP parser objects, no ServerResponse, no streams.
// Not a usable HTTP server (no validation, no pipelining limits): the floor of a Node process
// answering a hit, to show what Node's HTTP layer costs (issue 16, "what it would take").
const RAW_SCRIPT = `
const { createServer } = require('node:net');
const answers = new Map();
function answer(url) {
  let out = answers.get(url);
  if (!out) {
    const m = /(\\d+)(k|m)?$/.exec(url);
    const size = m ? Number(m[1]) * (m[2] === 'k' ? 1024 : m[2] === 'm' ? 1048576 : 1) : 4096;
    const head = 'HTTP/1.1 200 OK\\r\\ncontent-type: application/octet-stream\\r\\ncontent-length: ' + size + '\\r\\ncache-control: public, max-age=3600\\r\\ndate: ' + new Date().toUTCString() + '\\r\\nconnection: keep-alive\\r\\n\\r\\n';
    out = Buffer.concat([Buffer.from(head, 'latin1'), Buffer.alloc(size, 'x')]);
    answers.set(url, out);
  }
  return out;
}
createServer({ noDelay: true }, (socket) => {
  let pending = '';
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    pending += chunk.latin1Slice(0, chunk.length);
    let end;
    while ((end = pending.indexOf('\\r\\n\\r\\n')) !== -1) {
      const line = pending.slice(0, pending.indexOf('\\r\\n'));
      pending = pending.slice(end + 4);
      socket.write(answer(line.split(' ')[1] || '/'));
    }
  });
}).listen(Number(process.env.BARE_PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

export function startRawNode(name = 'node (raw net)'): Promise<Peer> {
  return startScript(name, RAW_SCRIPT);
}
