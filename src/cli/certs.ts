// `blotcdn certs list|show HOST|issue HOST|renew HOST`: the certificate store seen and worked from
// the command line, through the same CertManager, CertStore and AcmeIssuer the edge uses. `issue`
// and `renew` place real orders: the CA's challenge is answered by a running edge that shares the
// store (tokens are written there), so point these commands at the store your edges use. The work
// is in cert-work.ts, loaded when a certs command runs, so other commands start without it.
import { Command, Option } from 'commander';

export interface CertsOptions {
  /** An edge config: its tls section (store, ACME, limits) and its sites' hosts and domain list. */
  config?: string;
  store?: string;
  redis?: string;
  redisPrefix: string;
  platformCerts: boolean;
  domainList: boolean;
  acmeDirectory?: string;
  acmeEmail?: string;
  acmeCa?: string;
  challenge?: string[];
  allowHost?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function storeOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'take the store, ACME account and allowed hosts from an edge config (instead of the options below)')
    .addOption(new Option('--store <dir>', 'certificate folder (single node)').env('BLOTCDN_CERT_DIR'))
    .addOption(new Option('--redis <url>', 'Redis holding certificates (many nodes)').env('BLOTCDN_REDIS_URL'))
    .option('--redis-prefix <prefix>', "prefix of blotcdn's own Redis keys", 'blotcdn:tls:')
    .option('--no-platform-certs', 'do not read the platform\'s ssl:{host}:latest certificates')
    .option('--no-domain-list', "with --redis: do not allow hosts by the platform's domain:{host} keys");
}

function acmeOptions(cmd: Command): Command {
  return storeOptions(cmd)
    .addOption(new Option('--acme-directory <url>', 'ACME directory URL').env('BLOTCDN_ACME_DIRECTORY'))
    .option('--acme-email <email>', 'account contact')
    .option('--acme-ca <file>', "PEM of a CA to trust for the ACME server's HTTPS API (else NODE_EXTRA_CA_CERTS)")
    .option('--challenge <type>', 'challenge type, most preferred first: http-01, tls-alpn-01 (repeatable)', collect)
    .option('--allow-host <name>', 'host or *.wildcard certificates may be issued for (repeatable)', collect);
}

/** Adds `certs` and its subcommands to `program`; output goes to `out` (stdout by default). */
export function certsCommand(program: Command, out: (line: string) => void = (l) => console.log(l)): Command {
  const certs = program.command('certs').description('List, inspect, issue and renew TLS certificates in the certificate store.');

  storeOptions(certs.command('list'))
    .description('Every stored certificate with its expiry date.')
    .action((opts: CertsOptions) =>
      import('./cert-work.js').then((w) => w.listCerts(opts, out)),
    );

  storeOptions(certs.command('show'))
    .description('Details of the certificate stored for HOST.')
    .argument('<host>')
    .action((raw: string, opts: CertsOptions) =>
      import('./cert-work.js').then((w) => w.showCert(raw, opts, out)),
    );

  acmeOptions(certs.command('issue'))
    .description('Obtain a certificate for HOST unless a valid one is stored (an edge sharing the store answers the challenge).')
    .argument('<host>')
    .action((raw: string, opts: CertsOptions) => import('./cert-work.js').then((w) => w.obtainCert(raw, opts, 'missing', out)));

  acmeOptions(certs.command('renew'))
    .description('Obtain a new certificate for HOST now, replacing the stored one.')
    .argument('<host>')
    .action((raw: string, opts: CertsOptions) => import('./cert-work.js').then((w) => w.obtainCert(raw, opts, 'forced', out)));

  return certs;
}

