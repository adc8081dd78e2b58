// Header rules from the config (`requestHeaders`, `responseHeaders`): set, add and remove fields,
// with a few variables in values ({client_ip}, {request_id}, {host}, {scheme}). A site's rules and
// its behavior's are merged once, at build time, into one plan — which fields to drop, which values
// to append — so applying them to a hit is one pass over its header list and a few pushes.
import type { HeaderMap } from '../http/headers.js';

export interface HeaderRulesInput {
  set?: Record<string, string>;
  add?: Record<string, string | string[]>;
  remove?: string[];
}

/** What a value may refer to, read only when a value uses it. */
export interface RuleVariables {
  readonly clientIp: string;
  readonly requestId: string;
  readonly host: string;
  readonly scheme: string;
}

export const VARIABLES = ['client_ip', 'request_id', 'host', 'scheme'] as const;
const READ: Record<(typeof VARIABLES)[number], (v: RuleVariables) => string> = {
  client_ip: (v) => v.clientIp,
  request_id: (v) => v.requestId,
  host: (v) => v.host,
  scheme: (v) => v.scheme,
};

type Template = string | ((v: RuleVariables) => string);

/** `"{client_ip}, x"` → a function (or the string itself when it names no variable); unknown names throw. */
export function compileTemplate(value: string): Template {
  if (!value.includes('{')) return value;
  const parts: Template[] = [];
  let last = 0;
  for (const m of value.matchAll(/\{([a-z_]+)\}/g)) {
    const read = READ[m[1] as keyof typeof READ];
    if (read === undefined) throw new Error(`unknown variable {${m[1]}} (known: ${VARIABLES.map((v) => `{${v}}`).join(', ')})`);
    if (m.index! > last) parts.push(value.slice(last, m.index));
    parts.push(read);
    last = m.index! + m[0].length;
  }
  if (last < value.length) parts.push(value.slice(last));
  if (parts.length === 1 && typeof parts[0] === 'function') return parts[0];
  return (v) => parts.map((p) => (typeof p === 'string' ? p : p(v))).join('');
}

const render = (t: Template, v: RuleVariables): string => (typeof t === 'string' ? t : t(v));

export class HeaderRules {
  /** Fields removed or replaced (lower case). */
  private readonly drop: ReadonlySet<string>;
  /** Values appended after the kept fields, in config order. */
  private readonly append: [string, Template][];

  private constructor(drop: Set<string>, append: [string, Template][]) {
    this.drop = drop;
    this.append = append;
  }

  /**
   * Merges rule layers (a site's, then its behavior's): a later `set` or `remove` replaces what an
   * earlier layer set or added; `add` appends. Undefined when nothing is left to do.
   */
  static compile(layers: (HeaderRulesInput | undefined)[]): HeaderRules | undefined {
    const plan = new Map<string, { replace: boolean; values: Template[] }>();
    for (const layer of layers) {
      if (!layer) continue;
      for (const name of layer.remove ?? []) plan.set(name.toLowerCase(), { replace: true, values: [] });
      for (const [name, value] of Object.entries(layer.set ?? {})) plan.set(name.toLowerCase(), { replace: true, values: [compileTemplate(value)] });
      for (const [name, value] of Object.entries(layer.add ?? {})) {
        const key = name.toLowerCase();
        const values = (Array.isArray(value) ? value : [value]).map(compileTemplate);
        const entry = plan.get(key);
        if (entry) entry.values.push(...values);
        else plan.set(key, { replace: false, values });
      }
    }
    if (plan.size === 0) return undefined;
    const drop = new Set<string>();
    const append: [string, Template][] = [];
    for (const [name, { replace, values }] of plan) {
      if (replace) drop.add(name);
      for (const v of values) append.push([name, v]);
    }
    return new HeaderRules(drop, append);
  }

  /** Whether the rules touch this field (lower case). */
  touches(name: string): boolean {
    return this.drop.has(name) || this.append.some(([n]) => n === name);
  }

  /** A flat [name, value, …] response header list with the rules applied (a new list). */
  applyFlat(flat: readonly string[], vars: RuleVariables): string[] {
    const out: string[] = [];
    const drop = this.drop;
    for (let i = 0; i < flat.length; i += 2) if (!drop.has(flat[i]!)) out.push(flat[i]!, flat[i + 1]!);
    for (const [name, value] of this.append) out.push(name, render(value, vars));
    return out;
  }

  /**
   * The rules applied to a stored header list once for every response, when they can be: no value
   * uses a variable and Age is left alone (it is added per response between the kept fields and
   * the appended ones). Undefined otherwise.
   */
  applyStatic(flat: readonly string[]): { kept: string[]; appended: string[] } | undefined {
    if (this.drop.has('age') || this.append.some(([name, value]) => name === 'age' || typeof value !== 'string')) return undefined;
    const kept: string[] = [];
    for (let i = 0; i < flat.length; i += 2) if (!this.drop.has(flat[i]!)) kept.push(flat[i]!, flat[i + 1]!);
    return { kept, appended: this.append.flatMap(([name, value]) => [name, value as string]) };
  }

  /** Request headers (a map, changed in place). */
  applyMap(headers: HeaderMap, vars: RuleVariables): void {
    for (const name of this.drop) delete headers[name];
    for (const [name, template] of this.append) {
      const value = render(template, vars);
      const prev = headers[name];
      headers[name] = prev === undefined ? value : ([] as string[]).concat(prev, value);
    }
  }
}
