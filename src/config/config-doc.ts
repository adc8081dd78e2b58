// docs/config.md, the config reference, kept in step with the schema: its tables (field, type,
// default) are rendered from the schema by `npm run docs:config`, which keeps the descriptions and
// the prose already written, and a test fails when the file differs from what would be rendered
// or a field has no description. So the reference can only say what `check-config` accepts.
import { configSchema } from './schema.js';
import { schemaFields, type FieldInfo } from './schema-fields.js';

const MS_UNITS: [number, string][] = [
  [365 * 86_400_000, 'y'],
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'm'],
  [1000, 's'],
];
const SIZE_UNITS: [number, string][] = [
  [1024 ** 4, 'TiB'],
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
];

/** A default as an operator would write it (`5s`, `256MiB`, `["http-01"]`), or — when there is none. */
export function formatDefault(field: FieldInfo): string {
  const v = field.default;
  if (v === undefined) return '—';
  if (field.type.startsWith('duration') && typeof v === 'number') {
    if (v === 0) return '`0s`';
    for (const [n, unit] of MS_UNITS) if (v % n === 0) return `\`${v / n}${unit}\``;
    return `\`${v}ms\``;
  }
  if (field.type.startsWith('size') && typeof v === 'number') {
    for (const [n, unit] of SIZE_UNITS) if (v % n === 0 && v >= n) return `\`${v / n}${unit}\``;
    return `\`${v}\``;
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0) return '`{}`';
  return `\`${JSON.stringify(v)}\``;
}

const escapeCell = (s: string) => s.replace(/\|/g, '\\|');

export interface ParsedDoc {
  /** Everything before the first section. */
  head: string;
  /** Section prose (after its heading, before its table), by top-level field. */
  prose: Map<string, string>;
  descriptions: Map<string, string>;
}

/** Reads the prose and descriptions out of an existing docs/config.md. */
export function parseDoc(text: string): ParsedDoc {
  const lines = text.split('\n');
  const prose = new Map<string, string>();
  const descriptions = new Map<string, string>();
  let head = '';
  let section: string | undefined;
  let buffer: string[] = [];
  const flush = () => {
    if (section !== undefined) prose.set(section, buffer.join('\n').trim());
    else head = buffer.join('\n').trimEnd();
    buffer = [];
  };
  for (const line of lines) {
    const heading = /^## `([^`]+)`/.exec(line);
    if (heading) {
      flush();
      section = heading[1];
      continue;
    }
    const row = /^\| `([^`]+)` \|.*\| (.*) \|$/.exec(line);
    if (row) {
      descriptions.set(row[1]!, row[2]!.replace(/\\\|/g, '|'));
      continue;
    }
    if (/^\|/.test(line)) continue; // table header rows
    buffer.push(line);
  }
  flush();
  return { head, prose, descriptions };
}

/** The reference as it should read, from the schema and what the old file says. */
export function renderDoc(previous: ParsedDoc): { text: string; missing: string[] } {
  const fields = schemaFields(configSchema);
  const sections = new Map<string, FieldInfo[]>();
  for (const f of fields) {
    const top = f.path.split(/[.[]/)[0]!;
    if (!sections.has(top)) sections.set(top, []);
    sections.get(top)!.push(f);
  }
  const missing: string[] = [];
  const out: string[] = [previous.head, ''];
  for (const [top, list] of sections) {
    out.push(`## \`${top}\``, '');
    const prose = previous.prose.get(top);
    if (prose) out.push(prose, '');
    out.push('| field | type | default | what it does |', '|---|---|---|---|');
    for (const f of list) {
      const description = previous.descriptions.get(f.path) ?? '';
      if (description === '') missing.push(f.path);
      out.push(`| \`${f.path}\` | ${escapeCell(f.type)} | ${escapeCell(formatDefault(f))} | ${escapeCell(description)} |`);
    }
    out.push('');
  }
  return { text: out.join('\n'), missing };
}
