// What the command says for each kind of failure, from real errors (a second listener on a port, a
// connection to a closed port, a file that is not there): one line naming the problem and what to
// do; anything unforeseen is called a bug and points at --debug.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { ConfigError } from '../config/load.js';
import { CliError, debugWanted, explain } from './fail.js';

async function failureOf(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

const listen = (server: Server, port: number, host: string) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });

test('a listen address in use, or not this machine’s, says which and what to do', async (t) => {
  const first = createServer();
  await listen(first, 0, '127.0.0.1');
  t.after(() => first.close());
  const port = (first.address() as AddressInfo).port;
  const inUse = explain(await failureOf(() => listen(createServer(), port, '127.0.0.1')));
  assert.equal(inUse.expected, true);
  assert.match(inUse.message, new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use .*choose another address`));
  // 192.0.2.0/24 is for documentation: no machine has that address.
  const foreign = explain(await failureOf(() => listen(createServer(), 8080, '192.0.2.254')));
  assert.equal(foreign.message, 'cannot listen on 192.0.2.254:8080: this machine has no such address; use one of its own, or ":8080" for every interface');
});

test('a refused connection and a missing file are named', async () => {
  const closed = createServer();
  await listen(closed, 0, '127.0.0.1');
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const refused = await failureOf(
    () =>
      new Promise((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => resolve(s.destroy()));
        s.once('error', reject);
      }),
  );
  assert.match(explain(refused).message, new RegExp(`^nothing answers at 127\\.0\\.0\\.1:${port} \\(connection refused\\)`));
  const missing = explain(await failureOf(() => readFile('/nonexistent/blotcdn/urls.txt')));
  assert.deepEqual(missing, { message: 'no such file or folder: /nonexistent/blotcdn/urls.txt', expected: true });
});

test('our own errors pass as they are; anything else is a bug that --debug shows', () => {
  assert.deepEqual(explain(new CliError('say what to purge')), { message: 'say what to purge', expected: true });
  const config = new ConfigError('x.yaml', ['listen.http[0]: not a listen address: "nowhere"']);
  assert.deepEqual(explain(config), { message: config.message, expected: true });
  const bug = explain(new TypeError("Cannot read properties of undefined (reading 'port')"));
  assert.equal(bug.expected, false);
  assert.match(bug.message, /^unexpected error: Cannot read properties of undefined \(reading 'port'\) \(this is a bug: run again with --debug or BLOTCDN_DEBUG=1/);
  assert.equal(debugWanted(['node', 'main', 'purge', '--debug'], {}), true);
  assert.equal(debugWanted(['node', 'main'], { BLOTCDN_DEBUG: '1' }), true);
  assert.equal(debugWanted(['node', 'main'], { BLOTCDN_DEBUG: '0' }), false);
  assert.equal(debugWanted(['node', 'main'], {}), false);
});
