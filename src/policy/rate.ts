// Request rates as operators write them: "20/s", "1200/m", "10000/h" → requests per millisecond.
const UNIT_MS: Record<string, number> = { s: 1000, sec: 1000, second: 1000, m: 60_000, min: 60_000, minute: 60_000, h: 3_600_000, hour: 3_600_000 };

export function parseRate(value: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*([a-z]+)\s*$/i.exec(value);
  if (!m) return undefined;
  const unit = UNIT_MS[m[2]!.toLowerCase()];
  const n = Number(m[1]);
  if (unit === undefined || !(n > 0)) return undefined;
  return n / unit;
}
