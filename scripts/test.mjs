#!/usr/bin/env node
// `npm test`: runs every test file (unit tests beside the code in src/, scenario tests in test/)
// with Node's own test runner and tsx for TypeScript. Extra arguments are passed through, e.g.
// `npm test -- test/failover.test.ts` or `npm test -- --test-name-pattern=breaker`. First it makes
// sure the Debian programs those tests start are installed (see preflight.mjs).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { preflight } from './preflight.mjs';

function find(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'node_modules') find(path, out);
    } else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const files = args.filter((a) => a.endsWith('.ts'));
const flags = args.filter((a) => !a.endsWith('.ts'));
const targets = files.length > 0 ? files : [...find('src'), ...find('test'), ...find('bench')].sort();
const concurrency = process.env.TEST_CONCURRENCY ?? '3';

const problem = preflight(targets, root);
if (problem !== undefined) {
  console.error(problem);
  process.exit(1);
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...flags, ...targets],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
