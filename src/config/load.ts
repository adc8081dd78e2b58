// Reading a config file (YAML or JSON: YAML is a superset) and validating it. Every problem is
// reported with the path of the field it concerns, e.g. `sites[0].behaviors[1].ttl.max: not a
// duration: "forever"`, so a broken file is refused with a message an operator can act on.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type ConfigInput, type EdgeConfig } from './schema.js';

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`invalid config ${source}:\n` + problems.map((p) => `  - ${p}`).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** `['sites', 0, 'hosts', 1]` → `sites[0].hosts[1]` */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(top level)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    return `${where}: required field is missing (expected ${issue.expected})`;
  }
  return `${where}: ${issue.message.replace(/^Invalid input: /, '')}`;
}

/** Validate an already-parsed object (from a file, quick-mode flags or a test). */
export function validateConfig(input: unknown, source = '(inline)'): EdgeConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) throw new ConfigError(source, result.error.issues.map(describeIssue));
  return result.data;
}

export function parseConfigText(text: string, source: string): EdgeConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(source, doc.errors.map((e) => `syntax: ${e.message.split('\n')[0]}`));
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(source, ['(top level): expected a mapping of settings']);
  }
  return validateConfig(data, source);
}

export async function loadConfigFile(path: string): Promise<EdgeConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  return parseConfigText(text, path);
}

export type { ConfigInput, EdgeConfig };
