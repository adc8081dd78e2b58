// Vary from a client's side (RFC 9111 §4.1): an origin that negotiates on Accept-Language gets one
// stored variant per language, equivalent spellings share one, `Vary: *` is never stored, an absent
// field is not the same as an empty one, and clients arriving together before the edge knows the
// URL varies still each get their own language. Time moves by the edge's clock (advanced by the
// test), and the first answer is held at the origin until every client has arrived.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, simpleConfig, settled, type TestEdge } from './helpers/edge.js';
import { get, request } from './helpers/client.js';
import { manualClock } from './helpers/clock.js';
import { Gate } from './helpers/gate.js';
import { waitFor } from './helpers/wait.js';

let origin: TestOrigin;
let edge: TestEdge;
/** Holds the answers to /slow until the test opens it. */
const slowGate = new Gate();

/** The body the origin answers for an Accept-Language value (as the origin received it). */
function bodyFor(value: string | undefined): string {
  if (value === undefined) return 'lang=(absent)';
  if (value === '') return 'lang=(empty)';
  return `lang=${value}`;
}

before(async () => {
  origin = await startOrigin((req, res) => {
    const path = req.url ?? '';
    if (path === '/compressible') return compressible(req, res);
    const lang = req.headers['accept-language'];
    const body = bodyFor(lang);
    const send = () => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(Buffer.byteLength(body)),
        'cache-control': 'max-age=60',
        vary: path.startsWith('/star') ? '*' : 'Accept-Language',
      });
      res.end(body);
    };
    if (path.startsWith('/slow')) slowGate.pass(send);
    else send();
  });
  edge = await startEdge(simpleConfig(origin.url));
});

