// The client's address, as the edge logs it, limits it and tells the origin (X-Forwarded-For,
// {client_ip}): the socket's peer — or the client a PROXY header named — unless that peer is a
// trusted proxy, in which case X-Forwarded-For is read from the right, past every trusted proxy,
// to the first address that is not one. Nobody else's X-Forwarded-For is believed.
import type { Socket } from 'node:net';
import type { HeaderMap } from '../http/headers.js';
import { peerAddress } from '../server/proxy-protocol.js';
import { AddressList, parseAddress } from './address-list.js';

export class ClientIp {
  constructor(private readonly trusted: AddressList) {}

  get trustsAnyone(): boolean {
    return !this.trusted.empty;
  }

  /** Whether a connection from `address` may speak for others (PROXY header, X-Forwarded-For). */
  trusts(address: string): boolean {
    return this.trusted.has(address);
  }

  of(socket: Socket | undefined, headers: HeaderMap): string {
    const peer = peerAddress(socket);
    if (this.trusted.empty || !this.trusted.has(peer)) return peer;
    const xff = headers['x-forwarded-for'];
    if (xff === undefined) return peer;
    const hops = (Array.isArray(xff) ? xff.join(',') : xff).split(',');
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const addr = parseAddress(hops[i]!);
      if (addr === undefined) break; // garbage: believe nothing further left
      client = addr.toString();
      if (!this.trusted.has(client)) break;
    }
    return client;
  }
}
