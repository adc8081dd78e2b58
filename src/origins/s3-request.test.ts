import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeS3Key, resolveS3Credentials, s3Address, s3RequestHeaders, s3ResponseHeaders } from './s3-request.js';

describe('encodeS3Key', () => {
  test('keeps unreserved characters and slashes, encodes every other UTF-8 byte in upper-case hex', () => {
    assert.equal(encodeS3Key('a/b-c_d.e~f'), 'a/b-c_d.e~f');
    assert.equal(encodeS3Key('with space.txt'), 'with%20space.txt');
    assert.equal(encodeS3Key('plus+sign'), 'plus%2Bsign');
    assert.equal(encodeS3Key("!'()*&=;,:@$"), '%21%27%28%29%2A%26%3D%3B%2C%3A%40%24');
    assert.equal(encodeS3Key('ü/файл/😀'), '%C3%BC/%D1%84%D0%B0%D0%B9%D0%BB/%F0%9F%98%80');
    assert.equal(encodeS3Key('100%'), '100%25');
  });
});

describe('s3Address', () => {
  test('AWS, virtual-hosted by default', () => {
    assert.deepEqual(s3Address({ bucket: 'blot-cdn', region: 'eu-west-3', pathStyle: false }), {
      origin: 'https://blot-cdn.s3.eu-west-3.amazonaws.com',
      host: 'blot-cdn.s3.eu-west-3.amazonaws.com',
      basePath: '',
    });
  });

  test('path-style on a custom endpoint keeps its port in the Host', () => {
    assert.deepEqual(s3Address({ bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:9000', pathStyle: true }), {
      origin: 'http://127.0.0.1:9000',
      host: '127.0.0.1:9000',
      basePath: '/b',
    });
  });

  test('virtual-hosted on a custom endpoint puts the bucket in front of its host', () => {
    const a = s3Address({ bucket: 'b', region: 'auto', endpoint: 'https://acct.r2.example.com', pathStyle: false });
    assert.equal(a.origin, 'https://b.acct.r2.example.com');
    assert.equal(a.host, 'b.acct.r2.example.com');
  });

  test('refuses what cannot work: dotted buckets virtual-hosted over https, endpoints with paths, bad names', () => {
    assert.throws(() => s3Address({ bucket: 'cdn.blot.im', region: 'us-east-1', pathStyle: false }), /pathStyle/);
    assert.doesNotThrow(() => s3Address({ bucket: 'cdn.blot.im', region: 'us-east-1', pathStyle: true }));
    assert.throws(() => s3Address({ bucket: 'b', region: 'us-east-1', endpoint: 'http://h/s3', pathStyle: true }), /scheme:\/\/host/);
    assert.throws(() => s3Address({ bucket: 'b', region: 'us-east-1', endpoint: 'ftp://h', pathStyle: true }), /http/);
    assert.throws(() => s3Address({ bucket: 'a/b', region: 'us-east-1', pathStyle: true }), /bucket name/);
  });
});

describe('headers', () => {
  test('only conditionals and ranges go to the bucket', () => {
    const out = s3RequestHeaders({
      host: 'blog.example',
      cookie: 'session=secret',
      authorization: 'Bearer x',
      'x-amz-server-side-encryption-customer-key': 'k',
      'x-forwarded-for': '1.2.3.4',
      range: 'bytes=0-9',
      'if-none-match': ['"a"', '"b"'],
      'if-modified-since': 'Wed, 21 Oct 2015 07:28:00 GMT',
    });
    assert.deepEqual(out, { range: 'bytes=0-9', 'if-none-match': '"a", "b"', 'if-modified-since': 'Wed, 21 Oct 2015 07:28:00 GMT' });
  });

  test('x-amz-* response fields are dropped, the rest kept', () => {
    const out = s3ResponseHeaders({ etag: '"e"', 'x-amz-request-id': 'r', 'x-amz-meta-owner': 'o', 'content-type': 'text/css' });
    assert.deepEqual(out, { etag: '"e"', 'content-type': 'text/css' });
  });
});

describe('resolveS3Credentials', () => {
  test('config first, then the standard environment variables, session token included', () => {
    const given = { accessKeyId: 'A', secretAccessKey: 'S' };
    assert.equal(resolveS3Credentials(given, {}), given);
    assert.deepEqual(resolveS3Credentials(undefined, { AWS_ACCESS_KEY_ID: 'EA', AWS_SECRET_ACCESS_KEY: 'ES', AWS_SESSION_TOKEN: 'T' }), {
      accessKeyId: 'EA',
      secretAccessKey: 'ES',
      sessionToken: 'T',
    });
    assert.equal(resolveS3Credentials(undefined, { AWS_ACCESS_KEY_ID: 'EA', AWS_SECRET_ACCESS_KEY: 'ES' })?.sessionToken, undefined);
  });

  test('anonymous signs nothing; no credentials at all is a start-up error, not a silent 403 later', () => {
    assert.equal(resolveS3Credentials('anonymous', { AWS_ACCESS_KEY_ID: 'EA', AWS_SECRET_ACCESS_KEY: 'ES' }), undefined);
    assert.throws(() => resolveS3Credentials(undefined, {}), /no credentials/);
    assert.throws(() => resolveS3Credentials({ accessKeyId: 'A', secretAccessKey: '' }, {}), /secretAccessKey/);
  });
});
