// The abuse limits in front of every ACME order, so that no pattern of handshakes can exhaust the
// CA's rate limits (Let's Encrypt: 300 new orders per account per 3 hours, 5 failed validations per
// name per hour) or this node: a sliding budget of orders, a cap on issuances running at once, and
// per-name backoff after a failure (doubling, capped) plus a hard count of failures per name and
// hour. Bookkeeping over an injectable clock, plus a small queue for running slots; one per node.

export interface AcmeLimitOptions {
  /** New orders allowed per `orderWindowMs` (default 300). */
  ordersPerWindow?: number;
  orderWindowMs?: number;
  /** Orders running at once (default 20); more wait their turn, up to `maxQueued`. */
  maxPending?: number;
  /** Orders waiting for a running slot (default 200); beyond that they are refused. */
  maxQueued?: number;
  /** Failed orders allowed per name per `failureWindowMs` (default 5 per hour). */
  failuresPerName?: number;
  failureWindowMs?: number;
  /** Wait after a name's first failure, doubled per further failure up to the max (default 1 min → 1 h). */
  failureBackoffMinMs?: number;
  failureBackoffMaxMs?: number;
  /** Names with failures remembered at most (default 10,000). */
  maxTrackedNames?: number;
}

export type LimitRefusal = 'order-budget' | 'too-many-pending' | 'name-backoff';

export class AcmeLimitError extends Error {
  override name = 'AcmeLimitError';
  constructor(
    readonly host: string,
    readonly reason: LimitRefusal,
    /** When the refused order could be placed at the earliest (ms from now). */
    readonly retryAfterMs: number,
  ) {
    super(`no ACME order for ${host}: ${reason} (retry in ${Math.ceil(retryAfterMs / 1000)} s)`);
  }
}

/** Returned by start(); call finish() exactly once when the order succeeded or failed. */
export interface OrderTicket {
  finish(ok: boolean): void;
  /** Gives the running slot back for an order that was never placed (another limit said no). */
  abandon(): void;
}

interface NameState {
  failures: number[];
  consecutive: number;
  notBefore: number;
}

export class AcmeLimits {
  private readonly ordersPerWindow: number;
  private readonly orderWindow: number;
  private readonly maxPending: number;
  private readonly maxQueued: number;
  private readonly queue: (() => void)[] = [];
  private readonly failuresPerName: number;
  private readonly failureWindow: number;
  private readonly backoffMin: number;
  private readonly backoffMax: number;
  private readonly maxTracked: number;
  private readonly orders: number[] = [];
  private readonly names = new Map<string, NameState>();
  private running = 0;

  constructor(
    options: AcmeLimitOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.ordersPerWindow = options.ordersPerWindow ?? 300;
    this.orderWindow = options.orderWindowMs ?? 3 * 3_600_000;
    this.maxPending = options.maxPending ?? 20;
    this.maxQueued = options.maxQueued ?? 200;
    this.failuresPerName = options.failuresPerName ?? 5;
    this.failureWindow = options.failureWindowMs ?? 3_600_000;
    this.backoffMin = options.failureBackoffMinMs ?? 60_000;
    this.backoffMax = options.failureBackoffMaxMs ?? 3_600_000;
    this.maxTracked = options.maxTrackedNames ?? 10_000;
  }

  /** Why an order for `host` would be refused now (and for how long), or undefined if it may go. */
  check(host: string): { reason: LimitRefusal; retryAfterMs: number } | undefined {
    const now = this.now();
    const state = this.names.get(host);
    if (state && now < state.notBefore) return { reason: 'name-backoff', retryAfterMs: state.notBefore - now };
    this.prune(now);
    if (this.orders.length >= this.ordersPerWindow) return { reason: 'order-budget', retryAfterMs: this.orders[0]! + this.orderWindow - now };
    return undefined;
  }

  /**
   * Waits for a running slot, then spends one order from the budget; throws AcmeLimitError when a
   * limit refuses (checked again after the wait: the budget may have gone meanwhile).
   */
  async start(host: string): Promise<OrderTicket> {
    this.refuseIfLimited(host);
    if (this.running >= this.maxPending) {
      if (this.queue.length >= this.maxQueued) throw new AcmeLimitError(host, 'too-many-pending', 1_000);
      await new Promise<void>((resolve) => this.queue.push(resolve));
      // The slot was handed to us by finish(): running already counts it.
      try {
        this.refuseIfLimited(host);
      } catch (err) {
        this.release();
        throw err;
      }
    } else {
      this.running++;
    }
    this.orders.push(this.now());
    let finished = false;
    return {
      finish: (ok) => {
        if (finished) return;
        finished = true;
        this.release();
        if (ok) this.names.delete(host);
        else this.recordFailure(host);
      },
      abandon: () => {
        if (finished) return;
        finished = true;
        this.release();
      },
    };
  }

  private refuseIfLimited(host: string): void {
    const refusal = this.check(host);
    if (refusal) throw new AcmeLimitError(host, refusal.reason, refusal.retryAfterMs);
  }

  /** Frees a running slot, handing it straight to the next waiter if there is one. */
  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.running--;
  }

  private recordFailure(host: string): void {
    const now = this.now();
    const state = this.names.get(host) ?? { failures: [], consecutive: 0, notBefore: 0 };
    state.failures = state.failures.filter((t) => t > now - this.failureWindow);
    state.failures.push(now);
    state.consecutive++;
    let notBefore = now + Math.min(this.backoffMax, this.backoffMin * 2 ** (state.consecutive - 1));
    // The hard count: with the allowance spent, wait until the oldest failure leaves the window.
    if (state.failures.length >= this.failuresPerName) notBefore = Math.max(notBefore, state.failures[state.failures.length - this.failuresPerName]! + this.failureWindow);
    state.notBefore = notBefore;
    this.names.delete(host);
    this.names.set(host, state);
    while (this.names.size > this.maxTracked) this.names.delete(this.names.keys().next().value as string);
  }

  /** Clears a name's failures (an operator asked for it, e.g. `blotcdn certs issue`). */
  forgive(host: string): void {
    this.names.delete(host);
  }

  private prune(now: number): void {
    let drop = 0;
    while (drop < this.orders.length && this.orders[drop]! <= now - this.orderWindow) drop++;
    if (drop > 0) this.orders.splice(0, drop);
  }

  stats(): { pending: number; queued: number; ordersInWindow: number; namesBackingOff: number } {
    const now = this.now();
    this.prune(now);
    let backingOff = 0;
    for (const s of this.names.values()) if (now < s.notBefore) backingOff++;
    return { pending: this.running, queued: this.queue.length, ordersInWindow: this.orders.length, namesBackingOff: backingOff };
  }
}
