// Before `npm test` runs anything: are the Debian programs the chosen tests start (Redis, pebble,
// Chromium…) on this machine? As root on Debian the missing packages are installed (what a fresh CI
// machine needs); otherwise it stops at once and prints the exact apt-get line, instead of tests
// failing one by one with `redis-server exited:`. A test needs a program when the test file, or a
// test helper it imports, names it as a string ('redis-server', '/usr/bin/chromium').
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, relative, resolve } from 'node:path';

/** Each Debian package the suite uses, and the programs it provides that tests start. */
export const PACKAGES = [
  { name: 'redis-server', programs: ['redis-server'] },
  { name: 'pebble', programs: ['pebble', 'pebble-challtestsrv'] },
  { name: 'openssl', programs: ['openssl'] },
  { name: 'chromium', programs: ['chromium'] },
  { name: 'busybox', programs: ['busybox'] },
];

/** The install command: printed for a non-root user, run (quietly) as root. */
export const aptInstall = (packages, quiet = false) => ['apt-get', 'install', '-y', ...(quiet ? ['-qq'] : []), '--no-install-recommends', ...packages];

/** Programs named as strings in the files and in the test helpers they import (transitively). */
export function programsNamedBy(files, root) {
  const wanted = new Set(PACKAGES.flatMap((p) => p.programs));
  const named = new Set();
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/['"`](?:[^'"`\s]*\/)?([a-z][a-z0-9-]*)['"`]/g)) if (wanted.has(m[1])) named.add(m[1]);
    for (const m of text.matchAll(/from\s+['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
      const target = resolve(dirname(file), `${m[1]}.ts`);
      // Only test helpers start programs; the code under test never does.
      if (!relative(join(root, 'test'), target).startsWith('..')) visit(target);
    }
  };
  for (const f of files) visit(resolve(root, f));
  return named;
}

/** Where a program would run from: CHROMIUM_PATH for chromium (as the dashboard test reads it), else PATH. */
export function locate(program, env = process.env) {
  const executable = (path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (program === 'chromium') return executable(env.CHROMIUM_PATH ?? '/usr/bin/chromium') ? (env.CHROMIUM_PATH ?? '/usr/bin/chromium') : undefined;
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  return dirs.map((d) => join(d, program)).find(executable);
}

/** The packages to install for the programs that cannot be found. */
export function missingPackages(programs, find = locate) {
  const named = new Set(programs);
  const missing = PACKAGES.flatMap((p) => p.programs).filter((p) => named.has(p) && find(p) === undefined);
  const packages = PACKAGES.filter((p) => p.programs.some((prog) => missing.includes(prog))).map((p) => p.name);
  return { missing, packages };
}

function installAsRoot(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  console.error(`npm test: installing ${packages.join(' ')} (Debian packages the tests start)`);
  for (const cmd of [['apt-get', 'update', '-qq'], aptInstall(packages, true)]) {
    const r = spawnSync(cmd[0], cmd.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (r.status !== 0) return `${cmd.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`;
  }
  return undefined;
}

/**
 * Makes sure the programs the given test files start are here. Returns undefined when they are,
 * else the message to stop with (the caller exits non-zero without running a test).
 */
export function preflight(files, root, { uid = process.getuid?.(), hasApt = existsSync('/usr/bin/apt-get') } = {}) {
  const programs = programsNamedBy(files, root);
  const { missing, packages } = missingPackages(programs);
  if (missing.length === 0) return undefined;
  if (uid === 0 && hasApt) {
    const failed = installAsRoot(packages);
    const after = missingPackages(programs);
    if (failed === undefined && after.missing.length === 0) return undefined;
    return `npm test: ${failed ?? `installed ${packages.join(' ')}, but still cannot find ${after.missing.join(', ')} (is /usr/bin on PATH? CHROMIUM_PATH?)`}`;
  }
  return [
    `npm test: the tests need programs this machine does not have: ${missing.join(', ')}.`,
    `Install these Debian packages as root, then run npm test again:`,
    `  ${aptInstall(packages).join(' ')}`,
  ].join('\n');
}
