// Holding an origin's answers until the test lets them go. A test sees what clients get while a
// fetch is still at the origin, and shows "answered without waiting for the origin" by the gate
// still holding the origin's answer when the client already has its own — never by timing.
export class Gate {
  private waiting: (() => void)[] = [];
  private isOpen: boolean;

  constructor(open = false) {
    this.isOpen = open;
  }

  /** Runs `answer` now if the gate is open, else once it opens. */
  pass(answer: () => void): void {
    if (this.isOpen) answer();
    else this.waiting.push(answer);
  }

  /** Resolves when the gate lets this caller through (for handlers that answer in stages). */
  wait(): Promise<void> {
    return new Promise((resolve) => this.pass(resolve));
  }

  /** Lets everything held through, and everything after, until `shut()`. */
  open(): void {
    this.isOpen = true;
    for (const answer of this.waiting.splice(0)) answer();
  }

  /** Holds what comes from now on. */
  shut(): void {
    this.isOpen = false;
  }

  /** Answers being held right now. */
  get held(): number {
    return this.waiting.length;
  }
}
