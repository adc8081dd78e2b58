// Ordered failover across origins (CloudFront's "origin group", done better): members are tried in
// order; a connection error, a timeout or a status from `failoverOn` moves on to the next member,
// for GET and HEAD only and always before a byte has gone to the client (the group returns only
// once it has a response to hand over). Every member has a Breaker, so a member known to be down is
// skipped without paying its timeout. Whatever member answers, the response is an ordinary
// response to the edge: it is cached like any other (the seed's CloudFront caveat cannot happen).
import { EdgeError } from '../errors.js';
import { Breaker, type BreakerState } from './breaker.js';
import { discardBody, type Origin, type OriginAttempt, type OriginRequest, type OriginResponse } from './origin.js';

export interface OriginGroupOptions {
  failoverOn: number[];
  breaker: { failures: number; cooldown: number; probePath: string };
}

export interface MemberStatus {
  name: string;
  state: BreakerState;
  retryAt: number;
  failures: number;
  successes: number;
  opened: number;
  lastError?: string;
}

const IDEMPOTENT = new Set(['GET', 'HEAD']);

export class OriginGroup implements Origin {
  private readonly failoverOn: ReadonlySet<number>;
  private readonly breakers: Breaker[];
  /** Host last seen on a request, so a probe asks for a page the origin actually serves. */
  private lastHost: string | undefined;

  constructor(
    readonly name: string,
    readonly members: Origin[],
    options: OriginGroupOptions,
  ) {
    this.failoverOn = new Set(options.failoverOn);
    this.breakers = members.map(
      (member) =>
        new Breaker({ failures: options.breaker.failures, cooldownMs: options.breaker.cooldown }, () =>
          this.probe(member, options.breaker.probePath),
        ),
    );
  }

  async fetch(req: OriginRequest, signal?: AbortSignal): Promise<OriginResponse> {
    const host = req.headers['host'];
    if (typeof host === 'string') this.lastHost = host;
    const canFailOver = IDEMPOTENT.has(req.method);
    const attempts: OriginAttempt[] = [];
    const candidates: number[] = [];
    for (let i = 0; i < this.members.length; i++) if (this.breakers[i]!.available) candidates.push(i);
    if (candidates.length === 0) {
      const retryAt = Math.min(...this.breakers.map((b) => b.retryAt));
      const seconds = Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
      throw new EdgeError('origin_unavailable', `(group ${this.name})`, { headers: { 'retry-after': String(seconds) } });
    }

    let lastError: unknown;
    for (let c = 0; c < candidates.length; c++) {
      const index = candidates[c]!;
      const member = this.members[index]!;
      const breaker = this.breakers[index]!;
      const isLast = c === candidates.length - 1 || !canFailOver;
      const started = performance.now();
      let res: OriginResponse;
      try {
        res = await member.fetch(req, signal);
      } catch (err) {
        if (signal?.aborted) throw err;
        const code = err instanceof EdgeError ? err.code : 'origin_connect';
        attempts.push({ member: member.name, outcome: code, ms: performance.now() - started });
        breaker.failure(code);
        lastError = err;
        if (isLast) break;
        continue;
      }
      const failover = this.failoverOn.has(res.status);
      // A 5xx the group was told to fail over on counts against the member's health; a 403 or 404
      // from a bucket is a miss in that bucket, not a sign that it is down.
      if (failover && res.status >= 500) breaker.failure(String(res.status));
      else breaker.success();
      if (failover && !isLast) {
        attempts.push({ member: member.name, outcome: String(res.status), ms: performance.now() - started });
        discardBody(res.body);
        continue;
      }
      attempts.push({ member: member.name, outcome: 'ok', ms: performance.now() - started });
      return { ...res, attempts };
    }
    if (lastError instanceof EdgeError) {
      throw new EdgeError(lastError.code, `(group ${this.name}: ${attempts.map((a) => `${a.member} ${a.outcome}`).join(', ')})`, { cause: lastError });
    }
    throw lastError;
  }

  private async probe(member: Origin, path: string): Promise<boolean> {
    const res = await member.fetch({ method: 'GET', path, headers: { host: this.lastHost ?? 'localhost', 'user-agent': 'blotcdn-probe' } });
    discardBody(res.body);
    return res.status < 500;
  }

  status(): MemberStatus[] {
    return this.members.map((m, i) => {
      const b = this.breakers[i]!;
      return { name: m.name, state: b.state, retryAt: b.retryAt, ...b.totals, lastError: b.lastError };
    });
  }

  async close(): Promise<void> {
    for (const b of this.breakers) b.stop();
    await Promise.all(this.members.map((m) => m.close()));
  }
}
