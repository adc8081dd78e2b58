// Every field the config schema accepts, as dotted paths (`sites[].behaviors[].ttl.force`) with
// their type and default, read from the zod schema itself. docs/config.md is checked against this
// list by a test, so the reference cannot drift from what `check-config` accepts.
import { globalRegistry, type z } from 'zod';

export interface FieldInfo {
  path: string;
  type: string;
  /** The default as zod applies it (after transforms: durations in ms, sizes in bytes). */
  default?: unknown;
}

type Def = { type: string; [k: string]: unknown };
const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** What `.meta({ kind })` says a schema is (duration, size, address), if anything. */
function kindOf(schema: z.ZodType): string | undefined {
  return (globalRegistry.get(schema) as { kind?: string } | undefined)?.kind;
}

/** A short type name for a schema, unwrapping optional/default/pipe. */
function typeName(schema: z.ZodType): string {
  const kind = kindOf(schema);
  if (kind !== undefined) return kind;
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
      return typeName(def.innerType as z.ZodType);
    case 'pipe':
      return typeName(def.in as z.ZodType);
    case 'union':
      return [...new Set((def.options as z.ZodType[]).map(typeName))].join(' | ');
    case 'array':
      return `${typeName(def.element as z.ZodType)}[]`;
    case 'record':
      return `map of ${typeName(def.valueType as z.ZodType)}`;
    case 'enum':
      return Object.values(def.entries as Record<string, string>).map((v) => JSON.stringify(v)).join(' | ');
    case 'literal':
      return (def.values as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
    default:
      return def.type;
  }
}

function walk(schema: z.ZodType, path: string, out: Map<string, FieldInfo>, dflt?: unknown): void {
  if (kindOf(schema) !== undefined) {
    out.set(path, { path, type: typeName(schema), ...(dflt !== undefined ? { default: dflt } : {}) });
    return;
  }
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'readonly':
      return walk(def.innerType as z.ZodType, path, out, dflt);
    case 'default':
    case 'prefault': {
      const value = typeof def.defaultValue === 'function' ? (def.defaultValue as () => unknown)() : def.defaultValue;
      return walk(def.innerType as z.ZodType, path, out, value);
    }
    case 'pipe':
      return walk(def.in as z.ZodType, path, out, dflt);
    case 'object': {
      if (path) out.set(path, { path, type: 'object', ...(dflt !== undefined ? { default: dflt } : {}) });
      for (const [key, field] of Object.entries(def.shape as Record<string, z.ZodType>)) walk(field, path ? `${path}.${key}` : key, out);
      return;
    }
    case 'array': {
      out.set(path, { path, type: typeName(schema), ...(dflt !== undefined ? { default: dflt } : {}) });
      const element = defOf(def.element as z.ZodType);
      if (unwrapType(def.element as z.ZodType) === 'object' || element.type === 'union') walkInner(def.element as z.ZodType, `${path}[]`, out);
      return;
    }
    case 'record': {
      out.set(path, { path, type: typeName(schema), ...(dflt !== undefined ? { default: dflt } : {}) });
      walkInner(def.valueType as z.ZodType, `${path}.*`, out);
      return;
    }
    case 'union': {
      const options = def.options as z.ZodType[];
      if (options.some((o) => unwrapType(o) === 'object')) {
        out.set(path, { path, type: typeName(schema), ...(dflt !== undefined ? { default: dflt } : {}) });
        for (const o of options) if (unwrapType(o) === 'object') walkInner(o, path, out);
        return;
      }
      out.set(path, { path, type: typeName(schema), ...(dflt !== undefined ? { default: dflt } : {}) });
      return;
    }
    default:
      out.set(path, { path, type: typeName(schema), ...(dflt !== undefined ? { default: dflt } : {}) });
  }
}

/** The fields inside an element or value schema (an object's fields; nothing for a scalar). */
function walkInner(schema: z.ZodType, path: string, out: Map<string, FieldInfo>): void {
  const def = defOf(schema);
  if (['optional', 'nullable', 'readonly', 'default', 'prefault'].includes(def.type)) return walkInner(def.innerType as z.ZodType, path, out);
  if (def.type === 'pipe') return walkInner(def.in as z.ZodType, path, out);
  if (def.type === 'object') {
    for (const [key, field] of Object.entries(def.shape as Record<string, z.ZodType>)) walk(field, `${path}.${key}`, out);
  } else if (def.type === 'union') {
    for (const o of def.options as z.ZodType[]) walkInner(o, path, out);
  }
}

function unwrapType(schema: z.ZodType): string {
  const def = defOf(schema);
  if (['optional', 'nullable', 'readonly', 'default', 'prefault'].includes(def.type)) return unwrapType(def.innerType as z.ZodType);
  if (def.type === 'pipe') return unwrapType(def.in as z.ZodType);
  return def.type;
}

export function schemaFields(schema: z.ZodType): FieldInfo[] {
  const out = new Map<string, FieldInfo>();
  walk(schema, '', out);
  return [...out.values()];
}
