// docs/errors.md lists exactly the catalogue: every code with its status, source and message, and
// nothing the catalogue does not have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS, EdgeError } from './errors.js';

test('docs/errors.md documents every code in the catalogue, as the catalogue says', () => {
  const text = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, { status: number; source: string; message: string }>();
  for (const m of text.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| (\w+) \| (.*?) \| .* \|$/gm)) rows.set(m[1]!, { status: Number(m[2]), source: m[3]!, message: m[4]! });
  for (const [code, spec] of Object.entries(ERRORS)) {
    assert.deepEqual(rows.get(code), { status: spec.status, source: spec.source, message: spec.message }, `docs/errors.md row for ${code}`);
  }
  assert.deepEqual([...rows.keys()].filter((c) => !(c in ERRORS)), [], 'documented codes the catalogue does not have');
});

test('an EdgeError carries its code, the catalogue status (or a configured one) and its headers', () => {
  const e = new EdgeError('denied', '(/.env)', { status: 404, headers: { 'x-a': '1' } });
  assert.equal(e.code, 'denied');
  assert.equal(e.status, 404);
  assert.equal(e.source, 'client');
  assert.match(e.message, /refused here\. \(\/\.env\)$/);
  assert.equal(new EdgeError('origin_unavailable').status, 503);
});
