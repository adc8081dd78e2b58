// The edge's one runner of background work: named tasks, deduplicated by key while one runs (two
// stale hits start one refresh; two requests for the same compressed copy make one), each name
// with its own concurrency limit, and timed tasks (breaker probes, certificate renewal checks,
// ticket-key rotation, stats sampling) on one timer for the earliest due — nothing else in the edge
// starts its own timer loop. Due times are read from the edge's clock, so a test that advances a
// manual clock runs what became due with `runDue()`. Counts per name are shown by GET /tasks and
// the metrics.
import { clock } from '../clock.js';

export interface TaskCounts {
  name: string;
  running: number;
  queued: number;
  scheduled: number;
  done: number;
  failed: number;
  lastError?: string;
}

interface Timed {
  name: string;
  key: string;
  due: number;
  fn: () => Promise<unknown> | unknown;
  /** Periodic: due again this long after each run. */
  every?: number;
  cancelled: boolean;
}

export class TaskRunner {
  private readonly running = new Map<string, Promise<unknown>>();
  private readonly queues = new Map<string, (() => void)[]>();
  private readonly active = new Map<string, number>();
  private readonly counts = new Map<string, TaskCounts>();
  private timed: Timed[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private stopped = false;

  /** `concurrency`: most tasks of a name running at once (unlimited when not given). */
  constructor(private readonly concurrency: Record<string, number> = {}) {}

  private countsOf(name: string): TaskCounts {
    let c = this.counts.get(name);
    if (c === undefined) this.counts.set(name, (c = { name, running: 0, queued: 0, scheduled: 0, done: 0, failed: 0 }));
    return c;
  }

  /**
   * Runs `fn` as task `name` for `key`, unless one is running for that key already: then its
   * promise is returned. Waits for a free slot when the name's concurrency is reached.
   */
  run<T>(name: string, key: string, fn: () => Promise<T> | T): Promise<T> {
    const id = `${name}\u0000${key}`;
    const existing = this.running.get(id);
    if (existing !== undefined) return existing as Promise<T>;
    const counts = this.countsOf(name);
    const p = this.slot(name, counts)
      .then(async () => {
        counts.running++;
        try {
          const out = await fn();
          counts.done++;
          return out;
        } catch (err) {
          counts.failed++;
          counts.lastError = (err as Error)?.message ?? String(err);
          throw err;
        } finally {
          counts.running--;
          this.release(name);
        }
      })
      .finally(() => this.running.delete(id));
    this.running.set(id, p);
    return p;
  }

  /** Whether a task runs (or waits for a slot) for this key. */
  isRunning(name: string, key: string): boolean {
    return this.running.has(`${name}\u0000${key}`);
  }

  private slot(name: string, counts: TaskCounts): Promise<void> {
    const limit = this.concurrency[name] ?? Infinity;
    const active = this.active.get(name) ?? 0;
    if (active < limit) {
      this.active.set(name, active + 1);
      return Promise.resolve();
    }
    counts.queued++;
    return new Promise((resolve) => {
      let queue = this.queues.get(name);
      if (queue === undefined) this.queues.set(name, (queue = []));
      queue.push(() => {
        counts.queued--;
        resolve();
      });
    });
  }

  private release(name: string): void {
    const next = this.queues.get(name)?.shift();
    if (next) next(); // the slot passes straight to the next task
    else this.active.set(name, (this.active.get(name) ?? 1) - 1);
  }

  /** Runs `fn` as task `name`/`key` once, at `due` (epoch ms, the edge's clock). Returns a cancel. */
  at(name: string, key: string, due: number, fn: () => Promise<unknown> | unknown): () => void {
    return this.add({ name, key, due, fn, cancelled: false });
  }

  /** Runs `fn` as task `name` every `intervalMs`, the first time one interval from now. */
  every(name: string, intervalMs: number, fn: () => Promise<unknown> | unknown): () => void {
    return this.add({ name, key: name, due: clock.now() + intervalMs, fn, every: intervalMs, cancelled: false });
  }

  private add(task: Timed): () => void {
    this.countsOf(task.name).scheduled++;
    this.timed.push(task);
    this.timed.sort((a, b) => a.due - b.due);
    this.arm();
    return () => {
      if (task.cancelled) return;
      task.cancelled = true;
      this.countsOf(task.name).scheduled--;
      this.timed = this.timed.filter((t) => t !== task);
      this.arm();
    };
  }

  /** One timer, for the earliest due task. */
  private arm(): void {
    if (this.stopped) return;
    const first = this.timed[0];
    if (first === undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerDue = Infinity;
      return;
    }
    if (this.timer !== undefined && this.timerDue <= first.due) return;
    clearTimeout(this.timer);
    this.timerDue = first.due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDue = Infinity;
      this.runDue();
    }, Math.max(0, first.due - clock.now()));
    this.timer.unref();
  }

  /** Starts every timed task whose time has come; returns how many. */
  runDue(): number {
    const now = clock.now();
    let started = 0;
    while (this.timed.length > 0 && this.timed[0]!.due <= now) {
      const task = this.timed.shift()!;
      started++;
      if (task.every !== undefined) {
        task.due = now + task.every;
        this.timed.push(task);
        this.timed.sort((a, b) => a.due - b.due);
      } else {
        // Ran: a cancel that comes later (a breaker rescheduling its probe from inside it) is a no-op.
        task.cancelled = true;
        this.countsOf(task.name).scheduled--;
      }
      void this.run(task.name, task.key, task.fn).catch(() => {});
    }
    this.arm();
    return started;
  }

  /** Counts per task name, for the admin API and the metrics. */
  stats(): TaskCounts[] {
    return [...this.counts.values()].map((c) => ({ ...c }));
  }

  /** No timed task runs any more (tasks already running finish). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timed = [];
  }
}
