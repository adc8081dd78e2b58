// kill -9 at moments picked by a seeded generator (after so many operations) while objects are stored, URLs purged and the
// disk tier's index saved every 16 changes (snapshot + journal): after each restart every object
// is whole and byte-exact, half-written files are gone, and a purge answered before the kill holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigin } from './helpers/origin.js';
import { get } from './helpers/client.js';
import { runCli, type Running } from './helpers/cli.js';

test('kill -9 while storing, purging and saving the index: consistent after every restart', async (t) => {
  const URLS = 40;
  const bodyOf = (n: number) => Buffer.from(Array.from({ length: 2048 + ((n * 7919) % 60_000) }, (_, i) => (i * 31 + n) & 0xff));
  const origin = await startOrigin((req, res) => {
    const n = Number(/\/obj\/(\d+)/.exec(req.url!)?.[1] ?? 0);
    const body = bodyOf(n);
    res.writeHead(200, { 'content-length': body.length, 'cache-control': 'public, max-age=3600', 'content-type': 'application/octet-stream' });
    res.end(body);
  });
  const dir = await mkdtemp(join(tmpdir(), 'blotcdn-crash-index-'));
  const configFile = join(dir, 'config.json');
  await writeFile(
    configFile,
    JSON.stringify({
      listen: { http: '127.0.0.1:0' },
      admin: { listen: '127.0.0.1:0' },
      log: { access: 'off' },
      cache: { disk: { dir: join(dir, 'cache'), snapshotEvery: 16 }, compression: { enabled: false } },
      originGroups: { o: { members: [{ url: origin.url }] } },
      sites: [{ hosts: ['*'], originGroup: 'o' }],
    }),
  );
  const running: Running[] = [];
  t.after(async () => {
    for (const r of running) r.child.kill('SIGKILL');
    await origin.close();
  });
  const start = async () => {
    const run = runCli(['start', '--workers', '1', '--config', configFile]);
    running.push(run);
    const [, url] = await run.waitFor(/listening on (http:\/\/\S+)/);
    const [, admin] = await run.waitFor(/admin API and dashboard on (http:\/\/[^/\s]+)/);
    return { run, url: url!, admin: admin! };
  };
  const fetchObj = (url: string, n: number) => get(`${url}/obj/${n}`, { host: 'crash.test' });

  // What may be cached per URL: 'purged' once a purge of it was answered (and nothing fetched it since).
  const state = new Map<number, 'purged' | 'maybe'>();
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let round = 0; round < 4; round++) {
    const edge = await start();
    assert.deepEqual(await readdir(join(dir, 'cache', 'tmp')), [], 'half-written files are cleared at start');
    // After the restart: nothing torn, nothing purged comes back.
    for (let n = 0; n < URLS; n++) {
      const res = await fetchObj(edge.url, n);
      assert.equal(res.status, 200, `round ${round} /obj/${n}`);
      assert.ok(res.body.equals(bodyOf(n)), `round ${round} /obj/${n} is whole and byte-exact`);
      if (state.get(n) === 'purged') assert.match(String(res.headers['cache-status']), /fwd=miss/, `round ${round}: /obj/${n} was purged before the kill`);
      state.set(n, 'maybe');
    }
    // Work until the kill lands: after a number of answered operations picked by the generator
    // (so at varied points between two index saves), with one more sent and not yet answered.
    const operation = async () => {
      const n = Math.floor(random() * URLS);
      if (random() < 0.3) {
        const answered = await fetch(`${edge.admin}/purge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://crash.test/obj/${n}` }) }).then(
          (r) => r.ok,
          () => false,
        );
        if (answered) state.set(n, 'purged');
      } else {
        state.set(n, 'maybe'); // stored, or perhaps not, if the kill cuts it off
        await fetchObj(edge.url, n).catch(() => undefined);
      }
    };
    const killAfter = 10 + Math.floor(random() * 60);
    for (let i = 0; i < killAfter; i++) await operation();
    const cutOff = operation();
    edge.run.child.kill('SIGKILL');
    await cutOff;
    await edge.run.exited;
  }
  assert.ok([...state.values()].includes('maybe'));
});
