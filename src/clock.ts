// Time, from one place. Everything that decides by the wall clock — freshness, breakers, purge
// holds, rate limits, hit-for-miss marks, whether a certificate is still valid or due for renewal —
// asks `clock.now()`, so a test can move time forward (`useManualClock().advance(ms)`) instead of
// sleeping, and a decision never depends on how busy the machine was. (Timeouts and durations,
// and expiry kept by a store itself, such as Redis's PX, stay on real time.)

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

const systemNow = (): number => Date.now();

/** The clock the edge reads. Swapped only by tests, through `useManualClock`. */
export const clock: Clock = { now: systemNow };

export interface ManualClock extends Clock {
  /** Moves time forward by `ms`. */
  advance(ms: number): void;
  /** Back to the system clock. */
  restore(): void;
}

/**
 * Makes `clock.now()` return a time that only moves when told to (starting at the real time plus
 * whatever was advanced so far). For tests: the edge runs in the test's process.
 */
export function useManualClock(start = Date.now()): ManualClock {
  let t = start;
  clock.now = () => t;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
    restore() {
      clock.now = systemNow;
    },
  };
}
