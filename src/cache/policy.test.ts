import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canServeStaleOnError,
  correctedInitialAge,
  currentAge,
  decideStorage,
  edgeDirectives,
  freshnessMeta,
  parseHttpDate,
  requestDirectives,
  usability,
  type FreshnessMeta,
  type StorageInput,
} from './policy.js';
import type { HeaderMap } from '../http/headers.js';

/** A fixed instant, on a whole second so HTTP-dates round-trip exactly. */
const T0 = Date.UTC(2024, 0, 15, 12, 0, 0);
const S = 1000;
const DAY = 86_400_000;
const httpDate = (ms: number) => new Date(ms).toUTCString();

/** decideStorage for a GET 200 received instantly at T0, with a Date of T0 unless overridden. */
function decide(responseHeaders: HeaderMap, over: Partial<StorageInput> = {}) {
  return decideStorage({
    method: 'GET',
    status: 200,
    requestHeaders: {},
    responseHeaders: { date: httpDate(T0), ...responseHeaders },
    requestTime: T0,
    responseTime: T0,
    ...over,
  });
}

function meta(over: Partial<FreshnessMeta> = {}): FreshnessMeta {
  const m: FreshnessMeta = {
    responseTime: T0,
    initialAge: 0,
    lifetimeMs: 60 * S,
    freshUntil: T0 + 60 * S,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: 0,
    mustRevalidate: false,
    noCache: false,
    ...over,
  };
  return m;
}

