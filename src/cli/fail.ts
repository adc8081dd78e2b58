// What the `blotcdn` command says when it cannot do what was asked: one line naming the problem and
// what to do about it, then exit 1. Usage and operational errors (a port in use, an edge that does
// not answer, a file that is not there) never print a stack: the stack is ours, not the operator's
// problem. Anything else is a bug; `--debug` or BLOTCDN_DEBUG=1 prints its stack (and every stack).
import { ConfigError } from '../config/load.js';
import { CacheLockedError } from '../cache/dir-lock.js';

/** A problem the operator can fix; its message says what is wrong and what to do. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

type Explained = { message: string; expected: boolean };

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  address?: string;
  port?: number;
  path?: string;
  hostname?: string;
}

function where(e: SystemError): string {
  const host = e.address ?? e.hostname ?? '';
  const shown = host.includes(':') ? `[${host}]` : host;
  return e.port === undefined ? shown : `${shown}:${e.port}`;
}

/** Failures to listen: the address in use, a privileged port, an address the machine does not have. */
function listenProblem(e: SystemError): string | undefined {
  const at = where(e);
  switch (e.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${at}: the address is already in use (another blotcdn or web server?); stop that one or choose another address (--listen / --https / --admin, or listen and admin.listen in the config)`;
    case 'EACCES':
      return `not allowed to listen on ${at}: ports below 1024 need root or the CAP_NET_BIND_SERVICE capability (packaging/blotcdn.service grants it), or use a port above 1024`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${at}: this machine has no such address; use one of its own, or ":${e.port ?? 'port'}" for every interface`;
    default:
      return undefined;
  }
}

/** Files and folders that are missing or not ours to use. */
function fileProblem(e: SystemError): string | undefined {
  if (e.path === undefined) return undefined;
  switch (e.code) {
    case 'ENOENT':
      return `no such file or folder: ${e.path}`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied: ${e.path} (run as a user that may ${e.syscall === 'open' ? 'read' : 'use'} it, or choose another path)`;
    case 'EISDIR':
      return `${e.path} is a folder, not a file`;
    case 'ENOTDIR':
      return `${e.path}: a part of this path is a file, not a folder`;
    case 'ENOSPC':
      return `no space left on the device holding ${e.path}`;
    default:
      return undefined;
  }
}

/** Connections the command opens (Redis, the ACME server, the admin API), and names that do not resolve. */
function connectProblem(e: SystemError): string | undefined {
  const at = where(e);
  switch (e.code) {
    case 'ECONNREFUSED':
      return `nothing answers at ${at} (connection refused): is the server running, and is that its address?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host name ${at} does not resolve: check the address (a listen address takes an IP, or ":port" for every interface)`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `${at || 'the server'} did not answer in time: check the address and the firewall`;
    case 'ECONNRESET':
      return `${at || 'the server'} closed the connection: is that the right port and protocol?`;
    default:
      return undefined;
  }
}

export function explain(err: unknown): Explained {
  if (err instanceof CliError || err instanceof ConfigError || err instanceof CacheLockedError) return { message: err.message, expected: true };
  const e = err as SystemError;
  if (e instanceof Error && typeof e.code === 'string') {
    const message = e.syscall === 'listen' ? listenProblem(e) : (fileProblem(e) ?? connectProblem(e));
    if (message !== undefined) return { message, expected: true };
  }
  const text = e instanceof Error ? e.message : String(err);
  return { message: `unexpected error: ${text} (this is a bug: run again with --debug or BLOTCDN_DEBUG=1 for its stack, and report it)`, expected: false };
}

export function debugWanted(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): boolean {
  return argv.includes('--debug') || (env.BLOTCDN_DEBUG !== undefined && env.BLOTCDN_DEBUG !== '' && env.BLOTCDN_DEBUG !== '0');
}

/** Prints what went wrong (with the stack when debugging) and ends the process with status 1. */
export function failAndExit(err: unknown): never {
  const { message } = explain(err);
  console.error(`blotcdn: ${message}`);
  if (debugWanted() && err instanceof Error && err.stack) console.error(err.stack);
  process.exit(1);
}
