// Receipts for purges this member published: which members were alive when it went out, and which
// have acknowledged it since. Every carrier feeds it the acknowledgements it hears; a caller of
// `receipt(timeoutMs)` gets an answer when the last expected member acknowledged or at the deadline,
// whichever comes first. Bounded: at most `max` purges are tracked, each for at most `keepMs`.
import type { Publication, Receipt } from './purge-bus.js';

interface Pending {
  expected: Set<string>;
  acked: Set<string>;
  started: number;
  /** performance.now() of the last acknowledgement that completed or advanced it. */
  last: number;
  wake: (() => void)[];
}

export class Receipts {
  private readonly open = new Map<string, Pending>();

  constructor(
    private readonly max = 10_000,
    private readonly keepMs = 60_000,
  ) {}

  /** Starts tracking `key` (the event's carrier-independent id), expecting these other members. */
  track(key: string, expected: Iterable<string>, started = performance.now()): Publication {
    this.prune(started);
    const pending: Pending = { expected: new Set(expected), acked: new Set(), started, last: started, wake: [] };
    this.open.set(key, pending);
    return { queued: false, receipt: (timeoutMs) => this.wait(pending, timeoutMs) };
  }

  /** Sets who is expected, once known (acknowledgements that came first are kept). */
  expect(key: string, expected: Iterable<string>): void {
    const pending = this.open.get(key);
    if (pending !== undefined) for (const id of expected) pending.expected.add(id);
  }

  /** Records `member`'s acknowledgement of `key` (unknown keys — not ours, or long gone — are ignored). */
  ack(key: string, member: string): void {
    const pending = this.open.get(key);
    if (pending === undefined || pending.acked.has(member)) return;
    pending.acked.add(member);
    pending.last = performance.now();
    if (this.complete(pending)) for (const wake of pending.wake.splice(0)) wake();
  }

  /** Forgets a purge that never went out (the carrier refused it). */
  forget(key: string): void {
    this.open.delete(key);
  }

  get size(): number {
    return this.open.size;
  }

  private complete(p: Pending): boolean {
    for (const id of p.expected) if (!p.acked.has(id)) return false;
    return true;
  }

  private answer(p: Pending, now: number): Receipt {
    const all = new Set([...p.expected, ...p.acked]);
    const missing = [...p.expected].filter((id) => !p.acked.has(id));
    const done = missing.length === 0;
    return { acked: 1 + p.acked.size, nodes: 1 + all.size, ms: (done ? p.last : now) - p.started, queued: false, missing };
  }

  private wait(p: Pending, timeoutMs: number): Promise<Receipt> {
    if (this.complete(p)) return Promise.resolve(this.answer(p, performance.now()));
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        resolve(this.answer(p, performance.now()));
      };
      const timer = setTimeout(() => {
        p.wake = p.wake.filter((w) => w !== finish);
        finish();
      }, timeoutMs);
      p.wake.push(finish);
    });
  }

  private prune(now: number): void {
    for (const [key, p] of this.open) {
      if (this.open.size < this.max && now - p.started < this.keepMs) break; // oldest first (insertion order)
      this.open.delete(key);
    }
  }
}

/** The receipt of a purge that could not go out yet: only this member has it. */
export function queuedPublication(): Publication {
  return { queued: true, receipt: async () => ({ acked: 1, nodes: 1, ms: 0, queued: true, missing: [] }) };
}
