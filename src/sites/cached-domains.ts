// A small TTL cache in front of any DomainSource: a flood of handshakes for one name (or for a
// million random names) becomes at most one question per name per TTL, and concurrent questions
// for one name share one answer. Positive and negative answers have their own lifetimes; an error
// is remembered only briefly, and a host that was allowed keeps being allowed through errors for
// `staleIfError` — so a flaky domain list does not take customers' sites offline.
import type { DomainSource } from './domain-source.js';
import { clock } from '../clock.js';

export interface CachedDomainOptions {
  /** How long an "allowed" answer is reused (ms). */
  positiveTtlMs?: number;
  /** How long a "not on the list" answer is reused (ms). */
  negativeTtlMs?: number;
  /** How long a failed lookup is answered "no" before the source is asked again (ms). */
  errorTtlMs?: number;
  /** How long past its TTL an "allowed" answer still stands while the source fails (ms). */
  staleIfErrorMs?: number;
  /** Names remembered at most; the oldest answers are forgotten first. */
  maxEntries?: number;
  /** Called when the source fails (after the answer has been decided). */
  onError?: (err: unknown, host: string, source: string) => void;
}

interface Entry {
  allowed: boolean;
  expires: number;
  /** An allowed answer may stand until then if the source fails. */
  staleUntil: number;
}

export interface DomainCacheStats {
  hits: number;
  misses: number;
  errors: number;
  size: number;
}

export class CachedDomainSource implements DomainSource {
  readonly name: string;
  private readonly entries = new Map<string, Entry>();
  /** One question per name at a time; `forget` drops it, so its late answer is not kept. */
  private readonly inflight = new Map<string, { answer: Promise<boolean> }>();
  private readonly positiveTtl: number;
  private readonly negativeTtl: number;
  private readonly errorTtl: number;
  private readonly staleIfError: number;
  private readonly maxEntries: number;
  private readonly counts = { hits: 0, misses: 0, errors: 0 };

  constructor(
    private readonly source: DomainSource,
    private readonly options: CachedDomainOptions = {},
  ) {
    this.name = source.name;
    this.positiveTtl = options.positiveTtlMs ?? 60_000;
    this.negativeTtl = options.negativeTtlMs ?? 10_000;
    this.errorTtl = options.errorTtlMs ?? 1_000;
    this.staleIfError = options.staleIfErrorMs ?? 3_600_000;
    this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
  }

  /** The remembered answer, if there is a current one (no question asked): the request path's fast way. */
  peek(host: string): boolean | undefined {
    const entry = this.entries.get(host);
    if (entry === undefined || clock.now() >= entry.expires) return undefined;
    this.counts.hits++;
    return entry.allowed;
  }

  lookup(host: string): Promise<boolean> {
    const entry = this.entries.get(host);
    if (entry && clock.now() < entry.expires) {
      this.counts.hits++;
      return Promise.resolve(entry.allowed);
    }
    const running = this.inflight.get(host);
    if (running) {
      this.counts.hits++;
      return running.answer;
    }
    this.counts.misses++;
    const question = { answer: Promise.resolve(false) };
    const current = () => this.inflight.get(host) === question;
    question.answer = this.ask(host, entry, current).finally(() => {
      if (current()) this.inflight.delete(host);
    });
    this.inflight.set(host, question);
    return question.answer;
  }

  /** `current()` turns false once the host is forgotten mid-question: the answer is then not kept. */
  private async ask(host: string, previous: Entry | undefined, current: () => boolean): Promise<boolean> {
    try {
      const allowed = await this.source.lookup(host);
      if (!current()) return allowed;
      const now = clock.now();
      const expires = now + (allowed ? this.positiveTtl : this.negativeTtl);
      this.remember(host, { allowed, expires, staleUntil: allowed ? expires + this.staleIfError : 0 });
      return allowed;
    } catch (err) {
      this.counts.errors++;
      if (!current()) return false;
      const now = clock.now();
      // Keep a recent "yes" through the outage; otherwise "no" for a moment, then ask again.
      const stale = previous !== undefined && previous.allowed && now < previous.staleUntil;
      this.remember(host, { allowed: stale, expires: now + this.errorTtl, staleUntil: stale ? previous.staleUntil : 0 });
      this.options.onError?.(err, host, this.source.name);
      return stale;
    }
  }

  private remember(host: string, entry: Entry): void {
    // Re-inserting moves the host to the young end of the Map's order.
    this.entries.delete(host);
    this.entries.set(host, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /**
   * Forget what is known about `host` (the platform added or removed it): the next question asks the
   * source, and an answer already on its way is not kept (it may predate the change).
   */
  forget(host: string): void {
    this.entries.delete(host);
    this.inflight.delete(host);
  }

  /** Forget every answer (the list may have changed while its notifications could not arrive). */
  clear(): void {
    this.entries.clear();
    this.inflight.clear();
  }

  stats(): DomainCacheStats {
    return { ...this.counts, size: this.entries.size };
  }

  close(): Promise<void> {
    return this.source.close?.() ?? Promise.resolve();
  }
}
