// Deny rules: paths (and methods) a site answers at the edge — 403, 404, or a closed connection
// like nginx's 444 — never forwarded, never cached. Meant for scanner paths (`/wp-admin/*`,
// `*.php`, `/.env`, `/.git/*`) and methods a site does not take. Paths are compared without regard
// to case: a blocklist that `/.ENV` or `/x.PHP` walks around is no blocklist.
import { compilePathPattern, type PathTest } from '../sites/path-pattern.js';

export interface DenyRuleInput {
  path?: string;
  methods?: string[];
  status: number;
}

export interface DenyRule {
  /** The rule as written, for logs and metrics. */
  readonly label: string;
  readonly status: number;
}

interface Compiled extends DenyRule {
  path: PathTest | undefined;
  methods: ReadonlySet<string> | undefined;
}

export class DenyRules {
  private readonly rules: Compiled[];

  constructor(rules: readonly DenyRuleInput[]) {
    this.rules = rules.map((r) => ({
      label: [r.methods?.join(','), r.path].filter(Boolean).join(' '),
      status: r.status,
      path: r.path === undefined ? undefined : compilePathPattern(r.path.toLowerCase()),
      methods: r.methods === undefined ? undefined : new Set(r.methods.map((m) => m.toUpperCase())),
    }));
  }

  get size(): number {
    return this.rules.length;
  }

  /** The first rule that refuses this request, if any. */
  match(method: string, path: string): DenyRule | undefined {
    let lower: string | undefined;
    for (const rule of this.rules) {
      if (rule.methods !== undefined && !rule.methods.has(method)) continue;
      if (rule.path !== undefined && !rule.path((lower ??= path.toLowerCase()))) continue;
      return rule;
    }
    return undefined;
  }
}
