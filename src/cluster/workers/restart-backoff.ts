// When to restart a worker that died: at once-ish the first time, then doubling while it keeps
// dying soon after starting (a crash loop must not spin the CPU or flood the log), back to the
// shortest delay once a worker has stayed up a while.

export class RestartBackoff {
  private delay: number;

  constructor(
    private readonly minMs = 100,
    private readonly maxMs = 10_000,
    /** A worker that ran this long before dying is restarted after minMs again. */
    private readonly stableMs = 30_000,
  ) {
    this.delay = minMs;
  }

  /** The delay before restarting a worker that ran for `ranMs`. */
  next(ranMs: number): number {
    if (ranMs >= this.stableMs) this.delay = this.minMs;
    const now = this.delay;
    this.delay = Math.min(this.maxMs, this.delay * 2);
    return now;
  }
}
