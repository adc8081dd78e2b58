// `blotcdn certs …` run in-process (commander, as src/cli/main.ts will mount it): issue and renew
// place real orders with pebble while a running node sharing the store answers HTTP-01; list and
// show print expiry dates.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { certsCommand } from '../src/cli/certs.js';
import { FsCertStore } from '../src/tls/fs-cert-store.js';
import { startPebble, type TestPebble } from './helpers/pebble.js';
import { startTlsNode, type TlsNode } from './helpers/tls.js';

describe('blotcdn certs', () => {
  let pebble: TestPebble;
  let dir: string;
  let caFile: string;
  let node: TlsNode;

  before(async () => {
    pebble = await startPebble();
    dir = await mkdtemp(join(tmpdir(), 'blotcdn-certs-'));
    caFile = join(dir, '..', `${dir.split('/').pop()}-pebble-api-ca.pem`);
    await writeFile(caFile, pebble.apiCa);
    // The running edge: answers HTTP-01 for whatever the CLI's orders put in the shared store.
    node = await startTlsNode({ pebble, store: new FsCertStore(dir), names: ['*.cli.test'] });
  });

  after(async () => {
    await node?.stop();
    await pebble?.stop();
  });

  async function certs(...args: string[]): Promise<string> {
    const lines: string[] = [];
    const program = new Command().exitOverride();
    certsCommand(program, (l) => lines.push(l));
    await program.parseAsync(['certs', ...args], { from: 'user' });
    return lines.join('\n');
  }
  const acme = () => ['--store', dir, '--acme-directory', pebble.directoryUrl, '--acme-ca', caFile];

  test('issue, then issue again (nothing to do), list and show', async () => {
    const issued = await certs('issue', 'one.cli.test', ...acme(), '--allow-host', '*.cli.test');
    assert.match(issued, /^one\.cli\.test: issued, expires \d{4}-\d\d-\d\d \d\d:\d\dZ \(1\.0 days\) in \d+ ms$/);
    const again = await certs('issue', 'one.cli.test', ...acme(), '--allow-host', '*.cli.test');
    assert.match(again, /already has a valid certificate/);
    const list = await certs('list', '--store', dir);
    assert.match(list, /^HOST\s+EXPIRES \(UTC\)\s+DAYS\s+RENEW FROM \(UTC\)\s+SOURCE\s+ISSUER$/m);
    assert.match(list, /^one\.cli\.test\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+1\.0\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+acme\s+Pebble Intermediate/m);
    const show = await certs('show', 'one.cli.test', '--store', dir);
    assert.match(show, /^state:\s+valid$/m);
    assert.match(show, /^names:\s+one\.cli\.test$/m);
    assert.match(show, /^not after:\s+\d{4}-.*days left\)$/m);
    assert.match(show, /^key:\s+ec prime256v1$/m);
  });

  test('renew replaces the certificate', async () => {
    const store = new FsCertStore(dir);
    await certs('issue', 'two.cli.test', ...acme(), '--allow-host', 'two.cli.test');
    const before = (await store.getCert('two.cli.test'))!;
    const renewed = await certs('renew', 'two.cli.test', ...acme(), '--allow-host', 'two.cli.test');
    assert.match(renewed, /^two\.cli\.test: renewed, expires/);
    const after = (await store.getCert('two.cli.test'))!;
    assert.notEqual(after.certPem, before.certPem);
  });

  test('refusals: hosts not allowed, missing options, unknown certificates', async () => {
    await assert.rejects(certs('issue', 'three.cli.test', ...acme()), /not allowed: add --allow-host three\.cli\.test/);
    await assert.rejects(certs('issue', 'localhost', ...acme(), '--allow-host', '*.cli.test'), /not a host name/);
    await assert.rejects(certs('issue', 'x.cli.test', '--store', dir, '--allow-host', '*.cli.test'), /--acme-directory/);
    await assert.rejects(certs('list'), /--store DIR or --redis URL/);
    await assert.rejects(certs('show', 'nothing.cli.test', '--store', dir), /no certificate stored for nothing\.cli\.test/);
  });
});
