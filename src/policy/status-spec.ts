// Status lists as operators write them, like nginx's proxy_cache_valid: "200 301 404", "500-599",
// "5xx", keys of a map whose values say what to do with those statuses (cacheStatuses, errorPages).
// Compiled once into an array indexed by status, so a lookup costs one load.

/** "200 301 404" | "500-599" | "5xx" (spaces or commas between parts) → the statuses, or an error message. */
export function parseStatusSpec(spec: string): number[] | string {
  const out: number[] = [];
  const parts = spec.split(/[\s,]+/).filter(Boolean);
  if (parts.length === 0) return 'no status given';
  for (const part of parts) {
    let m = /^([1-5])xx$/i.exec(part);
    if (m) {
      const base = Number(m[1]) * 100;
      for (let s = base; s < base + 100; s++) out.push(s);
      continue;
    }
    m = /^(\d{3})(?:-(\d{3}))?$/.exec(part);
    if (!m) return `not a status or range: ${JSON.stringify(part)} (try "404", "500-599" or "5xx")`;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from < 100 || to > 599 || from > to) return `not a status range: ${JSON.stringify(part)}`;
    for (let s = from; s <= to; s++) out.push(s);
  }
  return out;
}

/** A map from status specs to values, compiled for lookups by status (the first key naming a status wins). */
export class StatusTable<T> {
  private readonly byStatus: (T | undefined)[] = new Array(600);

  constructor(entries: Iterable<[number[], T]>) {
    for (const [statuses, value] of entries) for (const s of statuses) this.byStatus[s] ??= value;
  }

  get(status: number): T | undefined {
    return status >= 0 && status < 600 ? this.byStatus[status] : undefined;
  }
}
