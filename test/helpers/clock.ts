// The edge's clock under a test's control, for one test: time moves only by `clock.advance(ms)`,
// and the real clock is back when the test ends (even when it fails).
import { useManualClock, type ManualClock } from '../../src/clock.js';

export function manualClock(t: { after(fn: () => void): void }): ManualClock {
  const clock = useManualClock();
  t.after(() => clock.restore());
  return clock;
}
