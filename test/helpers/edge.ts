// Starts a real Edge from a config (validated exactly as a file would be) on 127.0.0.1 and a free
// port, and stops it after the test. The access log is off unless the test asks for it, so it does
// not mix with the test runner's output.
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { Edge } from '../../src/edge.js';
import { waitFor } from './wait.js';

export interface TestEdge {
  edge: Edge;
  url: string;
  port: number;
  /** The admin API's base URL, when the config has one. */
  adminUrl?: string;
  stop(): Promise<void>;
}

export async function startEdge(config: Omit<ConfigInput, 'listen'> & { listen?: ConfigInput['listen'] }): Promise<TestEdge> {
  const edge = new Edge(validateConfig({ listen: { http: '127.0.0.1:0' }, log: { access: 'off', events: 'off' }, ...config }));
  await edge.start();
  const port = edge.httpAddresses[0]!.port;
  const admin = edge.admin?.address;
  return { edge, url: `http://127.0.0.1:${port}`, port, adminUrl: admin ? `http://127.0.0.1:${admin.port}` : undefined, stop: () => edge.stop(1000) };
}

/** The usual single-origin, catch-all config. */
export function simpleConfig(originUrl: string, extra: Partial<ConfigInput> = {}): Omit<ConfigInput, 'listen'> {
  return {
    originGroups: { main: { members: [{ name: 'main', url: originUrl }] } },
    sites: [{ name: 'all', hosts: ['*'], originGroup: 'main' }],
    ...extra,
  };
}

/**
 * Waits until the edge has nothing left to do in the background: no origin fetch under way (every
 * object fetched so far is committed to the store, or given up) and no compressed copy being made.
 * A client has its whole body a moment before the commit, so a test that next reads the store,
 * purges it or restarts on it waits for this instead of sleeping.
 */
export function settled(edge: TestEdge): Promise<void> {
  const { cache, compressor } = edge.edge.runtime;
  return waitFor(() => cache.flights.size === 0 && (compressor?.pending ?? 0) === 0, 'the fetches and compressions under way to finish');
}
