// PROXY protocol headers (v1 text, v2 binary): complete, incomplete, absent and broken.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyHeader } from './proxy-protocol.js';

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function v2(command: number, family: number, addresses: Buffer, tlvs = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(16);
  SIG.copy(head);
  head[12] = 0x20 | command;
  head[13] = family;
  head.writeUInt16BE(addresses.length + tlvs.length, 14);
  return Buffer.concat([head, addresses, tlvs]);
}

describe('PROXY protocol v1', () => {
  test('TCP4, TCP6 and UNKNOWN', () => {
    const h = parseProxyHeader(Buffer.from('PROXY TCP4 192.0.2.1 10.0.0.1 56324 443\r\nGET /'));
    assert.deepEqual(h, { kind: 'ok', length: 41, source: '192.0.2.1' });
    const h6 = parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n'));
    assert.equal(h6.kind === 'ok' && h6.source, '2001:db8::1');
    assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { kind: 'ok', length: 15, source: undefined });
  });

  test('incomplete, absent, malformed', () => {
    assert.equal(parseProxyHeader(Buffer.from('PROX')).kind, 'incomplete');
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 192.0.2.1')).kind, 'incomplete');
    assert.equal(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'none');
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 999.0.2.1 10.0.0.1 1 2\r\n')).kind, 'invalid');
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n')).kind, 'invalid', 'family and address disagree');
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4\r\n')).kind, 'invalid');
    assert.equal(parseProxyHeader(Buffer.from('PROXY ' + 'x'.repeat(120))).kind, 'invalid');
  });
});

describe('PROXY protocol v2', () => {
  test('IPv4 and IPv6 sources; TLVs are skipped', () => {
    const v4 = Buffer.from([198, 51, 100, 7, 10, 0, 0, 1, 0xc3, 0x50, 0x01, 0xbb]);
    const h = parseProxyHeader(Buffer.concat([v2(1, 0x11, v4, Buffer.from([0x04, 0x00, 0x01, 0x00])), Buffer.from('GET')]));
    assert.deepEqual(h, { kind: 'ok', length: 32, source: '198.51.100.7' });
    const v6 = Buffer.alloc(36);
    v6.writeUInt16BE(0x2001, 0);
    v6.writeUInt16BE(0x0db8, 2);
    v6.writeUInt16BE(0x0001, 14);
    const h6 = parseProxyHeader(v2(1, 0x21, v6));
    assert.equal(h6.kind === 'ok' && h6.source, '2001:db8::1');
  });

  test('LOCAL (a health check) names no client; incomplete and unknown versions', () => {
    assert.deepEqual(parseProxyHeader(v2(0, 0x00, Buffer.alloc(0))), { kind: 'ok', length: 16, source: undefined });
    const full = v2(1, 0x11, Buffer.alloc(12));
    assert.equal(parseProxyHeader(full.subarray(0, 20)).kind, 'incomplete');
    assert.equal(parseProxyHeader(SIG.subarray(0, 5)).kind, 'incomplete');
    const bad = Buffer.from(full);
    bad[12] = 0x31;
    assert.equal(parseProxyHeader(bad).kind, 'invalid');
  });
});
