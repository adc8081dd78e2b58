import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { guardRequest, hostAllowed, mediaType, sameOrigin } from './admin-guard.js';
import type { ErrorCode } from '../errors.js';

test('hosts: IP literals, localhost and configured names only (what a rebinding page cannot be)', () => {
  const allowed = new Set(['edge-1.internal']);
  for (const h of ['127.0.0.1:8081', '10.0.0.5', '[::1]:8081', '[fe80::1]', 'localhost', 'LOCALHOST:1', 'a.localhost:9', 'edge-1.internal:8081']) assert.equal(hostAllowed(h, allowed), true, h);
  for (const h of [undefined, '', 'attacker.example', 'localhost.attacker.example', '127.0.0.1.nip.io', 'edge-1.internal.evil', 'x@127.0.0.1', '127.0.0.1:99999999']) assert.equal(hostAllowed(h, allowed), false, String(h));
});

test('origins: only the listener reached as Host, on http', () => {
  assert.equal(sameOrigin('http://127.0.0.1:8081', '127.0.0.1:8081'), true);
  assert.equal(sameOrigin('http://LOCALHOST:8081', 'localhost:8081'), true);
  assert.equal(sameOrigin('http://10.0.0.5', '10.0.0.5:80'), true, 'the default port is implied on both sides');
  for (const [o, h] of [
    ['http://attacker.example', '127.0.0.1:8081'],
    ['http://127.0.0.1:9999', '127.0.0.1:8081'],
    ['https://127.0.0.1:8081', '127.0.0.1:8081'],
    ['null', '127.0.0.1:8081'],
    ['http://127.0.0.1:8081/path', '127.0.0.1:8081'],
    ['http://127.0.0.1:8081', undefined],
  ] as const) assert.equal(sameOrigin(o, h), false, `${o} → ${h}`);
});

test('media types ignore case and parameters', () => {
  assert.equal(mediaType('Application/JSON; charset=utf-8'), 'application/json');
  assert.equal(mediaType(undefined), undefined);
  assert.equal(mediaType(' ;x'), undefined);
});

function refusal(headers: Record<string, string>, method = 'GET', form = false): ErrorCode | undefined {
  try {
    guardRequest({ method, headers } as unknown as IncomingMessage, { allowedHosts: new Set(), checkHost: true, form });
    return undefined;
  } catch (err) {
    return (err as { code: ErrorCode }).code;
  }
}

test('guard: Host, then Origin, then where the browser says it comes from, then the body type', () => {
  const host = '127.0.0.1:8081';
  assert.equal(refusal({ host }), undefined);
  assert.equal(refusal({ host: 'evil.example' }), 'admin_host');
  assert.equal(refusal({ host, origin: 'http://evil.example' }), 'admin_cross_origin');
  assert.equal(refusal({ host, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }), 'admin_cross_origin');
  assert.equal(refusal({ host, 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'cors' }), 'admin_cross_origin', 'another port of the same machine is another origin');
  assert.equal(refusal({ host, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }), undefined, 'following a link to the dashboard');
  assert.equal(refusal({ host, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }, 'POST'), 'admin_cross_origin', 'a form posted from another site');
  assert.equal(refusal({ host, 'content-type': 'text/plain' }, 'POST'), 'admin_content_type');
  assert.equal(refusal({ host }, 'POST'), 'admin_content_type');
  assert.equal(refusal({ host, 'content-type': 'application/json' }, 'POST'), undefined);
  assert.equal(refusal({ host, 'content-type': 'application/x-www-form-urlencoded', origin: `http://${host}` }, 'POST', true), undefined, 'the sign-in form');
  assert.equal(refusal({ host, 'content-type': 'application/json' }, 'POST', true), 'admin_content_type');
});
