// What a test file starts and makes — servers, queues, temporary folders — undone in reverse order
// once the file's tests are over (registered with node:test's `after`).
import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Scratch {
  /** Undo this after the tests, before what was registered earlier. */
  defer(undo: () => Promise<unknown>): void;
  /** Undo this after everything else (a shared server the others still use). */
  deferLast(undo: () => Promise<unknown>): void;
  /** A fresh temporary folder, removed afterwards. */
  temp(prefix: string): Promise<string>;
}

export function scratch(): Scratch {
  const undo: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const fn of undo.reverse()) await fn();
  });
  return {
    defer: (fn) => void undo.push(fn),
    deferLast: (fn) => void undo.unshift(fn),
    async temp(prefix) {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      undo.push(() => rm(dir, { recursive: true, force: true }));
      return dir;
    },
  };
}
