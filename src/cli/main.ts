#!/usr/bin/env node
// The `blotcdn` command. Each subcommand is a thin layer over the same parts the tests use: build a
// config (from a file or from flags), hand it to Edge, stop gracefully on SIGTERM/SIGINT.
// (Installed, the command is bin/blotcdn, which runs this file with a 32 MiB V8 semi-space: with
// hundreds of HTTP/2 streams in flight, requests' objects outlive V8's default 16 MiB semi-space and
// are copied and promoted. At 32 MiB, HTTP/2 hits over TLS took 44 instead of 54 µs of CPU each
// (median of 4 interleaved pairs) and plain HTTP/1.1 hits were unchanged. V8 sizes the young
// generation when it starts, so the flag must be on node's command line: v8.setFlagsFromString here
// would come too late, and `#!/usr/bin/env -S node …` fails where env has no -S (BusyBox).
// `npm start`, the bench, the Dockerfile and the systemd unit pass the same flag.)
import { existsSync, readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ConfigError, loadConfigFile, validateConfig } from '../config/load.js';
import { quickConfig, type QuickOptions } from '../config/quick.js';
import type { EdgeConfig } from '../config/schema.js';
import type { Edge } from '../edge.js';
import { adminCommands } from './admin-client.js';
import { certsCommand } from './certs.js';
import { jobsCommand } from './jobs.js';
import { CliError, failAndExit } from './fail.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command();
program
  .name('blotcdn')
  .description('A self-hostable pull CDN: origin groups with failover, RFC 9111 caching, on-demand TLS.')
  .version(version, '-V, --version', 'print the version')
  .option('--debug', 'print the stack of any error (also BLOTCDN_DEBUG=1)')
  // Usage errors in the same one-line form as every other error (subcommands inherit this).
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'blotcdn: ')) });

const collect = (value: string, previous: string[] = []) => [...previous, value];

