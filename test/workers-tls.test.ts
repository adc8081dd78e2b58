// TLS session tickets resume on any worker: the primary makes the ticket key and sends it to every
// worker, so a ticket one worker issued is accepted by the other (with a key per process, a reader
// sent to another worker would pay a full handshake).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { startOrigin, respond } from './helpers/origin.js';
import { startMachine } from './helpers/workers.js';

/** One HTTPS request on a new connection (resuming `session` when given): the worker that answered, whether it resumed, the ticket. */
function once(port: number, session?: Buffer): Promise<{ worker: string; reused: boolean; ticket: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, session, ALPNProtocols: ['http/1.1'] });
    let ticket: Buffer | undefined;
    let text = '';
    socket.on('session', (t: Buffer) => (ticket ??= t));
    socket.on('secureConnect', () => socket.write('GET /page HTTP/1.1\r\nHost: tls.test\r\nConnection: close\r\n\r\n'));
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('end', () => {
      const worker = /x-blotcdn-worker: (w\d+)/i.exec(text)?.[1];
      if (!worker) return reject(new Error(`no worker header in:\n${text}`));
      resolve({ worker, reused: socket.isSessionReused(), ticket });
    });
    socket.on('error', reject);
  });
}

test('a session ticket issued by one worker resumes on the other', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-workers-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const origin = await startOrigin(respond('page', { 'cache-control': 'max-age=60' }));
  t.after(() => origin.close());
  const file = join(dir, 'edge.yaml');
  await writeFile(
    file,
    [
      'listen: { https: "127.0.0.1:0" }',
      'admin: { listen: "127.0.0.1:0" }',
      'log: { access: "off" }',
      `tls: { store: { dir: "${join(dir, 'certs')}" } }`,
      'originGroups:',
      `  app: { members: [ { url: "${origin.url}" } ] }`,
      'sites:',
      '  - hosts: ["*"]',
      '    originGroup: app',
    ].join('\n'),
  );
  const machine = await startMachine(t, ['--config', file, '--workers', '2'], {}, /listening on (https:\/\/\S+)/);
  const port = Number(new URL(machine.url).port);

  const first = await once(port);
  assert.ok(first.ticket, 'a ticket was issued');
  assert.equal(first.reused, false);
  const seen = new Set<string>();
  // Connections are handed to the workers in turn: a few tries reach the other one.
  for (let i = 0; i < 10 && !seen.has(first.worker === 'w1' ? 'w2' : 'w1'); i++) {
    const next = await once(port, first.ticket);
    assert.equal(next.reused, true, `the ticket from ${first.worker} resumed on ${next.worker}`);
    seen.add(next.worker);
  }
  assert.ok(seen.has(first.worker === 'w1' ? 'w2' : 'w1'), `resumed on the worker that did not issue the ticket (seen: ${[...seen].join(', ')})`);
});
