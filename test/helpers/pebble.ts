// A real ACME server for a test: Debian's `pebble` with `pebble-challtestsrv` as its DNS (every name
// → 127.0.0.1), on loopback and free ports, in a temporary folder (see ../shared/docs/local-acme.md).
// pebble's own HTTPS API gets a certificate made here with openssl; `apiCa` is its trust anchor
// (give it to AcmeIssuer), `root()` the CA that signs issued certificates (give it to TLS clients).
// pebble validates HTTP-01 and TLS-ALPN-01 on ports fixed when it starts: relays hold them (see
// relay.ts); `routeHttp01(port)` and `routeTlsAlpn01(port)` name the server that answers, which
// listens on port 0 like any other. pebble's own ports are retried if taken (see ports.ts).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { childListening, withFreePorts } from './ports.js';
import { startRelay } from './relay.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestPebble {
  directoryUrl: string;
  /** PEM of the CA that signed pebble's API certificate. */
  apiCa: string;
  /** Sends pebble's HTTP-01 validations to the HTTP server on 127.0.0.1:`port`. */
  routeHttp01(port: number): void;
  /** Sends pebble's TLS-ALPN-01 validations to the TLS server on 127.0.0.1:`port`. */
  routeTlsAlpn01(port: number): void;
  /** pebble's issuing root (new on every start). */
  root(): Promise<string>;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** Lifetime of issued certificates, seconds (default 1 day). */
  validitySeconds?: number;
  env?: NodeJS.ProcessEnv;
}



function startProcess(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  return { child, output: () => out, stop, name };
}

async function makeApiCertificate(dir: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=blotcdn test pebble API CA', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem')]);
  await run('openssl', ['req', ...ec, '-subj', '/CN=localhost', '-keyout', join(dir, 'pebble.key'), '-out', join(dir, 'pebble.csr')]);
  await writeFile(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await run('openssl', ['x509', '-req', '-in', join(dir, 'pebble.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', '2', '-extfile', join(dir, 'ext.cnf'), '-out', join(dir, 'pebble.pem')]);
}

function httpsGet(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: new Agent({ ca }) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function startPebble(options: PebbleOptions = {}): Promise<TestPebble> {
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-pebble-'));
  await makeApiCertificate(dir);
  const [http01, tlsAlpn01] = await Promise.all([startRelay(), startRelay()]);
  const started = await withFreePorts(4, async ([apiPort, mgmtPort, dnsPort, dnsMgmtPort]) => {
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${apiPort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: join(dir, 'pebble.pem'),
        privateKey: join(dir, 'pebble.key'),
        httpPort: http01.port,
        tlsPort: tlsAlpn01.port,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        certificateValidityPeriod: options.validitySeconds ?? 86_400,
      },
    };
    await writeFile(join(dir, 'pebble-config.json'), JSON.stringify(config));
    const dns = startProcess('pebble-challtestsrv', 'pebble-challtestsrv', [
      '-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '',
      '-management', `127.0.0.1:${dnsMgmtPort}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '',
    ]);
    const pebble = startProcess('pebble', 'pebble', ['-config', join(dir, 'pebble-config.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
      PEBBLE_VA_NOSLEEP: '1',
      ...options.env,
    });
    const stop = async () => {
      await pebble.stop();
      await dns.stop();
    };
    try {
      await childListening(dns.child, [dnsPort!, dnsMgmtPort!], dns.output, dns.name);
      await childListening(pebble.child, [apiPort!, mgmtPort!], pebble.output, pebble.name);
    } catch (err) {
      await stop();
      throw err;
    }
    return { apiPort: apiPort!, mgmtPort: mgmtPort!, stop };
  }).catch(async (err: unknown) => {
    await Promise.all([http01.close(), tlsAlpn01.close()]);
    throw err;
  });
  const apiCa = await readFile(join(dir, 'ca.pem'), 'utf8');
  let root: Promise<string> | undefined;
  return {
    directoryUrl: `https://127.0.0.1:${started.apiPort}/dir`,
    apiCa,
    routeHttp01: (port) => http01.to(port),
    routeTlsAlpn01: (port) => tlsAlpn01.to(port),
    root: () => (root ??= httpsGet(`https://127.0.0.1:${started.mgmtPort}/roots/0`, apiCa)),
    stop: async () => {
      await started.stop();
      await Promise.all([http01.close(), tlsAlpn01.close()]);
    },
  };
}