program
  .command('start')
  .description('Run the edge, from a config file or in quick mode (--origin … --listen …).')
  .option('-c, --config <file>', 'config file (YAML or JSON)')
  .option('--origin <url>', 'quick mode: an origin URL; repeat for an ordered failover group', collect)
  .option('--listen <host:port>', 'quick mode: HTTP listen address (":port" or a port alone: every interface)', '127.0.0.1:8080')
  .option('--cache-dir <dir>', 'quick mode: keep a disk cache tier in this folder')
  .option('--admin <host:port>', 'quick mode: open the admin API and dashboard here (token from BLOTCDN_ADMIN_TOKEN)')
  .option('--access-log <target>', 'quick mode: access log to stdout, off, or a file', 'stdout')
  .option('--https <host:port>', 'quick mode: HTTPS listener, certificates obtained on demand (plain HTTP then redirects)')
  .option('--acme-directory <url>', 'quick mode: ACME directory (its own CA trusted through NODE_EXTRA_CA_CERTS)')
  .option('--acme-email <email>', 'quick mode: ACME account contact')
  .option('--allow-host <names...>', 'quick mode: hosts (or *.wildcards) certificates may be obtained for')
  .option('--cert-dir <dir>', 'quick mode: where certificates are kept (default .blotcdn/certs)')
  .option('--workers <n>', 'worker processes sharing the listeners: a number, or "auto" (one per core; the default unless the config sets workers); 1 runs a single process')
  .option('--redis <url>', 'quick mode: cluster mode — purges reach every node on this Redis, with receipts and catch-up')
  .addHelpText(
    'after',
    '\nExamples:\n  blotcdn start --config /etc/blotcdn.yaml\n  blotcdn start --origin http://127.0.0.1:9000 --listen 127.0.0.1:8080   (loopback only)\n  blotcdn start --origin http://127.0.0.1:9000 --listen :8080            (every interface)',
  )
  .action(async (opts: StartOptions) => {
    const config = await configFrom(opts);
    const file = opts.config;
    // Several workers: a primary forks them (src/cluster/workers); one keeps today's single process.
    const { workerCount } = await import('../cluster/workers/worker-count.js');
    let workers: number;
    try {
      workers = workerCount(opts.workers, config);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
    if (workers > 1) {
      const { runPrimary } = await import('../cluster/workers/primary.js');
      const source = file === undefined ? { kind: 'input' as const, input: quickConfig({ ...opts, origin: opts.origin ?? [] }) } : { kind: 'file' as const, path: file, text: readFileSync(file, 'utf8') };
      return runPrimary(source, workers);
    }
    await runEdge(config, undefined, file === undefined ? undefined : () => loadConfigFile(configPath(file)));
  });

program
  .command('check-config')
  .description('Validate a config file and say what it declares; exit 1 with the problems if invalid.')
  .argument('<file>', 'config file (YAML or JSON)')
  .action(async (file: string) => {
    const config = await loadConfigFile(configPath(file));
    const hosts = config.sites.reduce((n, s) => n + s.hosts.length, 0);
    const behaviors = config.sites.reduce((n, s) => n + s.behaviors.length, 0);
    console.log(
      `${file}: ok — ${config.sites.length} site(s), ${hosts} host pattern(s), ${behaviors} behavior(s), ` +
        `${Object.keys(config.originGroups).length} origin group(s)`,
    );
  });

program
  .command('demo')
  .description('Start a small demo blog as the origin and the edge in front of it.')
  .addOption(new Option('--listen <host:port>', 'edge listen address').default('127.0.0.1:8080').env('BLOTCDN_LISTEN'))
  .addOption(new Option('--admin <host:port>', 'admin API and dashboard address').default('127.0.0.1:8081').env('BLOTCDN_ADMIN_LISTEN'))
  .action(async (opts: { listen: string; admin: string }) => {
    const { runDemo } = await import('./demo.js');
    await runDemo(opts.listen, opts.admin, runEdge);
  });

/** `start`'s options: a config file, or quick mode's flags. */
type StartOptions = Omit<QuickOptions, 'origin'> & { config?: string; origin?: string[]; workers?: string };

adminCommands(program);
certsCommand(program);
jobsCommand(program);

/** After a usage error, point at the help of the command that was mistyped rather than print it all. */
function helpHints(cmd: Command, path: string): void {
  cmd.showHelpAfterError(`(${path} --help lists what it takes)`);
  for (const sub of cmd.commands) helpHints(sub, `${path} ${sub.name()}`);
}
helpHints(program, 'blotcdn');

/** A config file that is not there is the operator's typo, not an invalid config: say so plainly. */
function configPath(file: string): string {
  if (!existsSync(file)) throw new CliError(`no config file at ${file}: give the path of a YAML or JSON config (examples/minimal.yaml is one to start from)`);
  return file;
}

async function configFrom(opts: StartOptions): Promise<EdgeConfig> {
  if (opts.config) {
    if (opts.origin?.length) throw new CliError('--config and --origin cannot be combined: quick mode (--origin …) or a config file, not both');
    return loadConfigFile(configPath(opts.config));
  }
  if (!opts.origin?.length) throw new CliError('either --config FILE or at least one --origin URL is needed (see blotcdn start --help)');
  return validateConfig(quickConfig({ ...opts, origin: opts.origin }), '(command line)');
}

/**
 * Starts an edge and keeps it running: SIGHUP re-reads the config (when it came from a file) and
 * applies it in place, SIGUSR1 reopens the log files (and so never starts Node's debugger),
 * SIGTERM or SIGINT drain — stop accepting, let requests in flight finish up to shutdownTimeout,
 * flush the logs, exit 0; a second one exits at once.
 */
export async function runEdge(config: EdgeConfig, onStarted?: (edge: Edge) => void, reload?: () => Promise<EdgeConfig>): Promise<void> {
  // Loaded here, not at the top: purge, stats, certs and --version start faster without the edge.
  const { Edge } = await import('../edge.js');
  const edge = new Edge(config);
  edge.reloadSource = reload;
  // Installed before anything can take a while: a SIGUSR1 with no listener opens the inspector.
  process.on('SIGUSR1', () => {
    edge.reopenLogs().then(
      () => console.error('blotcdn: SIGUSR1: log files reopened'),
      (err: unknown) => console.error(`blotcdn: SIGUSR1: reopening the logs failed: ${(err as Error).message}`),
    );
  });
  await edge.start();
  for (const a of edge.httpAddresses) console.error(`blotcdn: listening on http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
  for (const a of edge.httpsAddresses) console.error(`blotcdn: listening on https://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
  const admin = edge.admin?.address;
  if (admin) console.error(`blotcdn: admin API and dashboard on http://${admin.address}:${admin.port}/dashboard`);
  onStarted?.(edge);
  process.on('SIGHUP', () => {
    edge.reloadFromSource().then(
      ({ restartNeeded }) =>
        console.error(`blotcdn: SIGHUP: config reloaded${restartNeeded.length > 0 ? `; these changes need a restart and were not applied: ${restartNeeded.join(', ')}` : ''}`),
      (err: unknown) => console.error(`blotcdn: SIGHUP: kept the running config: ${err instanceof ConfigError ? err.message : String((err as Error).message)}`),
    );
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.error(`blotcdn: ${signal} received, finishing in-flight requests (up to ${edge.config.shutdownTimeout / 1000} s)…`);
    edge.stop(edge.config.shutdownTimeout).then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

program.parseAsync(process.argv).catch(failAndExit);
