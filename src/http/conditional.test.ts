import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateConditionals, strongMatch, weakMatch, NOT_MODIFIED_FIELDS } from './conditional.js';

const LM = 'Mon, 15 Jan 2024 12:00:00 GMT';
const BEFORE = 'Sun, 14 Jan 2024 12:00:00 GMT';
const AFTER = 'Tue, 16 Jan 2024 12:00:00 GMT';
const ETAG = '"v1"';

/** A GET against a 200 with ETag "v1" and Last-Modified LM, unless given explicitly (even as undefined). */
function get(req: Record<string, string | string[]>, ...rest: [status?: number, etag?: string | undefined, lm?: string | undefined]) {
  const status = rest.length > 0 ? rest[0]! : 200;
  const etag = rest.length > 1 ? rest[1] : ETAG;
  const lm = rest.length > 2 ? rest[2] : LM;
  return evaluateConditionals('GET', req, status, etag, lm);
}

describe('entity-tag comparison (RFC 9110 §8.8.3.2)', () => {
  test('weak comparison: opaque tags equal, either may be weak', () => {
    assert.equal(weakMatch('"a"', '"a"'), true);
    assert.equal(weakMatch('W/"a"', '"a"'), true);
    assert.equal(weakMatch('"a"', 'W/"a"'), true);
    assert.equal(weakMatch('W/"a"', 'W/"a"'), true);
    assert.equal(weakMatch('"b"', '"a"'), false);
    assert.equal(weakMatch('W/"b"', 'W/"a"'), false);
  });

  test('strong comparison: both strong and identical', () => {
    assert.equal(strongMatch('"a"', '"a"'), true);
    assert.equal(strongMatch('W/"a"', '"a"'), false);
    assert.equal(strongMatch('"a"', 'W/"a"'), false);
    assert.equal(strongMatch('W/"a"', 'W/"a"'), false);
    assert.equal(strongMatch('"b"', '"a"'), false);
  });

  test('tags are case-sensitive', () => {
    assert.equal(weakMatch('"ABC"', '"abc"'), false);
    assert.equal(strongMatch('"ABC"', '"abc"'), false);
  });

  test('lists: any member may match, quoted commas stay inside their tag', () => {
    assert.equal(weakMatch('"x", W/"a", "y"', '"a"'), true);
    assert.equal(strongMatch('"x",  "a"', '"a"'), true);
    assert.equal(strongMatch('"b,c"', '"b,c"'), true);
    assert.equal(weakMatch('"b,c"', '"b"'), false);
    assert.equal(weakMatch('"b,c"', '"c"'), false);
  });

  test('`*` matches any tag', () => {
    assert.equal(weakMatch('*', '"a"'), true);
    assert.equal(strongMatch('*', '"a"'), true);
  });

  test('nothing matches an absent tag', () => {
    assert.equal(weakMatch('"a"', undefined), false);
    assert.equal(strongMatch('"a"', undefined), false);
  });

  test('unquoted values are not tags', () => {
    assert.equal(weakMatch('a', 'a'), false);
    assert.equal(strongMatch('a', 'a'), false);
  });
});

