// docs/config.md says exactly what the schema accepts: every field, its type and default, each
// with a description; nothing the schema does not have. (`npm run docs:config` re-renders it.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseDoc, renderDoc } from './config-doc.js';
import { configSchema } from './schema.js';
import { schemaFields } from './schema-fields.js';

const text = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');

test('docs/config.md is what the schema renders to, and every field has a description', () => {
  const parsed = parseDoc(text);
  const { text: rendered, missing } = renderDoc(parsed);
  assert.deepEqual(missing, [], 'fields without a description (write one, then npm run docs:config)');
  assert.equal(text, rendered, 'docs/config.md is out of step with the schema: run npm run docs:config');
  const documented = [...parsed.descriptions.keys()];
  const known = new Set(schemaFields(configSchema).map((f) => f.path));
  assert.deepEqual(documented.filter((p) => !known.has(p)), [], 'documented fields the schema does not have');
});

test('the field list follows the schema: policy fields are there with their defaults', () => {
  const fields = new Map(schemaFields(configSchema).map((f) => [f.path, f]));
  assert.equal(fields.get('sites[].behaviors[].ttl.force')?.type, 'duration');
  assert.equal(fields.get('sites[].behaviors[].clientCacheControl')?.default, 'ignore');
  assert.deepEqual(fields.get('sites[].deny')?.default, []);
  assert.equal(fields.get('sites[].deny[].status')?.default, 403);
  assert.equal(fields.get('originGroups.*.breaker.cooldown')?.default, 5000);
  assert.ok(fields.has('sites[].errorPages.*.file'));
});
