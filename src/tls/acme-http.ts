// How acme-client talks to an ACME server. acme-client 5.4 sends every request through one shared
// axios instance with no timeout, so a stalled CA would hold an issuance (its lock and its pending
// slot) forever. This adds, once per process, a per-request timeout and, per ACME server origin, an
// HTTPS agent that trusts extra CAs for that server only (a private CA; pebble's in tests) and
// reuses its connections — measured against pebble, new connections and Nagle cost more CPU and
// latency per order than everything else acme-client does.
import { Agent, type RequestOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, rootCertificates } from 'node:tls';
import acme from 'acme-client';

interface Endpoint {
  agent: Agent;
  timeoutMs: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * axios writes a POST's head and body apart; with Nagle the body waited for a delayed ACK (~40 ms
 * per JWS request). The Agent's own `noDelay` option does not reach TLS sockets in Node 20.
 */
class NoDelayAgent extends Agent {
  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
    (socket as Socket | null | undefined)?.setNoDelay?.(true);
    return socket;
  }
}

const endpoints = new Map<string, Endpoint>();
let installed = false;

export interface AcmeHttpOptions {
  /** PEM certificate(s) of CAs to trust for this ACME server's HTTPS API, besides Node's own. */
  ca?: string | string[];
  /** Budget of one HTTP request to the ACME server (default 30 s). */
  timeoutMs?: number;
}

/** Sets how requests to `directoryUrl`'s origin are made (the last call for an origin wins). */
export function configureAcmeHttp(directoryUrl: string, options: AcmeHttpOptions = {}): void {
  const origin = new URL(directoryUrl).origin;
  const ca = options.ca === undefined ? undefined : Array.isArray(options.ca) ? options.ca : [options.ca];
  endpoints.set(origin, {
    // Node's own roots plus the extra CAs (giving `ca` alone would replace the defaults; then
    // NODE_EXTRA_CA_CERTS no longer applies to this server, without `ca` it does). One context for
    // every connection: building one from ~140 root PEMs costs ~30 ms.
    agent: new NoDelayAgent({ keepAlive: true, ...(ca ? { secureContext: createSecureContext({ ca: [...rootCertificates, ...ca] }) } : {}) }),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
  if (installed) return;
  installed = true;
  acme.axios.interceptors.request.use((config) => {
    let endpoint: Endpoint | undefined;
    try {
      endpoint = endpoints.get(new URL(config.url ?? '').origin);
    } catch {
      endpoint = undefined;
    }
    if (!config.timeout) config.timeout = endpoint?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (endpoint) {
      config.httpsAgent = endpoint.agent;
      // acme-client fetches a nonce with HEAD before every request, and axios closes the connection
      // after a HEAD: each JWS POST then paid a new TLS handshake. RFC 8555 §7.2 requires servers
      // to answer GET on newNonce the same way (204 + Replay-Nonce), and GET keeps the connection.
      if (config.method?.toLowerCase() === 'head') config.method = 'get';
    }
    return config;
  });
}

