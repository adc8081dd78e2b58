// The Cache-Status response field (RFC 9211): one entry per cache on the path, ours last. The
// words here (hit, fwd reasons, detail) are the same ones used in logs and metrics.

/** RFC 9211 §2.2 forward reasons. */
export type ForwardReason = 'bypass' | 'method' | 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale' | 'partial';

export interface CacheStatus {
  hit?: boolean;
  fwd?: ForwardReason;
  /** Status the origin answered a forwarded request with, when it differs from the response's. */
  fwdStatus?: number;
  stored?: boolean;
  collapsed?: boolean;
  /** Seconds of freshness left (negative when stale), for hits. */
  ttl?: number;
  /** Why it was not stored, or which stale rule served it. */
  detail?: string;
}

export function formatCacheStatus(id: string, s: CacheStatus): string {
  let out = id;
  if (s.hit) out += '; hit';
  if (s.fwd) out += `; fwd=${s.fwd}`;
  if (s.fwdStatus !== undefined) out += `; fwd-status=${s.fwdStatus}`;
  if (s.stored) out += '; stored';
  if (s.collapsed) out += '; collapsed';
  if (s.ttl !== undefined) out += `; ttl=${Math.trunc(s.ttl)}`;
  if (s.detail) out += `; detail=${s.detail}`;
  return out;
}
