// The Host a client asked for, reduced to the name the edge routes on: lower case, no port, no
// trailing dot. Anything that is not a plausible host name is refused here, before it can reach a
// cache key, a log line or a certificate order.

const HOST_CHARS = /^[a-z0-9._-]+$/;

/**
 * `Example.COM:8080` → `example.com`; `[::1]:80` → `[::1]`. Returns undefined for values that are not
 * a host (empty, too long, spaces, slashes, `@`, control characters…).
 */
export function normaliseHost(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.length === 0 || raw.length > 255) return undefined;
  let host = raw.toLowerCase();
  if (host.charCodeAt(0) === 91 /* [ */) {
    const end = host.indexOf(']');
    if (end < 0 || !/^\[[0-9a-f:.]+\]$/.test(host.slice(0, end + 1))) return undefined;
    const rest = host.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  if (colon >= 0) {
    if (!/^\d{1,5}$/.test(host.slice(colon + 1))) return undefined;
    host = host.slice(0, colon);
  }
  if (host.includes('..')) return undefined;
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0 || !HOST_CHARS.test(host) || host.startsWith('.')) return undefined;
  return host;
}
