// Starts a real Edge from a config (validated exactly as a file would be) on 127.0.0.1 and a free
// port, and stops it after the test.
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { Edge, type EdgeOptions } from '../../src/edge.js';

export interface TestEdge {
  edge: Edge;
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startEdge(config: Omit<ConfigInput, 'listen'> & { listen?: ConfigInput['listen'] }, options?: EdgeOptions): Promise<TestEdge> {
  const edge = new Edge(validateConfig({ listen: { http: '127.0.0.1:0' }, ...config }), options);
  await edge.start();
  const port = edge.httpAddresses[0]!.port;
  return { edge, url: `http://127.0.0.1:${port}`, port, stop: () => edge.stop(1000) };
}

/** The usual single-origin, catch-all config. */
export function simpleConfig(originUrl: string, extra: Partial<ConfigInput> = {}): Omit<ConfigInput, 'listen'> {
  return {
    originGroups: { main: { members: [{ name: 'main', url: originUrl }] } },
    sites: [{ name: 'all', hosts: ['*'], originGroup: 'main' }],
    ...extra,
  };
}
