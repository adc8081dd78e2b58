// Waits for a condition instead of sleeping a fixed time: polls it until it holds, and fails with
// the message after the deadline (generous: the machine may be busy, the condition is the point).
export async function until(condition: () => boolean | Promise<boolean>, message: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${message}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
