// Health memory for one origin member (a circuit breaker). After `failures` consecutive failures the
// member is skipped; after a cooldown a background probe decides whether it is back. Client requests
// never serve as probes, so a dead primary costs one timeout in total, not one per request.

export type BreakerState = 'closed' | 'open';

export interface BreakerOptions {
  failures: number;
  cooldownMs: number;
  /** Longest wait between probes while the member stays down (the cooldown doubles up to it). */
  maxCooldownMs?: number;
}

export class Breaker {
  private consecutive = 0;
  private openedAt = 0;
  private cooldownMs: number;
  private probeTimer: NodeJS.Timeout | undefined;
  state: BreakerState = 'closed';
  /** Counters for the admin API and metrics. */
  readonly totals = { failures: 0, successes: 0, opened: 0 };
  lastError: string | undefined;

  constructor(
    private readonly options: BreakerOptions,
    /** Resolves true when the member answered well enough to take traffic again. */
    private readonly probe: () => Promise<boolean>,
  ) {
    this.cooldownMs = options.cooldownMs;
  }

  get available(): boolean {
    return this.state === 'closed';
  }

  /** Until when (epoch ms) the member is expected to stay skipped; 0 while closed. */
  get retryAt(): number {
    return this.state === 'open' ? this.openedAt + this.cooldownMs : 0;
  }

  success(): void {
    this.totals.successes++;
    this.consecutive = 0;
  }

  failure(reason: string): void {
    this.totals.failures++;
    this.lastError = reason;
    this.consecutive++;
    if (this.state === 'closed' && this.consecutive >= this.options.failures) this.open();
  }

  private open(): void {
    this.state = 'open';
    this.totals.opened++;
    this.openedAt = Date.now();
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => void this.runProbe(), this.cooldownMs);
    this.probeTimer.unref();
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
      this.state = 'closed';
      this.consecutive = 0;
      this.cooldownMs = this.options.cooldownMs;
      return;
    }
    this.cooldownMs = Math.min(this.cooldownMs * 2, this.options.maxCooldownMs ?? this.options.cooldownMs * 8);
    this.openedAt = Date.now();
    this.scheduleProbe();
  }

  stop(): void {
    clearTimeout(this.probeTimer);
  }
}
