// The purges a node accepted while Redis was unreachable, waiting to go out to the other nodes in
// order. With a disk cache they are kept beside it (`purge-queue.jsonl`, next to cluster-state.json)
// so a node restarted during an outage still sends them when Redis returns: one JSON line appended
// per purge (one write), the file rewritten by rename as purges go out. A kill -9 can only tear the
// last line, which is dropped at the next start. A node with only a memory tier keeps them in memory.
import { appendFileSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PURGE_KINDS, type PurgeRequest } from '../cache/purge-target.js';

export interface PurgeQueue {
  readonly length: number;
  /** The oldest purge waiting. */
  peek(): PurgeRequest | undefined;
  push(purge: PurgeRequest): void;
  /** The oldest purge went out. */
  shift(): void;
}

export class MemoryPurgeQueue implements PurgeQueue {
  protected readonly items: PurgeRequest[] = [];
  get length(): number {
    return this.items.length;
  }
  peek(): PurgeRequest | undefined {
    return this.items[0];
  }
  push(purge: PurgeRequest): void {
    this.items.push(purge);
  }
  shift(): void {
    this.items.shift();
  }
}

export type PurgeQueueProblem = 'purge_queue_damaged' | 'purge_queue_unsaved';

/** Purges sent before the file is rewritten without them (a kill before then sends them again: a purge applied twice is harmless). */
const REWRITE_EVERY = 500;

/** A line of the file as a purge, or undefined when it is not one (torn, or written by something else). */
function parseLine(line: string): PurgeRequest | undefined {
  try {
    const p = JSON.parse(line) as Partial<PurgeRequest>;
    if (!PURGE_KINDS.includes(p.kind!) || typeof p.value !== 'string') return undefined;
    return { kind: p.kind!, value: p.value, ...(p.soft === true ? { soft: true } : {}) };
  } catch {
    return undefined;
  }
}

export class FilePurgeQueue extends MemoryPurgeQueue {
  readonly path: string;
  private sent = 0;

  constructor(
    dir: string,
    private readonly onProblem: (problem: PurgeQueueProblem, detail: Record<string, unknown>) => void = () => undefined,
  ) {
    super();
    this.path = join(dir, 'purge-queue.jsonl');
    this.load();
  }

  private load(): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return; // none: nothing was waiting
    }
    const lines = text.split('\n');
    // What follows the last newline is a line whose write was cut short (or nothing).
    const torn = lines.pop()!;
    let dropped = torn === '' ? 0 : 1;
    for (const line of lines) {
      const purge = parseLine(line);
      if (purge === undefined) dropped++;
      else super.push(purge);
    }
    if (dropped > 0) {
      this.onProblem('purge_queue_damaged', { path: this.path, dropped, kept: this.length });
      // Written again whole, so the next append does not continue a torn line.
      this.rewrite();
    }
  }

  override push(purge: PurgeRequest): void {
    super.push(purge);
    try {
      appendFileSync(this.path, `${JSON.stringify(purge)}\n`);
    } catch (err) {
      this.onProblem('purge_queue_unsaved', { path: this.path, purge, err: (err as Error).message });
    }
  }

  override shift(): void {
    super.shift();
    if (this.length === 0 || ++this.sent >= REWRITE_EVERY) this.rewrite();
  }

  /** The file as the queue is now: replaced by rename (whole or not at all), or removed when empty. */
  private rewrite(): void {
    this.sent = 0;
    try {
      if (this.length === 0) return unlinkSync(this.path);
      const tmp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(tmp, this.items.map((p) => `${JSON.stringify(p)}\n`).join(''));
      renameSync(tmp, this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && this.length === 0) return;
      this.onProblem('purge_queue_unsaved', { path: this.path, err: (err as Error).message });
    }
  }
}
