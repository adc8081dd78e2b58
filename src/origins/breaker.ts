// Health memory for one origin member (a circuit breaker). Health is about reaching the member —
// refused or reset connections, TLS failures, connect and header timeouts — not about what it chose
// to answer: a site's 500s are that site's, and must not take every other site on the same origin
// down (only statuses the group lists in `tripOn` count). After `failures` consecutive failures the
// breaker opens: the group skips the member while another member can answer, and a background
// probe asks it whether it is back. When no member is left, real requests still go through as
// trials, one at a time and at most one per `trialInterval` (half-open), so a member that comes
// back takes traffic again at once, and a dead one costs one timeout per interval, not one per
// request.
import { clock } from '../clock.js';
import { TaskRunner } from '../tasks/task-runner.js';

/** Where probes are scheduled (the edge's task runner; a private one when a breaker stands alone). */
export type ProbeScheduler = Pick<TaskRunner, 'at'>;

export type BreakerState = 'closed' | 'open';

export interface BreakerOptions {
  failures: number;
  cooldownMs: number;
  /** Longest wait between probes while the member stays down (the cooldown doubles up to it). */
  maxCooldownMs?: number;
  /** While open and the last resort: at most one trial request per this many ms. */
  trialIntervalMs?: number;
}

export class Breaker {
  private consecutive = 0;
  private openedAt = 0;
  private cooldownMs: number;
  private cancelProbe: (() => void) | undefined;
  private trialInFlight = false;
  private lastTrialAt = 0;
  state: BreakerState = 'closed';
  /** Counters for the admin API and metrics. */
  readonly totals = { failures: 0, successes: 0, opened: 0, trials: 0 };
  lastError: string | undefined;
  /** Told when the state changes (the event log says when a member goes down or comes back). */
  onChange: ((state: BreakerState, reason: string | undefined) => void) | undefined;

  constructor(
    private readonly options: BreakerOptions,
    /** Resolves true when the member answered well enough to take traffic again. */
    private readonly probe: () => Promise<boolean>,
    private readonly scheduler: ProbeScheduler = new TaskRunner(),
    /** Names this breaker's probe task (group/member). */
    private readonly probeKey = 'member',
  ) {
    this.cooldownMs = options.cooldownMs;
  }

  get available(): boolean {
    return this.state === 'closed';
  }

  /** Until when (epoch ms) the member is expected to stay skipped; 0 while closed. */
  get retryAt(): number {
    if (this.state !== 'open') return 0;
    return Math.min(this.openedAt + this.cooldownMs, this.lastTrialAt + this.trialIntervalMs);
  }

  private get trialIntervalMs(): number {
    return this.options.trialIntervalMs ?? Math.min(1000, this.options.cooldownMs);
  }

  /**
   * While open: may one client request go to the member as a trial now? At most one at a time and
   * one per trial interval; the caller reports the outcome with `success` or `failure`.
   */
  takeTrial(): boolean {
    if (this.state !== 'open' || this.trialInFlight) return false;
    const now = clock.now();
    if (now < this.lastTrialAt + this.trialIntervalMs) return false;
    this.trialInFlight = true;
    this.lastTrialAt = now;
    this.totals.trials++;
    return true;
  }

  success(): void {
    this.totals.successes++;
    this.consecutive = 0;
    this.trialInFlight = false;
    if (this.state === 'open') this.close();
  }

  failure(reason: string): void {
    this.totals.failures++;
    this.lastError = reason;
    this.consecutive++;
    this.trialInFlight = false;
    if (this.state === 'closed' && this.consecutive >= this.options.failures) this.open(reason);
  }

  /** A trial that ended without telling anything about the member (the client went away). */
  trialAbandoned(): void {
    this.trialInFlight = false;
  }

  private open(reason: string): void {
    this.state = 'open';
    this.totals.opened++;
    this.openedAt = clock.now();
    this.lastTrialAt = this.openedAt;
    this.scheduleProbe();
    this.onChange?.('open', reason);
  }

  private close(): void {
    this.state = 'closed';
    this.consecutive = 0;
    this.cooldownMs = this.options.cooldownMs;
    this.cancelProbe?.();
    this.onChange?.('closed', undefined);
  }

  private scheduleProbe(): void {
    this.cancelProbe?.();
    this.cancelProbe = this.scheduler.at('origin-probe', this.probeKey, clock.now() + this.cooldownMs, () => this.runProbe());
  }

  private async runProbe(): Promise<void> {
    let healthy = false;
    try {
      healthy = await this.probe();
    } catch (err) {
      this.lastError = (err as Error).message;
    }
    if (this.state !== 'open') return;
    if (healthy) {
      this.close();
      return;
    }
    this.cooldownMs = Math.min(this.cooldownMs * 2, this.options.maxCooldownMs ?? this.options.cooldownMs * 8);
    this.openedAt = clock.now();
    this.scheduleProbe();
  }

  stop(): void {
    this.cancelProbe?.();
  }
}
