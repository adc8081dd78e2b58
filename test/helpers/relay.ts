// A TCP relay on 127.0.0.1 and a port of its own, listening from the start so no other process can
// take it: each connection is piped, bytes untouched (TLS included), to the port `to()` last named.
// For a port that must be known before the server answering there exists: pebble is told where to
// validate HTTP-01 and TLS-ALPN-01 when it starts, and two edges pointed at each other each need the
// other's address first. The server behind it still listens on port 0 in the test process.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface Relay {
  port: number;
  /** Sends the next connections to 127.0.0.1:`port`. */
  to(port: number): void;
  close(): Promise<void>;
}

export async function startRelay(): Promise<Relay> {
  let target: number | undefined;
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const server = createServer((client) => {
    track(client);
    // Nothing to relay to yet: the client sees the connection closed, as with no server there.
    if (target === undefined) return void client.destroy();
    const upstream = connect(target, '127.0.0.1');
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    to: (port) => void (target = port),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
