// `npm test` on a machine without redis-server, pebble or chromium, for real: in a private mount
// namespace an empty file is bind-mounted over each of those programs, and npm test runs there as
// the unprivileged user nobody, so it may not install them. It must stop at once, before any test
// runs, naming the exact apt-get line. (Needs root to make the namespace; CI runs as root.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, chown, cp, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';
// @ts-expect-error: a plain .mjs script without types
import { locate, missingPackages, programsNamedBy } from '../scripts/preflight.mjs';

const HIDDEN = ['redis-server', 'pebble', 'pebble-challtestsrv', 'chromium'];
const NOBODY = 65534;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs `npm test -- args` as nobody in a mount namespace where `paths` are empty, unrunnable files. */
function npmTestWithout(dir: string, paths: string[], args: string[]): Promise<Outcome> {
  const script = 'for p in "$@"; do mount --bind "$EMPTY" "$p"; done; exec setpriv --reuid=nobody --regid=nogroup --clear-groups npm test $NPM_ARGS';
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-euc', script, 'sh', ...paths], {
    cwd: join(dir, 'repo'),
    // A generous deadline, not a measurement: a run that got past the check would take minutes.
    timeout: 60_000,
    env: { PATH: process.env.PATH, HOME: join(dir, 'home'), EMPTY: join(dir, 'empty'), NPM_ARGS: args.length ? `-- ${args.join(' ')}` : '', npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, output })));
}

test('npm test without redis-server, pebble and chromium, not as root: stops at once with the apt-get line', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to make a private mount namespace (unshare --mount)');
  const paths = HIDDEN.map((p) => locate(p) as string | undefined);
  assert.deepEqual(paths.filter((p) => p === undefined), [], 'the programs to hide are installed here (npm test installs them as root)');

  // A copy of what npm test reads, where nobody may read it (the checkout may sit under /root).
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-fresh-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  const repo = join(dir, 'repo');
  for (const part of ['package.json', 'scripts', 'src', 'test']) await cp(join(ROOT, part), join(repo, part), { recursive: true });
  await writeFile(join(dir, 'empty'), '', { mode: 0o644 });
  await mkdir(join(dir, 'home'));
  await chown(join(dir, 'home'), NOBODY, NOBODY);

  const all = await npmTestWithout(dir, paths as string[], []);
  assert.equal(all.signal, null, `npm test did not stop by itself:\n${all.output}`);
  assert.equal(all.code, 1, all.output);
  assert.match(all.output, /the tests need programs this machine does not have: redis-server, pebble, pebble-challtestsrv, chromium\./);
  assert.ok(all.output.includes('\n  apt-get install -y --no-install-recommends redis-server pebble chromium\n'), all.output);
  assert.doesNotMatch(all.output, /installing|# tests|# Subtest|TAP version/, 'nothing was installed and no test ran');

  // One chosen file asks only for what it starts.
  const one = await npmTestWithout(dir, paths as string[], ['test/dashboard.test.ts']);
  assert.equal(one.code, 1, one.output);
  assert.ok(one.output.includes('\n  apt-get install -y --no-install-recommends chromium\n'), one.output);
  assert.doesNotMatch(one.output, /redis-server|pebble|# tests/);
});

test('a test needs the programs it or the helpers it imports name', () => {
  const named = (...files: string[]) => [...(programsNamedBy(files, ROOT) as Set<string>)].sort();
  assert.deepEqual(named('test/dashboard.test.ts'), ['chromium']);
  assert.deepEqual(named('test/cluster-purge.test.ts'), ['redis-server'], 'through helpers/redis.ts');
  assert.deepEqual(named('src/origin-lib/redis-manifest.test.ts'), ['redis-server'], 'a unit test importing a test helper');
  assert.deepEqual(named('test/https-edge.test.ts'), ['openssl', 'pebble', 'pebble-challtestsrv', 'redis-server']);
  assert.deepEqual(named('src/sites/host.test.ts', 'test/caching-basics.test.ts'), []);
});

test('missing programs map to the Debian packages that hold them, once each', () => {
  const absent = new Set(['pebble-challtestsrv', 'chromium']);
  const find = (p: string) => (absent.has(p) ? undefined : `/usr/bin/${p}`);
  assert.deepEqual(missingPackages(new Set(['chromium', 'redis-server', 'pebble', 'pebble-challtestsrv']), find), {
    missing: ['pebble-challtestsrv', 'chromium'],
    packages: ['pebble', 'chromium'],
  });
  assert.deepEqual(missingPackages(new Set(['redis-server']), find), { missing: [], packages: [] });
});
