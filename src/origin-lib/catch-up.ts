// Reading what other processes appended to a shared file, without piling up reads: concurrent calls
// share one run of the task, and a call made while it runs causes one more run after it, so every
// caller sees everything written before it called. (The file manifest and the job journal both
// follow files this way.)

export interface CatchUp {
  (): Promise<void>;
  /** The run under way, if any (to wait for it before closing). */
  readonly running: Promise<void> | undefined;
}

export function catchUp(task: () => Promise<void>): CatchUp {
  let running: Promise<void> | undefined;
  let again = false;
  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await task();
        } while (again);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  return Object.defineProperty(run, 'running', { get: () => running }) as CatchUp;
}