describe('decideStorage: storability (RFC 9111 §3)', () => {
  test('a GET 200 with max-age is storable', () => {
    const d = decide({ 'cache-control': 'max-age=60' });
    assert.equal(d.storable, true);
    assert.equal(d.reason, undefined);
    assert.equal(d.lifetimeMs, 60 * S);
    assert.equal(d.noCache, false);
    assert.equal(d.mustRevalidate, false);
    assert.deepEqual(d.stripFields, []);
  });

  test('methods other than GET are not stored', () => {
    for (const method of ['POST', 'HEAD', 'PUT', 'get']) {
      const d = decide({ 'cache-control': 'max-age=60' }, { method });
      assert.equal(d.storable, false, method);
      assert.equal(d.reason, 'method', method);
    }
  });

  test('206, 304 and 1xx are not stored', () => {
    for (const status of [100, 103, 206, 304]) {
      const d = decide({ 'cache-control': 'max-age=60' }, { status });
      assert.equal(d.storable, false, String(status));
      assert.equal(d.reason, 'status', String(status));
    }
  });

  test('other final statuses with explicit freshness are stored', () => {
    for (const status of [201, 301, 404, 500, 503]) {
      const d = decide({ 'cache-control': 'max-age=60' }, { status });
      assert.equal(d.storable, true, String(status));
    }
  });

  test('request no-store forbids storing (§5.2.1.5)', () => {
    const d = decide({ 'cache-control': 'max-age=60' }, { requestHeaders: { 'cache-control': 'No-Store' } });
    assert.equal(d.storable, false);
    assert.equal(d.reason, 'request-no-store');
  });

  test('other request directives do not forbid storing', () => {
    const d = decide({ 'cache-control': 'max-age=60' }, { requestHeaders: { 'cache-control': 'no-cache, max-age=0' } });
    assert.equal(d.storable, true);
  });

  test('response no-store is not stored (§5.2.2.5), whatever its case', () => {
    for (const cc of ['no-store', 'max-age=60, No-Store', 'public, NO-STORE']) {
      const d = decide({ 'cache-control': cc });
      assert.equal(d.storable, false, cc);
      assert.equal(d.reason, 'no-store', cc);
    }
  });

  test('unqualified private is not stored by a shared cache (§5.2.2.7)', () => {
    const d = decide({ 'cache-control': 'private, max-age=60' });
    assert.equal(d.storable, false);
    assert.equal(d.reason, 'private');
  });

  test('qualified private only strips the listed fields', () => {
    const d = decide({ 'cache-control': 'private="X-User, X-Session", max-age=60' });
    assert.equal(d.storable, true);
    assert.deepEqual(d.stripFields, ['x-user', 'x-session']);
  });

  test('qualified no-cache only strips the listed fields and does not force validation', () => {
    const d = decide({ 'cache-control': 'no-cache="X-Debug", max-age=60' });
    assert.equal(d.storable, true);
    assert.equal(d.noCache, false);
    assert.deepEqual(d.stripFields, ['x-debug']);
  });

  test('unqualified no-cache is stored but must be validated on every use (§5.2.2.4)', () => {
    const d = decide({ 'cache-control': 'no-cache, max-age=60', etag: '"v1"' });
    assert.equal(d.storable, true);
    assert.equal(d.noCache, true);
  });

  test('unqualified no-cache without a validator cannot be revalidated, so is not stored', () => {
    const d = decide({ 'cache-control': 'no-cache, max-age=60' });
    assert.equal(d.storable, false);
    assert.equal(d.reason, 'no-freshness');
  });

  test('no-cache without any freshness but with a validator is stored with lifetime 0', () => {
    const d = decide({ 'cache-control': 'no-cache', etag: '"v1"' });
    assert.equal(d.storable, true);
    assert.equal(d.noCache, true);
    assert.equal(d.lifetimeMs, 0);
  });

  describe('Authorization (§3.5)', () => {
    const auth = { authorization: 'Bearer x' };
    test('a response to a request with Authorization is not stored by default', () => {
      const d = decide({ 'cache-control': 'max-age=60' }, { requestHeaders: auth });
      assert.equal(d.storable, false);
      assert.equal(d.reason, 'authorization');
    });
    for (const cc of ['public, max-age=60', 's-maxage=60', 'must-revalidate, max-age=60']) {
      test(`it is stored when the response has ${cc.split(',')[0]}`, () => {
        const d = decide({ 'cache-control': cc }, { requestHeaders: auth });
        assert.equal(d.storable, true);
      });
    }
    test('proxy-revalidate is not one of the exceptions', () => {
      const d = decide({ 'cache-control': 'proxy-revalidate, max-age=60' }, { requestHeaders: auth });
      assert.equal(d.storable, false);
      assert.equal(d.reason, 'authorization');
    });
  });

  describe('Set-Cookie', () => {
    test('a response setting a cookie is not stored', () => {
      const d = decide({ 'cache-control': 'public, max-age=60', 'set-cookie': ['a=1'] });
      assert.equal(d.storable, false);
      assert.equal(d.reason, 'set-cookie');
    });
    test('no-cache="Set-Cookie" makes it storable without the cookie', () => {
      const d = decide({ 'cache-control': 'no-cache="Set-Cookie", max-age=60', 'set-cookie': 'a=1' });
      assert.equal(d.storable, true);
      assert.ok(d.stripFields.includes('set-cookie'));
      assert.equal(d.noCache, false);
    });
    test('private="set-cookie" makes it storable without the cookie', () => {
      const d = decide({ 'cache-control': 'private="set-cookie", max-age=60', 'set-cookie': 'a=1' });
      assert.equal(d.storable, true);
      assert.deepEqual(d.stripFields, ['set-cookie']);
    });
    test('stripping some other field does not allow the cookie', () => {
      const d = decide({ 'cache-control': 'no-cache="x-foo", max-age=60', 'set-cookie': 'a=1' });
      assert.equal(d.storable, false);
      assert.equal(d.reason, 'set-cookie');
    });
  });

  describe('Vary: * (§4.1)', () => {
    for (const vary of ['*', 'accept-encoding, *', ' * ', ['accept', '*']] as const) {
      test(`Vary ${JSON.stringify(vary)} is not stored`, () => {
        const d = decide({ 'cache-control': 'max-age=60', vary: vary as string | string[] });
        assert.equal(d.storable, false);
        assert.equal(d.reason, 'vary-star');
      });
    }
    test('an ordinary Vary is stored', () => {
      const d = decide({ 'cache-control': 'max-age=60', vary: 'accept-encoding, accept-language' });
      assert.equal(d.storable, true);
    });
  });

  describe('must-understand (§5.2.2.3)', () => {
    const cc = 'must-understand, no-store, max-age=60';
    test('with an understood status, no-store is ignored', () => {
      for (const status of [200, 404, 302, 307]) {
        const d = decide({ 'cache-control': cc }, { status });
        assert.equal(d.storable, true, String(status));
        assert.equal(d.lifetimeMs, 60 * S);
      }
    });
    test('with a status this cache does not understand, it is not stored', () => {
      for (const status of [202, 418, 500]) {
        const d = decide({ 'cache-control': cc }, { status });
        assert.equal(d.storable, false, String(status));
        assert.equal(d.reason, 'must-understand', String(status));
      }
    });
    test('without no-store it still refuses unknown statuses', () => {
      const d = decide({ 'cache-control': 'must-understand, max-age=60' }, { status: 418 });
      assert.equal(d.reason, 'must-understand');
    });
    test('without must-understand, no-store is honoured for understood statuses', () => {
      const d = decide({ 'cache-control': 'no-store, max-age=60' }, { status: 200 });
      assert.equal(d.reason, 'no-store');
    });
  });
});

