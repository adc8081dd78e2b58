// The domain list as an HTTP question to the origin app: `GET {url}?domain={host}`; any 2xx means
// the host is the platform's, any 4xx means it is not (Caddy's on-demand "ask" endpoint has the same
// contract). Anything else — 5xx, a timeout, a refused connection — is an error, not a "no": the
// caller (CachedDomainSource) remembers errors only briefly. Wrap it in CachedDomainSource.
import { request, type Dispatcher } from 'undici';
import type { DomainSource } from './domain-source.js';

export interface AskDomainOptions {
  /** The ask endpoint; `domain=` is added to its query. */
  url: string | URL;
  /** Whole-question budget (ms). */
  timeoutMs?: number;
  /** Extra request headers, e.g. a shared secret. */
  headers?: Record<string, string>;
  /** undici dispatcher (tests, proxies); the global one by default. */
  dispatcher?: Dispatcher;
}

export class AskDomainError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AskDomainError';
  }
}

export class AskDomainSource implements DomainSource {
  readonly name: string;
  private readonly url: URL;
  private readonly timeoutMs: number;

  constructor(private readonly options: AskDomainOptions) {
    this.url = new URL(options.url);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') throw new Error(`ask URL must be http(s): ${this.url.href}`);
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.name = `ask ${this.url.origin}${this.url.pathname}`;
  }

  async lookup(host: string): Promise<boolean> {
    const url = new URL(this.url);
    url.searchParams.set('domain', host);
    const res = await request(url, {
      method: 'GET',
      headers: { accept: '*/*', ...this.options.headers },
      signal: AbortSignal.timeout(this.timeoutMs),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      dispatcher: this.options.dispatcher,
    });
    // The body is not part of the answer; drain it so the connection can be reused.
    await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    if (res.statusCode >= 200 && res.statusCode < 300) return true;
    if (res.statusCode >= 400 && res.statusCode < 500) return false;
    throw new AskDomainError(`${this.name} answered ${res.statusCode} for ${host}`, res.statusCode);
  }
}
