// File operations on one object, one after another: a chain of promises per key (the object's
// digest), dropped as soon as it runs dry, so the map holds only objects with work under way. An
// unlink still pending from a purge can thus never remove the object a later fetch renamed into
// place under the same name.
export class SerialQueue {
  private readonly chains = new Map<string, Promise<unknown>>();

  /** Runs `op` after every operation queued before it for `key` (whether they failed or not). */
  run<T>(key: string, op: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(op, op);
    const tail = next.catch(() => {});
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return next;
  }

  /** Keys with operations under way. */
  get size(): number {
    return this.chains.size;
  }

  /** Resolves once everything queued so far has run. */
  async idle(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }
}

/** Runs `op` over `items`, at most `limit` at a time. */
export async function parallel<T>(items: readonly T[], limit: number, op: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await op(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
