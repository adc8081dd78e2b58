// Starts a real Edge from a config (validated exactly as a file would be) on 127.0.0.1 and a free
// port, and stops it after the test. The access log is off unless the test asks for it, so it does
// not mix with the test runner's output.
import { validateConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { Edge } from '../../src/edge.js';

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