describe('decideStorage: freshness lifetime (RFC 9111 §4.2.1, §4.2.2)', () => {
  test('s-maxage outranks max-age', () => {
    assert.equal(decide({ 'cache-control': 'max-age=10, s-maxage=100' }).lifetimeMs, 100 * S);
    assert.equal(decide({ 'cache-control': 's-maxage=5, max-age=100' }).lifetimeMs, 5 * S);
  });

  test('max-age outranks Expires', () => {
    const d = decide({ 'cache-control': 'max-age=10', expires: httpDate(T0 + 3600 * S) });
    assert.equal(d.lifetimeMs, 10 * S);
  });

  test('Expires − Date gives the lifetime', () => {
    const d = decide({ expires: httpDate(T0 + 3600 * S) });
    assert.equal(d.storable, true);
    assert.equal(d.lifetimeMs, 3600 * S);
  });

  test('Expires is measured from Date, not from the response time', () => {
    const date = T0 - 60 * S;
    const d = decide({ date: httpDate(date), expires: httpDate(date + 600 * S) });
    assert.equal(d.lifetimeMs, 600 * S);
    assert.equal(d.initialAge, 60);
  });

  test('without Date, Expires is measured from the response time', () => {
    const d = decideStorage({
      method: 'GET',
      status: 200,
      requestHeaders: {},
      responseHeaders: { expires: httpDate(T0 + 120 * S) },
      requestTime: T0,
      responseTime: T0,
    });
    assert.equal(d.lifetimeMs, 120 * S);
  });

  test('an Expires in the past gives lifetime 0', () => {
    const d = decide({ expires: httpDate(T0 - 3600 * S), etag: '"a"' });
    assert.equal(d.storable, true);
    assert.equal(d.lifetimeMs, 0);
  });

  test('an invalid Expires means already expired (§5.3)', () => {
    for (const expires of ['0', 'not a date', '']) {
      const withValidator = decide({ expires, etag: '"a"' });
      assert.equal(withValidator.storable, true, expires);
      assert.equal(withValidator.lifetimeMs, 0, expires);
      // and, not being heuristically fresh either, without a validator it is not worth storing
      const without = decide({ expires, 'last-modified': undefined });
      assert.equal(without.storable, false, expires);
      assert.equal(without.reason, 'no-freshness', expires);
    }
  });

  test('an invalid Expires is not replaced by heuristic freshness', () => {
    const d = decide({ expires: '0', 'last-modified': httpDate(T0 - 10 * DAY) });
    assert.equal(d.lifetimeMs, 0);
  });

  test('an invalid max-age means stale and does not fall back to Expires', () => {
    const d = decide({ 'cache-control': 'max-age=soon', expires: httpDate(T0 + 3600 * S), etag: '"a"' });
    assert.equal(d.storable, true);
    assert.equal(d.lifetimeMs, 0);
  });

  test('duplicated max-age: the first occurrence is used', () => {
    assert.equal(decide({ 'cache-control': ['max-age=30', 'max-age=3000'] }).lifetimeMs, 30 * S);
  });

  test('a huge max-age is capped at 2^31 seconds', () => {
    assert.equal(decide({ 'cache-control': 'max-age=99999999999' }).lifetimeMs, 2 ** 31 * S);
  });

  describe('heuristic freshness (§4.2.2)', () => {
    test('10% of the time since Last-Modified', () => {
      const d = decide({ 'last-modified': httpDate(T0 - 5 * DAY) });
      assert.equal(d.storable, true);
      assert.equal(d.lifetimeMs, DAY / 2);
    });

    test('measured from Date when present', () => {
      const date = T0 - 3600 * S;
      const d = decide({ date: httpDate(date), 'last-modified': httpDate(date - 1000 * S) });
      assert.equal(d.lifetimeMs, 100 * S);
    });

    test('measured from the response time without Date', () => {
      const d = decideStorage({
        method: 'GET',
        status: 200,
        requestHeaders: {},
        responseHeaders: { 'last-modified': httpDate(T0 - 1000 * S) },
        requestTime: T0,
        responseTime: T0,
      });
      assert.equal(d.lifetimeMs, 100 * S);
    });

    test('capped at one day by default', () => {
      assert.equal(decide({ 'last-modified': httpDate(T0 - 100 * DAY) }).lifetimeMs, DAY);
    });

    test('capped at heuristicMaxMs when given', () => {
      const d = decide({ 'last-modified': httpDate(T0 - 5 * DAY) }, { options: { heuristicMaxMs: 3600 * S } });
      assert.equal(d.lifetimeMs, 3600 * S);
    });

    test('not used when an explicit lifetime is present', () => {
      const d = decide({ 'cache-control': 'max-age=0', 'last-modified': httpDate(T0 - 5 * DAY) });
      assert.equal(d.lifetimeMs, 0);
    });

    test('used for heuristically cacheable statuses such as 404, 301 and 410', () => {
      for (const status of [404, 301, 410]) {
        const d = decide({ 'last-modified': httpDate(T0 - 1000 * S) }, { status });
        assert.equal(d.storable, true, String(status));
        assert.equal(d.lifetimeMs, 100 * S, String(status));
      }
    });

    test('not used for statuses that are not heuristically cacheable', () => {
      for (const status of [302, 307, 500, 503, 201]) {
        const d = decide({ 'last-modified': httpDate(T0 - 1000 * S) }, { status });
        assert.equal(d.storable, false, String(status));
        assert.equal(d.reason, 'no-freshness', String(status));
      }
    });

    test('used for any status when the response is public', () => {
      const d = decide({ 'cache-control': 'public', 'last-modified': httpDate(T0 - 1000 * S) }, { status: 302 });
      assert.equal(d.storable, true);
      assert.equal(d.lifetimeMs, 100 * S);
    });

    test('a Last-Modified not before Date gives no heuristic lifetime', () => {
      for (const lm of [T0, T0 + 1000 * S]) {
        const d = decide({ 'last-modified': httpDate(lm) });
        assert.equal(d.storable, false);
        assert.equal(d.reason, 'no-freshness');
      }
    });

    test('nothing at all: no freshness, not stored', () => {
      const d = decide({});
      assert.equal(d.storable, false);
      assert.equal(d.reason, 'no-freshness');
    });

    test('an ETag alone gives no lifetime and is not stored', () => {
      const d = decide({ etag: '"x"' });
      assert.equal(d.storable, false);
      assert.equal(d.reason, 'no-freshness');
    });
  });

  describe('TTL rules', () => {
    test('min raises a shorter explicit lifetime', () => {
      assert.equal(decide({ 'cache-control': 'max-age=10' }, { ttl: { min: 60 * S } }).lifetimeMs, 60 * S);
    });

    test('min leaves a longer explicit lifetime alone', () => {
      assert.equal(decide({ 'cache-control': 'max-age=600' }, { ttl: { min: 60 * S } }).lifetimeMs, 600 * S);
    });

    test('min does not override no-cache', () => {
      const d = decide({ 'cache-control': 'no-cache, max-age=10', etag: '"a"' }, { ttl: { min: 60 * S } });
      assert.equal(d.lifetimeMs, 10 * S);
      assert.equal(d.noCache, true);
    });

    test('min does not override no-store or private', () => {
      assert.equal(decide({ 'cache-control': 'no-store' }, { ttl: { min: 60 * S } }).reason, 'no-store');
      assert.equal(decide({ 'cache-control': 'private, max-age=1' }, { ttl: { min: 60 * S } }).reason, 'private');
    });

    test('min applies to a lifetime from Expires', () => {
      const d = decide({ expires: httpDate(T0 + 10 * S) }, { ttl: { min: 60 * S } });
      assert.equal(d.lifetimeMs, 60 * S);
    });

    test('default replaces heuristic freshness', () => {
      const d = decide({ 'last-modified': httpDate(T0 - 5 * DAY) }, { ttl: { default: 60 * S } });
      assert.equal(d.lifetimeMs, 60 * S);
    });

    test('default gives a lifetime to a response with none', () => {
      const d = decide({}, { ttl: { default: 60 * S } });
      assert.equal(d.storable, true);
      assert.equal(d.lifetimeMs, 60 * S);
    });

    test('default does not replace an explicit lifetime', () => {
      assert.equal(decide({ 'cache-control': 'max-age=10' }, { ttl: { default: 60 * S } }).lifetimeMs, 10 * S);
      assert.equal(decide({ 'cache-control': 'max-age=0', etag: '"a"' }, { ttl: { default: 60 * S } }).lifetimeMs, 0);
    });

    test('default does not apply to statuses that are not heuristically cacheable', () => {
      const d = decide({}, { status: 302, ttl: { default: 60 * S } });
      assert.equal(d.storable, false);
      assert.equal(d.reason, 'no-freshness');
    });

    test('max caps explicit, heuristic and default lifetimes', () => {
      assert.equal(decide({ 'cache-control': 'max-age=3600' }, { ttl: { max: 60 * S } }).lifetimeMs, 60 * S);
      assert.equal(decide({ 'last-modified': httpDate(T0 - 5 * DAY) }, { ttl: { max: 60 * S } }).lifetimeMs, 60 * S);
      assert.equal(decide({}, { ttl: { default: 3600 * S, max: 60 * S } }).lifetimeMs, 60 * S);
    });

    test('max leaves a shorter lifetime alone', () => {
      assert.equal(decide({ 'cache-control': 'max-age=10' }, { ttl: { max: 60 * S } }).lifetimeMs, 10 * S);
    });

    test('force imposes its lifetime over the origin and over max', () => {
      assert.equal(decide({ 'cache-control': 'max-age=10' }, { ttl: { force: 600 * S, max: 60 * S } }).lifetimeMs, 600 * S);
      assert.equal(decide({}, { ttl: { force: 600 * S } }).lifetimeMs, 600 * S);
    });

    test('force clears no-cache and must-revalidate, keeps only the grace', () => {
      const d = decide(
        { 'cache-control': 'no-cache, must-revalidate, max-age=0, stale-while-revalidate=30', etag: '"a"' },
        { ttl: { force: 600 * S }, options: { graceMs: 5 * S } },
      );
      assert.equal(d.storable, true);
      assert.equal(d.lifetimeMs, 600 * S);
      assert.equal(d.noCache, false);
      assert.equal(d.mustRevalidate, false);
      assert.equal(d.staleWhileRevalidateMs, 0);
      assert.equal(d.staleIfErrorMs, 5 * S);
    });

    test("force is the operator's policy: no-store, private, no-cache and Vary: * are overridden", () => {
      for (const cc of ['no-store', 'private', 'no-cache', 'max-age=0, must-revalidate']) {
        const d = decide({ 'cache-control': cc, vary: '*' }, { ttl: { force: 600 * S } });
        assert.equal(d.storable, true, cc);
        assert.equal(d.lifetimeMs, 600 * S);
        assert.equal(d.noCache, false);
        assert.equal(d.mustRevalidate, false);
      }
    });

    test('force leaves a cookie to setCookie, and statuses to the defaults unless listed', () => {
      assert.equal(decide({ 'set-cookie': 'a=1' }, { ttl: { force: 600 * S } }).reason, 'set-cookie');
      const strip = decide({ 'set-cookie': 'a=1' }, { ttl: { force: 600 * S }, setCookie: 'strip' });
      assert.equal(strip.storable, true);
      assert.deepEqual(strip.stripFields, ['set-cookie']);
      assert.equal(decide({}, { ttl: { force: 600 * S }, status: 500 }).reason, 'status', 'a forced year never catches a 500');
      assert.equal(decide({}, { ttl: { force: 600 * S }, status: 302 }).reason, 'status');
    });
  });
});

