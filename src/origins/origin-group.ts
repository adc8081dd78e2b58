// Ordered failover across origins (CloudFront's "origin group", done better): members are tried in
// order; a connection error, a timeout or a status from `failoverOn` moves on to the next member,
// for GET and HEAD only and always before a byte has gone to the client (the group returns only
// once it has a response to hand over). Every member has a Breaker: a member that cannot be reached
// is skipped while another can answer; when none is left, requests still reach the members as
// bounded trials (see breaker.ts) and the rest are refused at once (the fetch step then serves stale
// where it may). Unsafe methods are never refused by a breaker. Whatever member answers, the
// response is an ordinary response to the edge, cached like any other (the seed's CloudFront caveat
// cannot happen).
import { clock } from '../clock.js';
import { EdgeError } from '../errors.js';
import { Breaker, type BreakerState, type ProbeScheduler } from './breaker.js';
import { discardBody, type Origin, type OriginAttempt, type OriginRequest, type OriginResponse } from './origin.js';

export interface OriginGroupOptions {
  failoverOn: number[];
  breaker: { failures: number; cooldown: number; probePath: string; tripOn?: number[]; trialInterval?: number };
  /** Told when a member goes down or comes back (the event log). */
  onMemberChange?: (group: string, member: string, state: BreakerState, reason: string | undefined) => void;
  /** Where background probes run (the edge's task runner). */
  scheduler?: ProbeScheduler;
}

export interface MemberStatus {
  name: string;
  state: BreakerState;
  retryAt: number;
  failures: number;
  successes: number;
  opened: number;
  trials: number;
  lastError?: string;
}

const IDEMPOTENT = new Set(['GET', 'HEAD']);
/** Errors that say the member could not be reached (or did not speak HTTP): they count against it. */
const REACH_FAILURES: ReadonlySet<string> = new Set(['origin_connect', 'origin_timeout', 'origin_protocol']);

export class OriginGroup implements Origin {
  private readonly failoverOn: ReadonlySet<number>;
  /** Statuses that count against a member's health (none by default: an answer is an answer). */
  private readonly tripOn: ReadonlySet<number>;
  private readonly breakers: Breaker[];
  /** Host last seen on a request, so a probe asks for a page the origin actually serves. */
  private lastHost: string | undefined;

  constructor(
    readonly name: string,
    readonly members: Origin[],
    options: OriginGroupOptions,
  ) {
    this.failoverOn = new Set(options.failoverOn);
    this.tripOn = new Set(options.breaker.tripOn ?? []);
    this.breakers = members.map((member) => {
      const breaker = new Breaker(
        { failures: options.breaker.failures, cooldownMs: options.breaker.cooldown, trialIntervalMs: options.breaker.trialInterval },
        () => this.probe(member, options.breaker.probePath),
        options.scheduler,
        `${name}/${member.name}`,
      );
      if (options.onMemberChange) breaker.onChange = (state, reason) => options.onMemberChange!(name, member.name, state, reason);
      return breaker;
    });
  }

  /** Which members to try, in order: the available ones; else trials of open ones; else none. */
  private candidates(unsafe: boolean): { index: number; trial: boolean }[] {
    const out: { index: number; trial: boolean }[] = [];
    for (let i = 0; i < this.members.length; i++) if (this.breakers[i]!.available) out.push({ index: i, trial: false });
    if (out.length > 0) return out;
    // No member is known to be reachable. An unsafe request goes to the first member anyway (a
    // breaker never refuses one); others go through as bounded trials, or are refused.
    if (unsafe) return [{ index: 0, trial: false }];
    for (let i = 0; i < this.members.length; i++) if (this.breakers[i]!.takeTrial()) return [{ index: i, trial: true }];
    return out;
  }

  async fetch(req: OriginRequest, signal?: AbortSignal): Promise<OriginResponse> {
    const host = req.headers['host'];
    if (typeof host === 'string') this.lastHost = host;
    const canFailOver = IDEMPOTENT.has(req.method);
    const attempts: OriginAttempt[] = [];
    const candidates = this.candidates(!canFailOver);
    if (candidates.length === 0) {
      const retryAt = Math.min(...this.breakers.map((b) => b.retryAt));
      const seconds = Math.max(1, Math.ceil((retryAt - clock.now()) / 1000));
      throw new EdgeError('origin_unavailable', `(group ${this.name})`, { headers: { 'retry-after': String(seconds) } });
    }
    let lastError: unknown;
    for (let c = 0; c < candidates.length; c++) {
      const { index, trial } = candidates[c]!;
      const member = this.members[index]!;
      const breaker = this.breakers[index]!;
      const isLast = c === candidates.length - 1 || !canFailOver;
      const started = performance.now();
      let res: OriginResponse;
      try {
        res = await member.fetch(req, signal);
      } catch (err) {
        if (signal?.aborted) {
          if (trial) breaker.trialAbandoned();
          throw err;
        }
        const code = err instanceof EdgeError ? err.code : 'origin_connect';
        attempts.push({ member: member.name, outcome: code, ms: performance.now() - started });
        if (REACH_FAILURES.has(code)) breaker.failure(code);
        else if (trial) breaker.trialAbandoned();
        lastError = err;
        if (isLast) break;
        continue;
      }
      // Any answer means the member was reached; only statuses the group lists count against it.
      if (this.tripOn.has(res.status)) breaker.failure(String(res.status));
      else breaker.success();
      if (this.failoverOn.has(res.status) && !isLast) {
        attempts.push({ member: member.name, outcome: String(res.status), ms: performance.now() - started });
        discardBody(res.body);
        continue;
      }
      attempts.push({ member: member.name, outcome: 'ok', ms: performance.now() - started });
      return { ...res, attempts };
    }
    if (lastError instanceof EdgeError) {
      throw new EdgeError(lastError.code, `(group ${this.name}: ${attempts.map((a) => `${a.member} ${a.outcome}`).join(', ')})`, { cause: lastError, headers: lastError.headers });
    }
    throw lastError;
  }

  private async probe(member: Origin, path: string): Promise<boolean> {
    const res = await member.fetch({ method: 'GET', path, headers: { host: this.lastHost ?? 'localhost', 'user-agent': 'blotcdn-probe' } });
    discardBody(res.body);
    return !this.tripOn.has(res.status);
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
