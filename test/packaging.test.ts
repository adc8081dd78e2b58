// What a user installs. `npm pack` in a fresh copy of the sources builds (the `prepare` script) and
// ships the command: bin/ and dist/, no sources, no tests. Installed, the command runs where `env`
// has no -S (a BusyBox userland, made in a private mount namespace), with node's semi-space flag,
// and is node itself (signals reach it). The Dockerfile and the systemd unit run that command.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, runCommand } from './helpers/cli.js';
import { startOrigin, respond } from './helpers/origin.js';
import { get } from './helpers/client.js';

const run = promisify(execFile);
const SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'bin', 'demo', 'dashboard', 'examples', 'packaging', 'docs'];
const BUSYBOX = '/usr/bin/busybox';
/** Mounts busybox over env, sh and readlink, then runs the command given. */
const BUSYBOX_USERLAND = `for p in /usr/bin/env /usr/bin/sh /usr/bin/readlink; do mount --bind ${BUSYBOX} "$p"; done; exec "$@"`;

let dir: string;
let packed: string[];
/** The installed command, as npm links it: node_modules/.bin/blotcdn → ../blotcdn/bin/blotcdn. */
let command: string;
let pkg: string;
const version = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version as string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'blotcdn-pack-'));
  const clone = join(dir, 'clone');
  await mkdir(clone);
  for (const part of SOURCES) await cp(join(ROOT, part), join(clone, part), { recursive: true });
  await symlink(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
  await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: clone });
  const tarball = join(dir, `blotcdn-${version}.tgz`);
  packed = (await run('tar', ['tzf', tarball])).stdout.split('\n').filter(Boolean);
  const modules = join(dir, 'install', 'node_modules');
  await mkdir(join(modules, '.bin'), { recursive: true });
  await run('tar', ['xzf', tarball, '-C', modules]);
  pkg = join(modules, 'blotcdn');
  await run('mv', [join(modules, 'package'), pkg]);
  await symlink(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  command = join(modules, '.bin', 'blotcdn');
  await symlink('../blotcdn/bin/blotcdn', command);
});

after(() => rm(dir, { recursive: true, force: true }));

test('npm pack builds and ships the command: bin/ and dist/, without sources or tests', () => {
  for (const file of ['bin/blotcdn', 'dist/cli/main.js', 'dist/edge.js', 'dist/origin-lib/index.js', 'dashboard/index.html', 'package.json', 'packaging/blotcdn.service', 'docs/operations.md']) {
    assert.ok(packed.includes(`package/${file}`), `${file} is in the package`);
  }
  assert.deepEqual(packed.filter((f) => f.startsWith('package/src/') || /\.test\.(ts|js)$/.test(f)), []);
});

test('the installed command runs where env has no -S (BusyBox), node with the semi-space flag', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to make a private mount namespace (unshare --mount)');
  const inBusybox = (args: string[]) => run('unshare', ['--mount', '--propagation', 'private', 'sh', '-euc', BUSYBOX_USERLAND, 'sh', ...args]);

  // Control: there, the old `#!/usr/bin/env -S node …` line cannot start anything.
  const old = join(dir, 'old-style');
  await writeFile(old, '#!/usr/bin/env -S node --max-semi-space-size=32\nconsole.log("started")\n');
  await chmod(old, 0o755);
  await assert.rejects(inBusybox([old]), /invalid option -- 'S'/);

  assert.equal((await inBusybox([command, '--version'])).stdout.trim(), version);

  const origin = await startOrigin(respond('through the installed command', { 'cache-control': 'max-age=60' }));
  const edge = runCommand('unshare', ['--mount', '--propagation', 'private', 'sh', '-euc', BUSYBOX_USERLAND, 'sh', command, 'start', '--origin', origin.url, '--listen', '127.0.0.1:0', '--access-log', 'off']);
  t.after(async () => {
    edge.child.kill('SIGKILL');
    await origin.close();
  });
  const [, url] = await edge.waitFor(/listening on (http:\/\/\S+)/);
  assert.equal((await get(`${url}/x`)).text, 'through the installed command');
  // The shell script exec'd node: the process started is node, with the flag on its command line.
  const argv = (await readFile(`/proc/${edge.child.pid}/cmdline`, 'utf8')).split('\0');
  assert.match(argv[0]!, /(^|\/)node$/);
  assert.ok(argv.includes('--max-semi-space-size=32'), argv.join(' '));
  edge.child.kill('SIGTERM');
  assert.deepEqual(await edge.exited, { code: 0, signal: null }, 'SIGTERM reached node and it stopped gracefully');
});

test('the Dockerfile copies what exists and its entrypoint is the installed command', async () => {
  const dockerfile = await readFile(join(ROOT, 'packaging', 'Dockerfile'), 'utf8');
  const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].map((m) => {
    const words = m[1]!.split(' ');
    return { sources: words.slice(0, -1), dest: words.at(-1)! };
  });
  assert.ok(copies.length > 5);
  for (const source of copies.flatMap((c) => c.sources)) assert.ok(existsSync(join(ROOT, source)), `COPY ${source}: exists`);
  // What the image puts in /opt/blotcdn from the sources is what the package holds.
  const shipped = new Set(packed.map((f) => f.split('/')[1]));
  for (const source of copies.filter((c) => c.dest.startsWith('/opt/blotcdn')).flatMap((c) => c.sources)) assert.ok(shipped.has(source), `${source} is in the package too`);
  const entrypoint = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(dockerfile)![1]!) as string[];
  const cmd = JSON.parse(/^CMD (.+)$/m.exec(dockerfile)![1]!) as string[];
  assert.deepEqual(entrypoint, ['/opt/blotcdn/bin/blotcdn']);
  const installed = entrypoint[0]!.replace('/opt/blotcdn', pkg);
  assert.equal((await run(installed, ['--version'])).stdout.trim(), version);
  assert.deepEqual(cmd.slice(0, 2), ['start', '--config']);
});

test('the systemd unit checks the config it starts with, with the installed command; SIGHUP reloads', async () => {
  const unit = await readFile(join(ROOT, 'packaging', 'blotcdn.service'), 'utf8');
  const value = (key: string) => new RegExp(`^${key}=(.+)$`, 'm').exec(unit)?.[1];
  const [pre, ...preArgs] = value('ExecStartPre')!.split(' ');
  const [start, ...startArgs] = value('ExecStart')!.split(' ');
  assert.equal(pre, '/usr/local/bin/blotcdn', 'where npm install -g links the command');
  assert.equal(start, pre);
  assert.deepEqual(startArgs.slice(0, 2), ['start', '--config']);
  assert.equal(startArgs[2], preArgs.at(-1), 'start reads the file that was checked');
  // The check as the unit runs it, by the installed command (linked as npm links it), on an example.
  const checked = await run(command, preArgs.map((a) => (a === startArgs[2] ? join(pkg, 'examples', 'minimal.yaml') : a)));
  assert.match(checked.stdout, /ok — 1 site/);
  assert.equal(value('ExecReload'), '/bin/kill -HUP $MAINPID');
});
