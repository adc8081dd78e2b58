// `blotcdn demo` (what `npm start` runs): the bundled demo blog as the origin, the edge in front of
// it, and one line per request on each side so a newcomer sees misses become hits.
import { startDemoOrigin } from '../demo/origin-server.js';
import { validateConfig } from '../config/load.js';
import type { EdgeConfig } from '../config/schema.js';
import type { Edge } from '../edge.js';
import { formatCacheStatus } from '../http/cache-status.js';

/** The demo's edge: every host in front of the demo blog; assets for a year, pages for a minute. */
export function demoConfig(originUrl: string, listen: string, adminListen: string): EdgeConfig {
  return validateConfig(
    {
      listen: { http: listen },
      admin: { listen: adminListen },
      log: { access: 'off' },
      originGroups: { blog: { members: [{ name: 'demo-blog', url: originUrl }] } },
      sites: [
        {
          name: 'demo',
          hosts: ['*'],
          originGroup: 'blog',
          behaviors: [{ path: '/assets/*', ttl: { min: '1y' } }, { path: '*', ttl: { default: '1m' } }],
        },
      ],
    },
    '(demo)',
  );
}

export async function runDemo(listen: string, adminListen: string, runEdge: (config: EdgeConfig, onStarted?: (edge: Edge) => void) => Promise<void>): Promise<void> {
  const origin = await startDemoOrigin({
    onRequest: (method, path, status) => console.log(`  origin ← ${method} ${path} ${status}`),
  });
  const config = demoConfig(origin.url, listen, adminListen);
  await runEdge(config, (edge) => {
    edge.runtime.accessLog = (ctx) => {
      const ms = (performance.now() - ctx.started).toFixed(1);
      console.log(`  edge   ${ctx.method} ${ctx.path}${ctx.query} ${ctx.status} ${formatCacheStatus('', ctx.cacheStatus).replace(/^; /, '')} ${ms} ms`);
    };
    const a = edge.httpAddresses[0]!;
    console.log(
      [
        '',
        'blotcdn demo: a small blog (the origin) with the edge in front of it.',
        `  origin: ${origin.url}  (answers after 150 ms; each request it gets is printed as "origin ←")`,
        `  edge:   http://${a.address}:${a.port}  ← open this, then reload: the first load is a miss, the next ones hits`,
        `  try:    curl -sI http://${a.address}:${a.port}/ | grep -i cache-status   (twice)`,
        `  admin:  http://${edge.admin?.address?.address}:${edge.admin?.address?.port}/dashboard  (hit ratio, misses, origins, purges)`,
        '',
      ].join('\n'),
    );
  });
}
