// A plain HTTP client for tests: a fresh connection per request (no pooling to hide behaviour),
// any Host, any headers, the whole body as a Buffer — or the error if the response was cut off.
// It times nothing: a test shows what waited for what by events (see gate.ts), never by ms.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
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
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  timeoutMs?: number;
  /** Told of each body chunk as it arrives (bytes so far included), e.g. to act once bytes reached the client. */
  onData?: (chunk: Buffer, received: number, res: IncomingMessage) => void;
}

export function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      const finish = (error?: Error) => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text: body.toString('utf8'),
          error,
        });
      };
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        received += c.length;
        options.onData?.(c, received, res);
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

/**
 * Sends raw bytes and returns everything the server answers until it closes the connection. The
 * close is the event waited for (ask with `Connection: close` where the server would keep it
 * open): a server that keeps it open past `timeoutMs` is an error, not an empty answer.
 */
export function rawRequest(port: number, data: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const text = () => Buffer.concat(chunks).toString('latin1');
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`the server kept the connection open; answered so far: ${JSON.stringify(text())}`)));
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', (hadError) => hadError || resolve(text()));
    socket.on('error', reject);
    socket.write(data);
  });
}

export interface HttpsReply extends Reply {
  /** DNS names of the certificate the server presented, and whether the client trusted it. */
  certNames: string[];
  authorized: boolean;
}

/** GET https://{host}{path} from 127.0.0.1:port (SNI = host), trusting `ca`; a fresh connection. */
export function httpsGet(port: number, host: string, path: string, ca: string[], headers: Record<string, string> = {}): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, servername: host, ca, headers: { host, ...headers }, agent: false }, (res) => {
      const socket = res.socket as TLSSocket;
      const certNames = (socket.getPeerCertificate().subjectaltname ?? '').split(', ').filter(Boolean).map((n) => n.replace(/^DNS:/, ''));
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8'), certNames, authorized: socket.authorized });
      });
    });
    req.setTimeout(20_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end();
  });
}