describe('evaluateConditionals (RFC 9110 §13.2.2)', () => {
  test('no conditional fields: none', () => {
    assert.equal(get({}), 'none');
  });

  describe('If-None-Match', () => {
    test('a matching tag gives 304 for GET and HEAD', () => {
      assert.equal(get({ 'if-none-match': ETAG }), 'not-modified');
      assert.equal(evaluateConditionals('HEAD', { 'if-none-match': ETAG }, 200, ETAG, LM), 'not-modified');
    });

    test('weak comparison: a weak tag matches a strong one and vice versa', () => {
      assert.equal(get({ 'if-none-match': 'W/"v1"' }), 'not-modified');
      assert.equal(get({ 'if-none-match': '"v1"' }, 200, 'W/"v1"'), 'not-modified');
    });

    test('a list containing the tag matches, a list without it does not', () => {
      assert.equal(get({ 'if-none-match': '"x", "v1"' }), 'not-modified');
      assert.equal(get({ 'if-none-match': ['"x"', '"v1"'] }), 'not-modified');
      assert.equal(get({ 'if-none-match': '"x", "y"' }), 'none');
    });

    test('`*` matches when a representation exists', () => {
      assert.equal(get({ 'if-none-match': '*' }), 'not-modified');
    });

    test(
      '`*` matches a current representation even when it has no entity tag (§13.1.2)',
      () => {
        assert.equal(get({ 'if-none-match': '*' }, 200, undefined), 'not-modified');
      },
    );

    test('a match on another method is precondition-failed', () => {
      assert.equal(evaluateConditionals('POST', { 'if-none-match': ETAG }, 200, ETAG, LM), 'precondition-failed');
      assert.equal(evaluateConditionals('PUT', { 'if-none-match': '*' }, 200, ETAG, LM), 'precondition-failed');
    });

    test('its presence makes If-Modified-Since ignored (§13.1.3)', () => {
      // INM does not match, IMS would say "not modified": the result must still be none
      assert.equal(get({ 'if-none-match': '"other"', 'if-modified-since': AFTER }), 'none');
      // INM matches, IMS would say "modified": still 304
      assert.equal(get({ 'if-none-match': ETAG, 'if-modified-since': BEFORE }), 'not-modified');
    });

    test('a tag given when the object has none does not match', () => {
      assert.equal(get({ 'if-none-match': ETAG }, 200, undefined), 'none');
    });
  });

  describe('If-Modified-Since', () => {
    test('not modified since a later or equal date: 304', () => {
      assert.equal(get({ 'if-modified-since': AFTER }), 'not-modified');
      assert.equal(get({ 'if-modified-since': LM }), 'not-modified');
    });

    test('modified since an earlier date: none', () => {
      assert.equal(get({ 'if-modified-since': BEFORE }), 'none');
    });

    test('an invalid date is ignored', () => {
      assert.equal(get({ 'if-modified-since': 'yesterday' }), 'none');
    });

    test('without Last-Modified it cannot match', () => {
      assert.equal(get({ 'if-modified-since': AFTER }, 200, ETAG, undefined), 'none');
    });

    test('only for GET and HEAD', () => {
      assert.equal(evaluateConditionals('HEAD', { 'if-modified-since': AFTER }, 200, ETAG, LM), 'not-modified');
      assert.equal(evaluateConditionals('POST', { 'if-modified-since': AFTER }, 200, ETAG, LM), 'none');
    });
  });

  describe('If-Match', () => {
    test('a strongly matching tag passes', () => {
      assert.equal(get({ 'if-match': ETAG }), 'none');
      assert.equal(get({ 'if-match': '"x", "v1"' }), 'none');
    });

    test('a different tag fails', () => {
      assert.equal(get({ 'if-match': '"other"' }), 'precondition-failed');
    });

    test('weak tags fail (strong comparison)', () => {
      assert.equal(get({ 'if-match': 'W/"v1"' }), 'precondition-failed');
      assert.equal(get({ 'if-match': '"v1"' }, 200, 'W/"v1"'), 'precondition-failed');
    });

    test('`*` passes when the representation has a strong tag', () => {
      assert.equal(get({ 'if-match': '*' }), 'none');
    });

    test(
      '`*` passes for any current representation, with no or a weak entity tag (§13.1.1)',
      () => {
        assert.equal(get({ 'if-match': '*' }, 200, undefined), 'none');
        assert.equal(get({ 'if-match': '*' }, 200, 'W/"v1"'), 'none');
      },
    );

    test('a failing If-Match wins over a matching If-None-Match (step 1 before step 3)', () => {
      assert.equal(get({ 'if-match': '"other"', 'if-none-match': ETAG }), 'precondition-failed');
    });

    test('a passing If-Match goes on to If-None-Match', () => {
      assert.equal(get({ 'if-match': ETAG, 'if-none-match': ETAG }), 'not-modified');
    });

    test('If-Match present makes If-Unmodified-Since ignored', () => {
      assert.equal(get({ 'if-match': ETAG, 'if-unmodified-since': BEFORE }), 'none');
    });
  });

  describe('If-Unmodified-Since', () => {
    test('modified after the date fails', () => {
      assert.equal(get({ 'if-unmodified-since': BEFORE }), 'precondition-failed');
    });

    test('not modified after the date passes', () => {
      assert.equal(get({ 'if-unmodified-since': AFTER }), 'none');
      assert.equal(get({ 'if-unmodified-since': LM }), 'none');
    });

    test('an invalid date is ignored', () => {
      assert.equal(get({ 'if-unmodified-since': 'soon' }), 'none');
    });

    test('a failing If-Unmodified-Since wins over a matching If-None-Match', () => {
      assert.equal(get({ 'if-unmodified-since': BEFORE, 'if-none-match': ETAG }), 'precondition-failed');
    });
  });

  describe('status', () => {
    test('non-2xx responses ignore every condition', () => {
      for (const status of [101, 301, 304, 404, 500]) {
        assert.equal(get({ 'if-none-match': ETAG }, status), 'none', String(status));
        assert.equal(get({ 'if-match': '"other"' }, status), 'none', String(status));
        assert.equal(get({ 'if-modified-since': AFTER }, status), 'none', String(status));
      }
    });

    test('other 2xx statuses are evaluated', () => {
      assert.equal(get({ 'if-none-match': ETAG }, 203), 'not-modified');
      assert.equal(get({ 'if-match': '"other"' }, 299), 'precondition-failed');
    });
  });
});

test('NOT_MODIFIED_FIELDS holds the fields a 304 must carry (RFC 9110 §15.4.5)', () => {
  for (const name of ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary']) {
    assert.ok(NOT_MODIFIED_FIELDS.has(name), name);
  }
  assert.equal(NOT_MODIFIED_FIELDS.has('content-length'), false);
  assert.equal(NOT_MODIFIED_FIELDS.has('content-type'), false);
});
