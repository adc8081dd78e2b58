// What a node must remember across restarts to know whether its cache can be trusted: the purge
// stream's epoch and the last entry it applied, and the time before which it trusts nothing it
// holds (set when it missed purges it can no longer read). Kept beside the disk cache, whose
// objects it vouches for, in one small JSON file written by rename so it is whole or absent.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clock } from '../clock.js';

export interface ClusterState {
  /** The purge stream's epoch (a Redis that lost its data starts a new one). */
  epoch?: string;
  /** Last purge stream entry applied here. */
  position?: string;
  /** Epoch ms: objects stored before it are not served. 0: none distrusted. */
  floor: number;
}

export interface ClusterStateStore {
  load(): ClusterState;
  save(state: ClusterState): void;
}

/** In memory only: a node without a disk cache starts empty, so it has nothing to vouch for. */
export class MemoryClusterState implements ClusterStateStore {
  private state: ClusterState = { floor: 0 };
  load(): ClusterState {
    return { ...this.state };
  }
  save(state: ClusterState): void {
    this.state = { ...state };
  }
}

export class FileClusterState implements ClusterStateStore {
  readonly path: string;
  constructor(dir: string) {
    this.path = join(dir, 'cluster-state.json');
  }

  load(): ClusterState {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return { floor: 0 };
    }
    try {
      const parsed = JSON.parse(text) as Partial<ClusterState>;
      return {
        ...(typeof parsed.epoch === 'string' ? { epoch: parsed.epoch } : {}),
        ...(typeof parsed.position === 'string' ? { position: parsed.position } : {}),
        floor: typeof parsed.floor === 'number' ? parsed.floor : 0,
      };
    } catch {
      // Unreadable: nothing it vouched for can be trusted.
      return { floor: clock.now() };
    }
  }

  save(state: ClusterState): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state));
    renameSync(tmp, this.path);
  }
}
