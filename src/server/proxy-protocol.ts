// The PROXY protocol (HAProxy's, versions 1 and 2): a load balancer in front of the edge opens each
// connection with a short header naming the client it stands for. It is read only on connections
// from trusted proxies (`trustedProxies`) — from anyone else those bytes are just a bad request —
// and only when present: a trusted peer may also send plain HTTP (and X-Forwarded-For) instead.
// The client's address is kept on the socket (`PROXY_SOURCE`) for the request's client IP.
import type { Socket } from 'node:net';
import { parseAddress } from '../policy/address-list.js';

export const PROXY_SOURCE = Symbol('blotcdn.proxySource');

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ');
/** v1: "PROXY TCP6 <39> <39> <5> <5>\r\n" is at most 107 bytes. */
const V1_MAX = 107;

export type ProxyHeader =
  | { kind: 'none' }
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string }
  /** `source` is undefined for LOCAL / UNKNOWN connections (health checks): the peer is the client. */
  | { kind: 'ok'; length: number; source: string | undefined };

/** Reads a PROXY header at the start of `buf`. */
export function parseProxyHeader(buf: Buffer): ProxyHeader {
  if (startsWith(buf, V2_SIGNATURE)) return parseV2(buf);
  if (startsWith(buf, V1_PREFIX)) return parseV1(buf);
  // Not (yet) distinguishable from a header that is still arriving?
  const n = Math.min(buf.length, V2_SIGNATURE.length);
  if (buf.subarray(0, n).equals(V2_SIGNATURE.subarray(0, n)) || buf.subarray(0, Math.min(buf.length, 6)).equals(V1_PREFIX.subarray(0, Math.min(buf.length, 6)))) {
    return { kind: 'incomplete' };
  }
  return { kind: 'none' };
}

function startsWith(buf: Buffer, prefix: Buffer): boolean {
  return buf.length >= prefix.length && buf.subarray(0, prefix.length).equals(prefix);
}

function parseV1(buf: Buffer): ProxyHeader {
  const end = buf.indexOf('\r\n');
  if (end < 0) return buf.length >= V1_MAX ? { kind: 'invalid', reason: 'PROXY v1 line too long' } : { kind: 'incomplete' };
  const parts = buf.subarray(0, end).toString('latin1').split(' ');
  if (parts[1] === 'UNKNOWN') return { kind: 'ok', length: end + 2, source: undefined };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) return { kind: 'invalid', reason: 'malformed PROXY v1 line' };
  const source = parseAddress(parts[2]!);
  if (source === undefined || (source.kind() === 'ipv4') !== (parts[1] === 'TCP4') || !/^\d{1,5}$/.test(parts[4]!)) {
    return { kind: 'invalid', reason: 'malformed PROXY v1 address' };
  }
  return { kind: 'ok', length: end + 2, source: source.toString() };
}

function parseV2(buf: Buffer): ProxyHeader {
  if (buf.length < 16) return { kind: 'incomplete' };
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return { kind: 'invalid', reason: 'unknown PROXY protocol version' };
  const length = 16 + buf.readUInt16BE(14);
  if (buf.length < length) return { kind: 'incomplete' };
  const command = verCmd & 0x0f;
  if (command === 0) return { kind: 'ok', length, source: undefined }; // LOCAL
  if (command !== 1) return { kind: 'invalid', reason: 'unknown PROXY v2 command' };
  const family = buf[13]! >> 4;
  if (family === 1 && length >= 16 + 12) return { kind: 'ok', length, source: [...buf.subarray(16, 20)].join('.') };
  if (family === 2 && length >= 16 + 36) {
    const words: string[] = [];
    for (let i = 0; i < 16; i += 2) words.push(buf.readUInt16BE(16 + i).toString(16));
    return { kind: 'ok', length, source: parseAddress(words.join(':'))!.toString() };
  }
  return { kind: 'ok', length, source: undefined }; // AF_UNSPEC / AF_UNIX: nothing to take
}

/**
 * Hands a new connection on: at once for an untrusted peer; for a trusted one, after reading a
 * PROXY header if the connection starts with one (the bytes after it are put back). A broken
 * header closes the connection.
 */
export function acceptConnection(socket: Socket, trusted: (address: string) => boolean, next: (socket: Socket) => void, timeoutMs = 10_000): void {
  if (!trusted(socket.remoteAddress ?? '')) return next(socket);
  let buffered: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const stop = () => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
  };
  const onEnd = () => {
    stop();
    socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const header = parseProxyHeader(buffered);
    if (header.kind === 'incomplete') return;
    stop();
    if (header.kind === 'invalid') return void socket.destroy();
    socket.pause();
    if (header.kind === 'ok') {
      if (header.source !== undefined) (socket as Socket & { [PROXY_SOURCE]?: string })[PROXY_SOURCE] = header.source;
      buffered = buffered.subarray(header.length);
    }
    if (buffered.length > 0) socket.unshift(buffered);
    next(socket);
  };
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', () => socket.destroy());
}

/** The address a connection speaks for: the PROXY header's client, or the socket's peer. */
export function peerAddress(socket: Socket | undefined): string {
  if (socket === undefined) return '';
  const s = socket as Socket & { [PROXY_SOURCE]?: string; _parent?: Socket & { [PROXY_SOURCE]?: string } };
  return s[PROXY_SOURCE] ?? s._parent?.[PROXY_SOURCE] ?? socket.remoteAddress ?? '';
}