/** A text response the edge compresses itself, varying on Accept-Language, revalidated with 304s. */
function compressible(req: IncomingMessage, res: ServerResponse): void {
  const headers = { etag: '"txt"', 'cache-control': 'max-age=1', vary: 'Accept-Language' };
  if (req.headers['if-none-match'] === '"txt"') {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-type': 'text/plain', 'content-length': String(TEXT.length) });
  res.end(TEXT);
}
const TEXT = 'words that compress well '.repeat(200);

after(async () => {
  await edge.stop();
  await origin.close();
});

const cs = (r: { headers: Record<string, unknown> }) => String(r.headers['cache-status']);
const lang = (value: string) => ({ 'accept-language': value });

test('each language gets its own stored variant; a new language is a vary-miss', async () => {
  const url = `${edge.url}/page`;
  const en = await get(url, lang('en'));
  const fr = await get(url, lang('fr'));
  assert.equal(en.text, 'lang=en');
  assert.equal(fr.text, 'lang=fr');
  assert.match(cs(fr), /fwd=(vary-)?miss; stored/);
  assert.equal(origin.count('/page'), 2);

  const enHit = await get(url, lang('en'));
  const frHit = await get(url, lang('fr'));
  assert.match(cs(enHit), /^blotcdn; hit/);
  assert.match(cs(frHit), /^blotcdn; hit/);
  assert.equal(enHit.text, 'lang=en');
  assert.equal(frHit.text, 'lang=fr');
  assert.equal(origin.count('/page'), 2);

  const de = await get(url, lang('de'));
  assert.equal(de.text, 'lang=de');
  assert.equal(cs(de), 'blotcdn; fwd=vary-miss; stored');
  assert.equal(origin.count('/page'), 3);
  assert.equal((await get(url, lang('en'))).text, 'lang=en', 'the new variant did not displace the others');
});

test('equivalent spellings of the field share a variant', async () => {
  const url = `${edge.url}/spelling`;
  await get(url, lang('en'));
  const spaced = await get(url, lang(' en'));
  assert.match(cs(spaced), /^blotcdn; hit/);
  assert.equal(spaced.text, 'lang=en');

  const list = await get(url, lang('en-GB,fr'));
  assert.equal(list.text, 'lang=en-GB,fr');
  for (const spelling of ['en-GB, fr', 'en-GB ,  fr']) {
    const same = await get(url, lang(spelling));
    assert.match(cs(same), /^blotcdn; hit/, JSON.stringify(spelling));
    assert.equal(same.text, 'lang=en-GB,fr');
  }
  const other = await get(url, lang('fr, en-GB'));
  assert.doesNotMatch(cs(other), /hit/, 'a different order is a different value');
  assert.equal(other.text, 'lang=fr, en-GB');
  assert.equal(origin.count('/spelling'), 3);
});

test('a response with Vary: * is never stored', async () => {
  const a = await get(`${edge.url}/star`, lang('en'));
  const b = await get(`${edge.url}/star`, lang('en'));
  assert.equal(a.text, 'lang=en');
  assert.doesNotMatch(cs(a), /stored/);
  assert.match(cs(a), /detail=vary-star/);
  assert.doesNotMatch(cs(b), /hit|stored/);
  assert.equal(b.text, 'lang=en');
  assert.equal(origin.count('/star'), 2);
});

test('a request without the field does not share the variant of one where it is empty', async () => {
  const url = `${edge.url}/empty`;
  const empty = await get(url, lang(''));
  assert.equal(empty.text, 'lang=(empty)');
  const absent = await get(url);
  assert.equal(absent.text, 'lang=(absent)');
  assert.doesNotMatch(cs(absent), /hit/);
  assert.equal(origin.count('/empty'), 2);

  const emptyHit = await get(url, lang(''));
  const absentHit = await get(url);
  assert.match(cs(emptyHit), /^blotcdn; hit/);
  assert.match(cs(absentHit), /^blotcdn; hit/);
  assert.equal(emptyHit.text, 'lang=(empty)');
  assert.equal(absentHit.text, 'lang=(absent)');
  assert.equal(origin.count('/empty'), 2);
});

test('a successful POST to the URL invalidates every stored variant (RFC 9111 §4.4)', async () => {
  const url = `${edge.url}/invalidate`;
  for (const l of ['en', 'fr']) await get(url, lang(l));
  for (const l of ['en', 'fr']) assert.match(cs(await get(url, lang(l))), /^blotcdn; hit/, l);
  assert.equal(origin.count('/invalidate'), 2);
  const post = await request(url, { method: 'POST', body: 'x' });
  assert.equal(post.status, 200);
  for (const l of ['en', 'fr']) {
    const after = await get(url, lang(l));
    assert.doesNotMatch(cs(after), /hit/, l);
    assert.equal(after.text, `lang=${l}`);
  }
  assert.equal(origin.count('/invalidate'), 5);
});

test(
  'an object the edge compresses keeps Vary: Accept-Encoding after a 304 that lists only the origin’s Vary',
  async (t) => {
    const clock = manualClock(t);
    const url = `${edge.url}/compressible`;
    const headers = { 'accept-language': 'en', 'accept-encoding': 'gzip' };
    const first = await get(url, headers);
    assert.equal(first.text, TEXT);
    await settled(edge);
    const varyOf = (r: { headers: Record<string, unknown> }) => String(r.headers['vary']).toLowerCase().split(/\s*,\s*/).sort();
    assert.deepEqual(varyOf(first), ['accept-encoding', 'accept-language']);
    clock.advance(1100);
    const revalidated = await get(url, headers);
    assert.match(cs(revalidated), /fwd-status=304/);
    assert.deepEqual(varyOf(revalidated), ['accept-encoding', 'accept-language']);
    await settled(edge); // the gzip copy is made in the background
    const hit = await get(url, headers);
    assert.match(cs(hit), /^blotcdn; hit/);
    assert.equal(hit.headers['content-encoding'], 'gzip');
    assert.deepEqual(varyOf(hit), ['accept-encoding', 'accept-language'], 'a gzip body must say it varies on Accept-Encoding');
  },
);

test('concurrent first requests in different languages each get their own language', async () => {
  const url = `${edge.url}/slow`;
  const langs = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'en' : 'fr'));
  const pending = Promise.all(langs.map((l) => request(url, { headers: lang(l) })));
  // The first answer waits at the origin until the other nineteen have joined the first fetch.
  await waitFor(() => edge.edge.runtime.cache.flights.get('http://127.0.0.1/slow')?.joined === 19, 'nineteen requests to join the first fetch');
  slowGate.open();
  const replies = await pending;
  replies.forEach((r, i) => {
    assert.equal(r.status, 200, `request ${i}`);
    assert.equal(r.text, `lang=${langs[i]}`, `request ${i} (${langs[i]}) got another language's body`);
  });
  assert.equal(origin.count('/slow'), 2, 'one origin fetch per language');
  const en = await get(url, lang('en'));
  const fr = await get(url, lang('fr'));
  assert.match(cs(en), /^blotcdn; hit/);
  assert.match(cs(fr), /^blotcdn; hit/);
  assert.equal(en.text, 'lang=en');
  assert.equal(fr.text, 'lang=fr');
});
