// Ports for the services tests (and benchmarks) start on 127.0.0.1. A server in the test process
// listens on port 0 and reads its port; a child process (redis-server, pebble) must be told a port
// up front, and a port found free a moment ago may be taken by the time the child binds it. So such
// children start through `withFreePorts`, which tries again with new ports when a child exits saying
// the address is in use, and `childListening` waits until that very child holds the port (read from
// /proc), never mistaking another process that took the port for it.
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';

/** A start failed because a port it was given was taken meanwhile: try again with other ports. */
export class PortTaken extends Error {}

/** `count` distinct ports free at this moment (held together, then released). */
async function candidatePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** A port free a moment ago. Only for a child told its port up front: start it with withFreePorts. */
export async function freePort(): Promise<number> {
  return (await candidatePorts(1))[0]!;
}

/** Runs `start` with `count` free ports, again with new ones while it fails with PortTaken. */
export async function withFreePorts<T>(count: number, start: (ports: number[]) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await candidatePorts(count));
    } catch (err) {
      if (!(err instanceof PortTaken) || attempt >= attempts) throw err;
    }
  }
}

/** Inodes of the sockets listening (TCP) or bound (UDP) on `port`, from /proc/net. */
function socketInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const [table, state] of [['tcp', '0A'], ['tcp6', '0A'], ['udp', '07'], ['udp6', '07']] as const) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === state && parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.add(f[9]!);
    }
  }
  return inodes;
}

/** Whether process `pid` holds a socket listening on `port`. */
function holds(pid: number, port: number): boolean {
  const inodes = socketInodes(port);
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      return m !== null && inodes.has(m[1]!);
    } catch {
      return false;
    }
  });
}

/**
 * Waits until `child` itself listens on each of `ports`. Throws PortTaken if it exits saying an
 * address is in use, and an error with its output if it exits otherwise or takes too long.
 */
export async function childListening(child: ChildProcess, ports: number[], output: () => string, name: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (/address already in use|EADDRINUSE/i.test(output())) throw new PortTaken(`${name}: a port was taken before it could bind it`);
      throw new Error(`${name} exited: ${output()}`);
    }
    if (child.pid !== undefined && ports.every((p) => holds(child.pid!, p))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${name} did not listen on ${ports.join(', ')} in time: ${output()}`);
}

/** Waits until something accepts connections on `port` (the benchmarks' servers). */
export async function waitForPort(port: number, child: ChildProcess | undefined, output: () => string, name: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (child && child.exitCode !== null) throw new Error(`${name} exited: ${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${name} did not open port ${port} in time: ${output()}`);
}
