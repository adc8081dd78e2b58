// A plain HTTP client for tests: a fresh connection per request (no pooling to hide behaviour),
// any Host, any headers, the whole body as a Buffer — or the error if the response was cut off.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** Set when the response was cut off before it was complete. */
  error?: Error;
  /** ms from sending the request to the first body byte (or the head, when there is no body). */
  firstByteMs: number;
  totalMs: number;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  timeoutMs?: number;
}

export function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let firstByteMs = -1;
      const finish = (error?: Error) => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text: body.toString('utf8'),
          error,
          firstByteMs: firstByteMs < 0 ? performance.now() - started : firstByteMs,
          totalMs: performance.now() - started,
        });
      };
      res.on('data', (c: Buffer) => {
        if (firstByteMs < 0) firstByteMs = performance.now() - started;
        chunks.push(c);
      });
      res.on('end', () => finish());
      res.on('error', (err) => finish(err));
      res.on('aborted', () => finish(new Error('aborted')));
    });
    req.setTimeout(options.timeoutMs ?? 15_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(options.body);
  });
}

export const get = (url: string, headers?: Record<string, string | string[]>) => request(url, { headers });

/** Sends raw bytes and returns everything the server answers until it closes (or a timeout). */
export function rawRequest(port: number, data: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.end());
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.write(data);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface HttpsReply extends Reply {
  /** DNS names of the certificate the server presented, and whether the client trusted it. */
  certNames: string[];
  authorized: boolean;
}

/** GET https://{host}{path} from 127.0.0.1:port (SNI = host), trusting `ca`; a fresh connection. */
export function httpsGet(port: number, host: string, path: string, ca: string[], headers: Record<string, string> = {}): Promise<HttpsReply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, servername: host, ca, headers: { host, ...headers }, agent: false }, (res) => {
      const socket = res.socket as TLSSocket;
      const certNames = (socket.getPeerCertificate().subjectaltname ?? '').split(', ').filter(Boolean).map((n) => n.replace(/^DNS:/, ''));
      const chunks: Buffer[] = [];
      let firstByteMs = -1;
      res.on('data', (c: Buffer) => {
        if (firstByteMs < 0) firstByteMs = performance.now() - started;
        chunks.push(c);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const totalMs = performance.now() - started;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8'), firstByteMs: firstByteMs < 0 ? totalMs : firstByteMs, totalMs, certNames, authorized: socket.authorized });
      });
    });
    req.setTimeout(20_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end();
  });
}
