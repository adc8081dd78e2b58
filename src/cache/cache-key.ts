// The cache key: scheme, host and path, plus the query as the behavior allows. Never a request
// header: variants by header come only from the origin's Vary (see vary.ts). The same query rule
// shapes what is sent to the origin, so a cached response always matches the request that fetched it.
import type { QueryKeyRule } from '../sites/site-table.js';

/** Applies a behavior's query rule: `?a=1&b=2` with allow [b] → `?b=2`. Order is kept. */
export function filterQuery(query: string, rule: QueryKeyRule): string {
  if (query.length <= 1) return '';
  if (rule.mode === 'all') return query;
  if (rule.mode === 'none') return '';
  const kept: string[] = [];
  for (const pair of query.slice(1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    let name = eq < 0 ? pair : pair.slice(0, eq);
    try {
      name = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      // a malformed escape is compared as written
    }
    if (rule.names.has(name)) kept.push(pair);
  }
  return kept.length ? `?${kept.join('&')}` : '';
}

export function primaryKey(scheme: string, host: string, path: string, query: string): string {
  return `${scheme}://${host}${path}${query}`;
}
