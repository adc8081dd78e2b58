// The www./apex twin of a host: Blot serves both names for a blog, so purging one purges the other.

export function twinHost(host: string): string | undefined {
  const h = host.trim().toLowerCase();
  if (h === '' || h.includes('/')) return undefined;
  if (h.startsWith('www.')) return h.slice(4) || undefined;
  return `www.${h}`;
}
