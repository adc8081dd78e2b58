// A TLS "node" for tests: CertManager + AcmeIssuer over a given CertStore, an HttpsListener and
// (optionally) an HTTP listener answering ACME HTTP-01 from the store — the parts the lead wires
// into Edge, assembled by hand. Plus a client handshake that reports what a reader would see.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type PeerCertificate } from 'node:tls';
import { AcmeIssuer, type AcmeIssuerOptions } from '../../src/tls/acme-issuer.js';
import { CertManager, type CertManagerOptions } from '../../src/tls/cert-manager.js';
import type { CertStore } from '../../src/tls/cert-store.js';
import { HostPolicy } from '../../src/tls/host-policy.js';
import { HttpsListener, type HttpsRequestHandler } from '../../src/server/https-listener.js';
import type { DomainSource } from '../../src/sites/domain-source.js';
import type { TestPebble } from './pebble.js';

export interface TlsNode {
  manager: CertManager;
  issuer: AcmeIssuer;
  https: HttpsListener;
  port: number;
  http?: Server;
  stop(): Promise<void>;
}

export interface TlsNodeOptions {
  pebble: TestPebble;
  store: CertStore;
  names?: string[];
  sources?: DomainSource[];
  /** Answer pebble's HTTP-01 validations (default true). */
  http01?: boolean;
  /** Answer pebble's TLS-ALPN-01 validations on the HTTPS listener (default false). */
  tlsAlpn01?: boolean;
  issuer?: Partial<AcmeIssuerOptions>;
  manager?: Partial<CertManagerOptions>;
  handler?: HttpsRequestHandler;
}

export async function startTlsNode(o: TlsNodeOptions): Promise<TlsNode> {
  const issuer = new AcmeIssuer({ directoryUrl: o.pebble.directoryUrl, store: o.store, caCert: o.pebble.apiCa, ...o.issuer });
  const policy = new HostPolicy({ names: o.names ?? [], sources: o.sources });
  const manager = new CertManager({ store: o.store, policy, issuer, ...o.manager });
  await manager.start();
  const handler: HttpsRequestHandler = o.handler ?? ((req, res) => res.end(`hello ${req.headers[':authority'] ?? req.headers.host} over ${req.httpVersion}`));
  const https = new HttpsListener({ host: '127.0.0.1', port: 0 }, manager, handler);
  const { port } = await https.listen();
  if (o.tlsAlpn01) o.pebble.routeTlsAlpn01(port);
  let http: Server | undefined;
  if (o.http01 ?? true) {
    http = createServer((req, res) => {
      manager.answerHttp01(req.headers.host ?? '', req.url ?? '/').then((answer) => {
        res.writeHead(answer ? 200 : 404, { 'content-type': 'text/plain' });
        res.end(answer ?? 'not found');
      });
    });
    await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve));
    o.pebble.routeHttp01((http.address() as AddressInfo).port);
  }
  return {
    manager,
    issuer,
    https,
    port,
    http,
    stop: async () => {
      await manager.stop();
      await https.close(100);
      if (http) {
        http.closeAllConnections();
        await new Promise((resolve) => http!.close(resolve));
      }
    },
  };
}

export interface HandshakeResult {
  authorized: boolean;
  error?: string;
  /** Subject names of the certificate the server presented. */
  names: string[];
  serial?: string;
  validTo?: string;
  ms: number;
}

/** One TLS handshake to 127.0.0.1:port naming `servername` (none if undefined), trusting `ca`. */
export function handshake(port: number, servername: string | undefined, ca: string[], timeoutMs = 15_000): Promise<HandshakeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] });
    const timer = setTimeout(() => socket.destroy(new Error('handshake timed out')), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const peer: PeerCertificate = socket.getPeerCertificate();
      const names = (peer.subjectaltname ?? '').split(', ').filter(Boolean).map((n) => n.replace(/^DNS:/, ''));
      resolve({
        authorized: socket.authorized,
        error: socket.authorizationError ? String(socket.authorizationError) : undefined,
        names: names.length ? names : [String(peer.subject?.CN ?? '')],
        serial: peer.serialNumber,
        validTo: peer.valid_to,
        ms: performance.now() - started,
      });
      socket.destroy();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      resolve({ authorized: false, error: err.message, names: [], ms: performance.now() - started });
    });
  });
}

/**
 * One TLS connection offering `session` (a ticket from an earlier one): whether it resumed, and the
 * ticket it was given. TLS 1.3 sends tickets after the handshake, so a full handshake waits for its
 * ticket (the 'session' event); a resumed one gets none and is done at once. No timing involved.
 */
export function tlsSession(port: number, servername: string, options: { session?: Buffer; ca?: string[] } = {}): Promise<{ reused: boolean; ticket: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca: options.ca, rejectUnauthorized: options.ca !== undefined, session: options.session });
    let ticket: Buffer | undefined;
    let secure = false;
    const done = () => {
      socket.off('error', reject);
      socket.end();
      resolve({ reused: socket.isSessionReused(), ticket });
    };
    socket.once('session', (t: Buffer) => {
      ticket = t;
      if (secure) done();
    });
    socket.once('secureConnect', () => {
      secure = true;
      if (socket.isSessionReused() || ticket !== undefined) done();
    });
    socket.on('error', reject);
  });
}
