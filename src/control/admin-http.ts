// The small HTTP vocabulary the admin API and the platform's purge listener share: JSON answers,
// errors as `{code, message}` with a code from src/errors.ts, a bounded JSON body reader, and the
// constant-time comparison every secret goes through.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { EdgeError, toEdgeError, type ErrorCode } from '../errors.js';

/** Compares two secrets in constant time: both are hashed first, so their lengths leak nothing. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** Any failure as `{code, message}` with the code's status (and its headers, e.g. Retry-After). */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) return void res.destroy();
  const e = toEdgeError(err);
  sendJson(res, e.status, { code: e.code, message: e.message }, e.headers);
}

/** The request body as JSON (`{}` when empty); 413 past `limit` bytes, 400 when it does not parse. */
export async function readJson(req: IncomingMessage, limit = 1024 * 1024): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new EdgeError('admin_too_large', `(more than ${limit} bytes)`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('The body is not JSON.');
  }
}

/** An admin error whose message is the problem alone (`not a host: "a b"`), what a CLI prints after the status. */
export function adminError(code: ErrorCode, problem: string): EdgeError {
  const err = new EdgeError(code, problem);
  err.message = problem;
  return err;
}

export function badRequest(problem: string): EdgeError {
  return adminError('admin_bad_request', problem);
}
