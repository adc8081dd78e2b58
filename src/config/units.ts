// Durations and sizes as operators write them in a config ("5s", "1y", "256MiB"), turned into the
// numbers the code uses (milliseconds, bytes). Plain numbers mean seconds and bytes, as in
// Cache-Control and Content-Length.
import ms from 'ms';
import bytes from 'bytes';

/** "5s" | "10m" | "1y" | 30 (seconds) → milliseconds, or undefined when it does not parse. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  if (trimmed === '') return undefined;
  let out: number | undefined;
  try {
    out = ms(trimmed as ms.StringValue);
  } catch {
    return undefined;
  }
  return typeof out === 'number' && Number.isFinite(out) && out >= 0 ? out : undefined;
}

/** "256MB" | "256MiB" | "1.5GB" | 4096 (bytes) → bytes (1024-based), or undefined. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  // The `bytes` package reads KB/MB/GB as powers of 1024; accept the IEC spelling (MiB) for the same.
  const normalised = value.trim().replace(/([kmgtp])ib$/i, '$1b');
  if (!/^\d+(\.\d+)?\s*([kmgtp]?b)?$/i.test(normalised)) return undefined;
  const out = bytes.parse(normalised);
  return typeof out === 'number' && Number.isFinite(out) && out >= 0 ? Math.floor(out) : undefined;
}