describe('targeted fields (RFC 9213)', () => {
  test('CDN-Cache-Control outranks Cache-Control', () => {
    const d = decide({ 'cache-control': 'max-age=10', 'cdn-cache-control': 'max-age=100' });
    assert.equal(d.lifetimeMs, 100 * S);
  });

  test('<cdnId>-Cache-Control outranks CDN-Cache-Control, and the id is case-insensitive', () => {
    const headers = { 'cache-control': 'max-age=10', 'cdn-cache-control': 'max-age=100', 'blotcdn-cache-control': 'max-age=5' };
    assert.equal(decide(headers, { options: { cdnId: 'blotcdn' } }).lifetimeMs, 5 * S);
    assert.equal(decide(headers, { options: { cdnId: 'BlotCDN' } }).lifetimeMs, 5 * S);
  });

  test('<cdnId>-Cache-Control is ignored without a cdnId, or for another id', () => {
    const headers = { 'cdn-cache-control': 'max-age=100', 'blotcdn-cache-control': 'max-age=5' };
    assert.equal(decide(headers).lifetimeMs, 100 * S);
    assert.equal(decide(headers, { options: { cdnId: 'other' } }).lifetimeMs, 100 * S);
  });

  test('Surrogate-Control ranks below CDN-Cache-Control and above Cache-Control', () => {
    assert.equal(decide({ 'cache-control': 'max-age=10', 'surrogate-control': 'max-age=50' }).lifetimeMs, 50 * S);
    assert.equal(decide({ 'cdn-cache-control': 'max-age=100', 'surrogate-control': 'max-age=50' }).lifetimeMs, 100 * S);
  });

  test('Surrogate-Control max-age=N+M gives a stale-while-revalidate window', () => {
    const d = decide({ 'surrogate-control': 'max-age=60+30' });
    assert.equal(d.lifetimeMs, 60 * S);
    assert.equal(d.staleWhileRevalidateMs, 30 * S);
  });

  test('an empty targeted field is ignored', () => {
    const d = decide({ 'cdn-cache-control': '', 'cache-control': 'max-age=10' });
    assert.equal(d.lifetimeMs, 10 * S);
    const e = edgeDirectives({ 'blotcdn-cache-control': '', 'cdn-cache-control': 'max-age=7' }, 'blotcdn');
    assert.equal(e.targeted, true);
    assert.equal(e.directives.get('max-age'), '7');
  });

  test('a targeted field replaces Cache-Control entirely (its private or no-store no longer apply)', () => {
    assert.equal(decide({ 'cache-control': 'private', 'cdn-cache-control': 'max-age=60' }).storable, true);
    assert.equal(decide({ 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' }).storable, true);
  });

  test('no-store in a targeted field refuses even when Cache-Control allows', () => {
    const d = decide({ 'cache-control': 'public, max-age=600', 'cdn-cache-control': 'no-store' });
    assert.equal(d.storable, false);
    assert.equal(d.reason, 'no-store');
  });

  test('a targeted field ignores Expires', () => {
    const headers = { 'cdn-cache-control': 'public', expires: httpDate(T0 + 3600 * S) };
    const d = decide(headers);
    assert.equal(d.storable, false);
    assert.equal(d.reason, 'no-freshness');
    // while without the targeted field the same Expires gives the lifetime
    assert.equal(decide({ 'cache-control': 'public', expires: httpDate(T0 + 3600 * S) }).lifetimeMs, 3600 * S);
  });

  test('edgeDirectives reports whether a targeted field was used', () => {
    assert.equal(edgeDirectives({ 'cache-control': 'max-age=1' }).targeted, false);
    assert.equal(edgeDirectives({ 'cdn-cache-control': 'max-age=1' }).targeted, true);
    assert.equal(edgeDirectives({ 'surrogate-control': 'max-age=1' }).targeted, true);
    assert.equal(edgeDirectives({}).directives.size, 0);
  });
});

describe('corrected initial age (RFC 9111 §4.2.3)', () => {
  test('no Age, Date now, no delay: 0', () => {
    assert.equal(correctedInitialAge({ date: httpDate(T0) }, T0, T0), 0);
  });

  test('Age header counts', () => {
    assert.equal(correctedInitialAge({ date: httpDate(T0), age: '30' }, T0, T0), 30);
    assert.equal(correctedInitialAge({ age: ['30', '5'] }, T0, T0), 30);
  });

  test('a Date in the past gives the apparent age', () => {
    assert.equal(correctedInitialAge({ date: httpDate(T0 - 100 * S) }, T0, T0), 100);
  });

  test('a Date in the future gives no negative age', () => {
    assert.equal(correctedInitialAge({ date: httpDate(T0 + 100 * S) }, T0, T0), 0);
  });

  test('the response delay is added to the Age value', () => {
    assert.equal(correctedInitialAge({ date: httpDate(T0), age: '10' }, T0, T0 + 2 * S), 12);
    assert.equal(correctedInitialAge({}, T0, T0 + 3 * S), 3);
  });

  test('the larger of apparent age and corrected Age wins', () => {
    assert.equal(correctedInitialAge({ date: httpDate(T0 - 100 * S), age: '10' }, T0, T0 + 2 * S), 102);
    assert.equal(correctedInitialAge({ date: httpDate(T0 - 5 * S), age: '60' }, T0, T0 + 2 * S), 62);
  });

  test('an invalid Age or Date is ignored', () => {
    assert.equal(correctedInitialAge({ date: 'yesterday', age: 'abc' }, T0, T0), 0);
    assert.equal(correctedInitialAge({ age: '-5' }, T0, T0), 0);
  });

  test('decideStorage reports the initial age and counts it against the lifetime', () => {
    const d = decide({ 'cache-control': 'max-age=60', age: '30' });
    assert.equal(d.initialAge, 30);
    assert.equal(freshnessMeta(d, T0).freshUntil, T0 + 30 * S);
  });

  test('a response older than its lifetime without validator is not stored', () => {
    const d = decide({ 'cache-control': 'max-age=60', age: '100' });
    assert.equal(d.storable, false);
    assert.equal(d.reason, 'no-freshness');
  });

  test('a response older than its lifetime with a validator is stored (it can be revalidated)', () => {
    const d = decide({ 'cache-control': 'max-age=60', age: '100', etag: '"a"' });
    assert.equal(d.storable, true);
    assert.equal(d.initialAge, 100);
  });

  test('parseHttpDate: IMF-fixdate and invalid values', () => {
    assert.equal(parseHttpDate('Mon, 15 Jan 2024 12:00:00 GMT'), T0);
    assert.ok(Number.isNaN(parseHttpDate(['Mon, 15 Jan 2024 12:00:00 GMT', 'garbage'])), 'several lines are no date');
    assert.ok(Number.isNaN(parseHttpDate(undefined)));
    assert.ok(Number.isNaN(parseHttpDate('')));
    assert.ok(Number.isNaN(parseHttpDate('not a date')));
  });
});

describe('stale rules (RFC 9111 §4.2.4, RFC 5861)', () => {
  test('stale-while-revalidate and stale-if-error are read', () => {
    const d = decide({ 'cache-control': 'max-age=60, stale-while-revalidate=30, stale-if-error=600' });
    assert.equal(d.mustRevalidate, false);
    assert.equal(d.staleWhileRevalidateMs, 30 * S);
    assert.equal(d.staleIfErrorMs, 600 * S);
  });

  test('no stale directives: no stale windows', () => {
    const d = decide({ 'cache-control': 'max-age=60' });
    assert.equal(d.staleWhileRevalidateMs, 0);
    assert.equal(d.staleIfErrorMs, 0);
  });

  for (const dir of ['must-revalidate', 'proxy-revalidate']) {
    test(`${dir} forbids stale serving, even with stale directives and a grace`, () => {
      const d = decide(
        { 'cache-control': `max-age=60, ${dir}, stale-while-revalidate=30, stale-if-error=600` },
        { options: { graceMs: 60 * S } },
      );
      assert.equal(d.storable, true);
      assert.equal(d.mustRevalidate, true);
      assert.equal(d.staleWhileRevalidateMs, 0);
      assert.equal(d.staleIfErrorMs, 0);
    });
  }

  test('s-maxage alone forbids stale serving (it implies proxy-revalidate)', () => {
    const d = decide({ 'cache-control': 's-maxage=60' }, { options: { graceMs: 60 * S } });
    assert.equal(d.mustRevalidate, true);
    assert.equal(d.staleIfErrorMs, 0);
    assert.equal(d.staleWhileRevalidateMs, 0);
  });

  test('s-maxage with an explicit stale-while-revalidate honours it', () => {
    const d = decide({ 'cache-control': 's-maxage=60, stale-while-revalidate=30' });
    assert.equal(d.mustRevalidate, false);
    assert.equal(d.staleWhileRevalidateMs, 30 * S);
  });

  test('s-maxage with an explicit stale-if-error honours it', () => {
    const d = decide({ 'cache-control': 's-maxage=60, stale-if-error=120' });
    assert.equal(d.mustRevalidate, false);
    assert.equal(d.staleIfErrorMs, 120 * S);
    assert.equal(d.staleWhileRevalidateMs, 0);
  });

  test('graceMs extends stale-if-error to at least the grace', () => {
    assert.equal(decide({ 'cache-control': 'max-age=60' }, { options: { graceMs: 60 * S } }).staleIfErrorMs, 60 * S);
    assert.equal(decide({ 'cache-control': 'max-age=60, stale-if-error=10' }, { options: { graceMs: 60 * S } }).staleIfErrorMs, 60 * S);
    assert.equal(decide({ 'cache-control': 'max-age=60, stale-if-error=600' }, { options: { graceMs: 60 * S } }).staleIfErrorMs, 600 * S);
  });

  test('an invalid stale-while-revalidate gives no window', () => {
    const d = decide({ 'cache-control': 'max-age=60, stale-while-revalidate=later' });
    assert.equal(d.staleWhileRevalidateMs, 0);
  });
});

describe('freshnessMeta and currentAge', () => {
  test('freshUntil subtracts the initial age', () => {
    const d = decide({ 'cache-control': 'max-age=60, stale-while-revalidate=5', age: '20' }, { responseTime: T0 });
    const m = freshnessMeta(d, T0);
    assert.equal(m.freshUntil, T0 + 40 * S);
    assert.equal(m.lifetimeMs, 60 * S);
    assert.equal(m.initialAge, 20);
    assert.equal(m.staleWhileRevalidateMs, 5 * S);
    assert.equal(m.responseTime, T0);
  });

  test('currentAge = initial age + resident time', () => {
    const m = meta({ initialAge: 20 });
    assert.equal(currentAge(m, T0), 20);
    assert.equal(currentAge(m, T0 + 15 * S), 35);
    assert.equal(currentAge(m, T0 - 15 * S), 20);
  });
});

describe('usability without request directives', () => {
  const m = freshnessMeta(decide({ 'cache-control': 'max-age=60, stale-while-revalidate=30' }), T0);

  test('fresh until the lifetime ends', () => {
    assert.equal(usability(m, T0), 'fresh');
    assert.equal(usability(m, T0 + 59_999), 'fresh');
    assert.equal(usability(m, T0 + 60 * S), 'stale-while-revalidate');
  });

  test('stale-while-revalidate inside the window, revalidate after', () => {
    assert.equal(usability(m, T0 + 89_999), 'stale-while-revalidate');
    assert.equal(usability(m, T0 + 90 * S), 'revalidate');
  });

  test('no-cache always revalidates', () => {
    assert.equal(usability(meta({ noCache: true }), T0), 'revalidate');
  });

  test('mustRevalidate ignores the stale-while-revalidate window', () => {
    const mr = meta({ mustRevalidate: true, staleWhileRevalidateMs: 30 * S });
    assert.equal(usability(mr, T0 + 10 * S), 'fresh');
    assert.equal(usability(mr, T0 + 61 * S), 'revalidate');
  });

  test('a stored response with an initial age expires earlier', () => {
    const aged = freshnessMeta(decide({ 'cache-control': 'max-age=60', age: '50' }), T0);
    assert.equal(usability(aged, T0 + 5 * S), 'fresh');
    assert.equal(usability(aged, T0 + 10 * S), 'revalidate');
  });
});

describe('requestDirectives', () => {
  test('no Cache-Control and no Pragma: undefined (fast path)', () => {
    assert.equal(requestDirectives({}), undefined);
    assert.equal(requestDirectives({ 'cache-control': '' }), undefined);
  });

  test('parses the request directives', () => {
    const r = requestDirectives({ 'cache-control': 'max-age=10, min-fresh=5, max-stale=30, no-store, only-if-cached' });
    assert.deepEqual(r, { noCache: false, noStore: true, maxAge: 10, maxStale: 30, minFresh: 5, onlyIfCached: true });
  });

  test('bare max-stale accepts any staleness', () => {
    assert.equal(requestDirectives({ 'cache-control': 'max-stale' })?.maxStale, Infinity);
  });

  test('invalid numbers are dropped', () => {
    const r = requestDirectives({ 'cache-control': 'max-age=x, max-stale=-1, min-fresh=1.5' });
    assert.ok(r);
    assert.equal(r.maxAge, undefined);
    assert.equal(r.maxStale, undefined);
    assert.equal(r.minFresh, undefined);
  });

  test('no-cache', () => {
    assert.equal(requestDirectives({ 'cache-control': 'No-Cache' })?.noCache, true);
  });

  test('Pragma: no-cache counts only without Cache-Control', () => {
    assert.equal(requestDirectives({ pragma: 'no-cache' })?.noCache, true);
    assert.equal(requestDirectives({ pragma: 'foo, No-Cache' })?.noCache, true);
    assert.equal(requestDirectives({ pragma: ['foo', 'no-cache'] })?.noCache, true);
    assert.equal(requestDirectives({ pragma: 'no-cache', 'cache-control': 'max-age=5' })?.noCache, false);
    assert.equal(requestDirectives({ pragma: 'no-cache-please' }), undefined);
    assert.equal(requestDirectives({ pragma: 'foo' }), undefined);
  });
});

describe('usability with request directives (RFC 9111 §5.2.1)', () => {
  const m = meta(); // lifetime 60 s from T0, no stale windows
  const rd = (cc: string) => {
    const r = requestDirectives({ 'cache-control': cc });
    assert.ok(r);
    return r;
  };

  test('directives that do not restrict behave like none', () => {
    const withSwr = meta({ staleWhileRevalidateMs: 30 * S });
    assert.equal(usability(withSwr, T0 + 10 * S, rd('only-if-cached')), 'fresh');
    assert.equal(usability(withSwr, T0 + 70 * S, rd('only-if-cached')), 'stale-while-revalidate');
    assert.equal(usability(withSwr, T0 + 95 * S, rd('only-if-cached')), 'revalidate');
  });

  test('max-age: older than it needs validation', () => {
    assert.equal(usability(m, T0 + 30 * S, rd('max-age=10')), 'revalidate');
    assert.equal(usability(m, T0 + 30 * S, rd('max-age=30')), 'fresh');
    assert.equal(usability(m, T0 + 30 * S, rd('max-age=60')), 'fresh');
    assert.equal(usability(m, T0, rd('max-age=0')), 'fresh');
    assert.equal(usability(m, T0 + 1, rd('max-age=0')), 'revalidate');
  });

  test('max-age counts the initial age', () => {
    const aged = meta({ initialAge: 20, freshUntil: T0 + 40 * S });
    assert.equal(usability(aged, T0 + 5 * S, rd('max-age=24')), 'revalidate');
    assert.equal(usability(aged, T0 + 5 * S, rd('max-age=25')), 'fresh');
  });

  test('min-fresh: must stay fresh at least that long', () => {
    assert.equal(usability(m, T0 + 30 * S, rd('min-fresh=20')), 'fresh');
    assert.equal(usability(m, T0 + 30 * S, rd('min-fresh=30')), 'fresh');
    assert.equal(usability(m, T0 + 30 * S, rd('min-fresh=31')), 'revalidate');
  });

  test('max-stale with a value accepts that much staleness', () => {
    assert.equal(usability(m, T0 + 90 * S, rd('max-stale=30')), 'fresh');
    assert.equal(usability(m, T0 + 90 * S, rd('max-stale=29')), 'revalidate');
  });

  test('bare max-stale accepts any staleness', () => {
    assert.equal(usability(m, T0 + 1000 * DAY, rd('max-stale')), 'fresh');
  });

  test('max-stale does not override must-revalidate', () => {
    const mr = meta({ mustRevalidate: true });
    assert.equal(usability(mr, T0 + 61 * S, rd('max-stale')), 'revalidate');
    assert.equal(usability(mr, T0 + 10 * S, rd('max-stale')), 'fresh');
  });

  test('request no-cache always revalidates', () => {
    assert.equal(usability(m, T0, rd('no-cache')), 'revalidate');
    assert.equal(usability(m, T0, requestDirectives({ pragma: 'no-cache' })), 'revalidate');
  });

  test('response no-cache revalidates whatever the request accepts', () => {
    assert.equal(usability(meta({ noCache: true }), T0, rd('max-stale')), 'revalidate');
  });

  test('stale-while-revalidate window still applies past max-stale', () => {
    const withSwr = meta({ staleWhileRevalidateMs: 60 * S });
    assert.equal(usability(withSwr, T0 + 100 * S, rd('max-stale=10')), 'stale-while-revalidate');
  });
});

describe('canServeStaleOnError', () => {
  test('inside the stale-if-error window', () => {
    const m = meta({ staleIfErrorMs: 60 * S });
    assert.equal(canServeStaleOnError(m, T0 + 10 * S), true);
    assert.equal(canServeStaleOnError(m, T0 + 119_999), true);
    assert.equal(canServeStaleOnError(m, T0 + 120 * S), false);
  });

  test('no window: only while fresh', () => {
    const m = meta();
    assert.equal(canServeStaleOnError(m, T0 + 59 * S), true);
    assert.equal(canServeStaleOnError(m, T0 + 60 * S), false);
  });

  test('must-revalidate and no-cache forbid it', () => {
    assert.equal(canServeStaleOnError(meta({ staleIfErrorMs: 60 * S, mustRevalidate: true }), T0 + 70 * S), false);
    assert.equal(canServeStaleOnError(meta({ staleIfErrorMs: 60 * S, noCache: true }), T0 + 70 * S), false);
  });

  test('end to end: grace from the options allows serving stale on error', () => {
    const m = freshnessMeta(decide({ 'cache-control': 'max-age=60' }, { options: { graceMs: 3600 * S } }), T0);
    assert.equal(canServeStaleOnError(m, T0 + 1800 * S), true);
    assert.equal(usability(m, T0 + 1800 * S), 'revalidate');
  });

  test('end to end: s-maxage alone forbids it, even with a grace', () => {
    const m = freshnessMeta(decide({ 'cache-control': 's-maxage=60' }, { options: { graceMs: 3600 * S } }), T0);
    assert.equal(canServeStaleOnError(m, T0 + 61 * S), false);
  });
});
