// Quick mode with TLS, as an operator types it: `blotcdn start --origin … --listen … --https …
// --acme-directory … --allow-host …`, the ACME server's own CA trusted through NODE_EXTRA_CA_CERTS
// as Node does. An allowed host gets a certificate at its first handshake; another host does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPebble } from './helpers/pebble.js';
import { startOrigin, respond } from './helpers/origin.js';
import { runCli, runCliToEnd } from './helpers/cli.js';
import { handshake } from './helpers/tls.js';

test('blotcdn start --https --acme-directory --allow-host', async (t) => {
  const pebble = await startPebble();
  const origin = await startOrigin(respond('hello over TLS', { 'cache-control': 'max-age=60' }));
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-quick-tls-'));
  const ca = join(dir, 'pebble-api-ca.pem');
  await writeFile(ca, pebble.apiCa);
  const run = runCli(
    [
      'start',
      '--origin', origin.url,
      '--listen', '127.0.0.1:0',
      '--https', '127.0.0.1:0',
      '--acme-directory', pebble.directoryUrl,
      '--allow-host', 'shop.quick.test', 'blog.quick.test',
      '--cert-dir', join(dir, 'certs'),
      '--access-log', 'off',
    ],
    { NODE_EXTRA_CA_CERTS: ca },
  );
  t.after(async () => {
    run.child.kill('SIGKILL');
    await origin.close();
    await pebble.stop();
  });
  const [, httpPort] = await run.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
  pebble.routeHttp01(Number(httpPort));
  const [, port] = await run.waitFor(/listening on https:\/\/127\.0\.0\.1:(\d+)/);
  const root = await pebble.root();
  const allowed = await handshake(Number(port), 'shop.quick.test', [root]);
  assert.equal(allowed.authorized, true, allowed.error);
  assert.deepEqual(allowed.names, ['shop.quick.test']);
  const other = await handshake(Number(port), 'elsewhere.quick.test', [root]);
  assert.equal(other.authorized, false, 'a host not allowed gets no certificate');

  const listed = await runCliToEnd(['certs', 'list', '--store', join(dir, 'certs')]);
  assert.equal(listed.code, 0, listed.output);
  assert.match(listed.output, /shop\.quick\.test\s+\d{4}-\d\d-\d\d/);
  assert.doesNotMatch(listed.output, /elsewhere/);
});
