// Calls to an edge's admin API from the origin side (POST /purge, POST /warm), with Node's own
// fetch so `blotcdn/origin` loads no HTTP library. Any failure — unreachable, timed out, refused —
// is an AssetError('edge_failed') naming the edge, and is retried by the job that made the call.
import { AssetError } from '../asset-error.js';

export interface EdgeTarget {
  /** The edge's admin API, e.g. `http://10.0.0.5:8081`. */
  admin: string;
  /** Its bearer token (admin.token). */
  token?: string;
}

/** One URL's warm on one edge, as the edge's POST /warm answers it. */
export interface WarmOutcome {
  url: string;
  result: 'hit' | 'stored' | 'not-stored' | 'error';
  status?: number;
  error?: string;
}

export async function adminCall<T>(edge: EdgeTarget, path: string, body: unknown, timeoutMs = 30_000): Promise<T> {
  const url = new URL(path, edge.admin);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(edge.token ? { authorization: `Bearer ${edge.token}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const reason = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new AssetError('edge_failed', `the edge at ${edge.admin} cannot be reached for ${path}: ${reason}`, { cause: err });
  }
  const text = await res.text();
  if (!res.ok) {
    let reason = text.slice(0, 200);
    try {
      const body = JSON.parse(text) as { code?: string; message?: string };
      if (body.message) reason = body.code ? `${body.code}: ${body.message}` : body.message;
    } catch {
      // not JSON: the text itself says it
    }
    throw new AssetError('edge_failed', `the edge at ${edge.admin} answered ${path} with ${res.status}: ${reason}`);
  }
  return JSON.parse(text) as T;
}

/** POST /purge on one edge; resolves with the objects it purged. */
export async function purgeOn(edge: EdgeTarget, what: { url?: string[]; host?: string[]; tag?: string[] }, soft: boolean): Promise<number> {
  const body = Object.fromEntries(Object.entries(what).filter(([, v]) => v !== undefined && v.length > 0));
  if (Object.keys(body).length === 0) return 0;
  return (await adminCall<{ purged: number }>(edge, '/purge', { ...body, soft })).purged;
}

/** POST /warm on one edge: each URL fetched through its cache, results in order. */
export async function warmOn(edge: EdgeTarget, urls: string[], concurrency: number): Promise<WarmOutcome[]> {
  const { results } = await adminCall<{ results: WarmOutcome[] }>(edge, '/warm', { urls, concurrency }, 120_000);
  return results;
}
