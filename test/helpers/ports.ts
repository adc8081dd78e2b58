// Ports for the services tests (and benchmarks) start: a free one on 127.0.0.1, and waiting for a
// started process to accept connections on it — failing early, with its output, if it exits.
import type { ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

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
