// A hit answered with a prepared head (the hot path) must carry exactly the fields, in exactly the
// order and spelling, that the general path (writeHead) gives the same object: compared here on the
// wire against a hit that takes the general path because it carries a conditional that does not
// match. With no response rules, with static rules (set/add/remove, clientTtl) and with rules that
// use a variable (never prepared), and for an origin that sends Date and one that does not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { send } from './hostile/harness.js';
import { simpleConfig, startEdge } from './helpers/edge.js';
import { startOrigin } from './helpers/origin.js';

/** The response head's lines, Date, Age, ttl and request id values blanked (they change per response). */
function headLines(raw: Buffer): string[] {
  const text = raw.toString('latin1');
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  return head.split('\r\n').map((l) => l.replace(/^(date|age|x-request-id): .*$/i, '$1: <varies>').replace(/; ttl=-?\d+/, '; ttl=<n>'));
}

const RULES = {
  none: {},
  static: { responseHeaders: { set: { 'access-control-allow-origin': '*' }, add: { 'x-extra': ['one', 'two'] }, remove: ['x-powered-by'] } },
  clientTtl: { behaviors: [{ path: '/*', clientTtl: '5m' }] },
  variable: { responseHeaders: { set: { 'x-request-id': '{request_id}' } } },
};

for (const sendsDate of [true, false]) {
  for (const [name, rules] of Object.entries(RULES)) {
    test(`a prepared hit head is the general path's head, field for field (${name} rules, origin ${sendsDate ? 'sends' : 'omits'} Date)`, async (t) => {
      const origin = await startOrigin((_req, res) => {
        res.sendDate = sendsDate;
        res.writeHead(200, { 'content-type': 'text/css', 'cache-control': 'public, max-age=600', etag: '"v1"', 'x-powered-by': 'app', 'content-length': '12' });
        res.end('body { x: 1 }'.slice(0, 12));
      });
      const edge = await startEdge(simpleConfig(origin.url, { sites: [{ name: 'all', hosts: ['*'], originGroup: 'main', ...rules }] }));
      t.after(async () => {
        await edge.stop();
        await origin.close();
      });
      const request = (extra = '') => `GET /style.css HTTP/1.1\r\nHost: blog.test\r\n${extra}\r\n`;
      await send(edge.port, request(), { sentinel: false, endAfter: 1 }); // the miss that stores it
      const prepared = await send(edge.port, request(), { sentinel: false, endAfter: 1 });
      const general = await send(edge.port, request('If-None-Match: "other"\r\n'), { sentinel: false, endAfter: 1 });
      assert.equal(prepared.first?.status, 200);
      assert.match(prepared.first!.headers['cache-status']!, /hit/);
      assert.deepEqual(headLines(prepared.raw), headLines(general.raw));
      assert.equal(prepared.first!.text, general.first!.text);
      if (name === 'variable') assert.notEqual(prepared.first!.headers['x-request-id'], general.first!.headers['x-request-id']);
      if (name === 'static') assert.equal(prepared.first!.headers['x-powered-by'], undefined);
    });
  }
}
