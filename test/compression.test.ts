// Edge compression, seen from a client: the edge fetches identity from the origin once, says
// `Vary: Accept-Encoding`, and serves br and gzip copies made in the background; what must not be
// compressed is not; conditionals and ranges apply to the representation the client gets; and with
// compression off the origin negotiates (with the client's Accept-Encoding reduced to one coding).
// A background copy is waited for by the compressor's own count of copies under way, never a sleep.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { startOrigin, type TestOrigin } from './helpers/origin.js';
import { startEdge, simpleConfig, settled, type TestEdge } from './helpers/edge.js';
import { get, request, type Reply } from './helpers/client.js';

/** ~20 KB of repetitive HTML (numbered lines, so the compressed body is a few hundred bytes, not tens). */
const HTML = Buffer.from(`<!doctype html><title>t</title>\n${Array.from({ length: 360 }, (_, i) => `<p id="l${i}">The quick brown fox jumps over the lazy dog.</p>\n`).join('')}`);
const PNG = Buffer.alloc(20_000, 7);
const TINY = Buffer.from(`<p>${'x'.repeat(500)}</p>`);
const PRE = gzipSync(HTML);

let origin: TestOrigin;
let edge: TestEdge;

before(async () => {
  origin = await startOrigin((req, res) => {
    const path = req.url ?? '/';
    const html = (extra: Record<string, string> = {}) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': HTML.length, 'cache-control': 'max-age=60', etag: `"${path.slice(1)}-v1"`, ...extra });
      res.end(HTML);
    };
    switch (path) {
      case '/logo.png':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length, 'cache-control': 'max-age=60' });
        return res.end(PNG);
      case '/no-transform.html':
        return html({ 'cache-control': 'max-age=60, no-transform' });
      case '/pre-encoded.html':
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', vary: 'Accept-Encoding', 'content-length': PRE.length, 'cache-control': 'max-age=60' });
        return res.end(PRE);
      case '/tiny.html':
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': TINY.length, 'cache-control': 'max-age=60' });
        return res.end(TINY);
      default:
        return html();
    }
  });
  edge = await startEdge(simpleConfig(origin.url));
});

after(async () => {
  await edge.stop();
  await origin.close();
});

/**
 * Asks for `url` with `acceptEncoding` (a hit that asks for a copy not made yet starts making it),
 * waits until the edge has made it, and asks again: that answer is what the test checks.
 */
async function untilEncoded(url: string, acceptEncoding: string): Promise<Reply> {
  await get(url, { 'accept-encoding': acceptEncoding });
  await settled(edge);
  return get(url, { 'accept-encoding': acceptEncoding });
}

const varies = (r: Reply) => /(^|,)\s*accept-encoding\s*(,|$)/i.test(String(r.headers['vary'] ?? ''));

test('a compressible response is fetched as identity once and served as br and gzip copies', async () => {
  const url = `${edge.url}/page.html`;
  const first = await get(url, { 'accept-encoding': 'br' });
  assert.equal(first.status, 200);
  assert.equal(first.headers['content-encoding'], undefined, 'the first answer is the identity object');
  assert.ok(first.body.equals(HTML));
  assert.ok(varies(first), `Vary: ${first.headers['vary']}`);
  const seen = origin.requests.filter((r) => r.url === '/page.html');
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.headers['accept-encoding'], 'identity', 'the edge asks the origin for identity');
  const identityEtag = first.headers['etag'];
  assert.equal(identityEtag, '"page.html-v1"');

  const br = await untilEncoded(url, 'br');
  assert.equal(br.status, 200);
  assert.equal(br.headers['content-encoding'], 'br', 'a br copy appears after the background compression');
  assert.ok(br.body.length < HTML.length / 4, `compressed ${HTML.length} → ${br.body.length}`);
  assert.ok(brotliDecompressSync(br.body).equals(HTML), 'the br body decompresses to the original');
  assert.equal(br.headers['content-length'], String(br.body.length));
  assert.ok(br.headers['etag'] !== undefined && br.headers['etag'] !== identityEtag, `br ETag ${br.headers['etag']}`);
  assert.ok(varies(br), `Vary: ${br.headers['vary']}`);
  assert.match(String(br.headers['cache-status']), /^blotcdn; hit/);

  const head = await request(url, { method: 'HEAD', headers: { 'accept-encoding': 'br' } });
  assert.equal(head.headers['content-encoding'], 'br');
  assert.equal(head.headers['content-length'], String(br.body.length), 'HEAD announces the br length');
  assert.equal(head.body.length, 0);

  const gzip = await untilEncoded(url, 'gzip, deflate');
  assert.equal(gzip.headers['content-encoding'], 'gzip');
  assert.ok(gunzipSync(gzip.body).equals(HTML), 'the gzip body decompresses to the original');
  assert.equal(gzip.headers['content-length'], String(gzip.body.length));
  assert.ok(gzip.headers['etag'] !== identityEtag && gzip.headers['etag'] !== br.headers['etag'], `gzip ETag ${gzip.headers['etag']}`);
  assert.ok(varies(gzip));

  const plain = await get(url);
  assert.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: identity');
  assert.ok(plain.body.equals(HTML));
  assert.equal(plain.headers['content-length'], String(HTML.length));
  assert.equal(plain.headers['etag'], identityEtag);
  assert.ok(varies(plain));

  const notBr = await get(url, { 'accept-encoding': 'br;q=0, gzip' });
  assert.equal(notBr.headers['content-encoding'], 'gzip', 'br refused with q=0: gzip');
  assert.ok(gunzipSync(notBr.body).equals(HTML));

  assert.equal(origin.count('/page.html'), 1, 'the origin was asked only once for every encoding');
});

test("the first br client's request (a miss) already leads to a br copy for the next one", async () => {
  const url = `${edge.url}/first-asks.html`;
  const miss = await get(url, { 'accept-encoding': 'br' });
  assert.match(String(miss.headers['cache-status']), /fwd=miss; stored/);
  assert.equal(miss.headers['content-encoding'], undefined);
  const compressor = edge.edge.runtime.compressor!;
  const made = compressor.made;
  await settled(edge); // the object is stored, then its br copy made in the background
  assert.equal(compressor.made, made + 1, 'the miss itself asked for the br copy');
  const next = await get(url, { 'accept-encoding': 'br' });
  assert.equal(next.headers['content-encoding'], 'br', 'the copy was made after the first br client asked');
  assert.ok(brotliDecompressSync(next.body).equals(HTML));
});

test('not compressed: an image, no-transform, a body the origin encoded itself, a body below minSize', async () => {
  const cases: [string, Buffer, string | undefined][] = [
    ['/logo.png', PNG, undefined],
    ['/no-transform.html', HTML, undefined],
    ['/pre-encoded.html', PRE, 'gzip'],
    ['/tiny.html', TINY, undefined],
  ];
  const compressor = edge.edge.runtime.compressor!;
  for (const [path, body, encoding] of cases) {
    const made = compressor.made;
    // Several hits, each followed by whatever background work it caused, so a copy (wrongly)
    // asked for would have been made and served by the next one.
    for (let i = 0; i < 4; i++) {
      const r = await get(`${edge.url}${path}`, { 'accept-encoding': 'br, gzip' });
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['content-encoding'], encoding, `${path} (request ${i + 1})`);
      assert.ok(r.body.equals(body), `${path}: the body is the origin's, byte for byte`);
      assert.equal(r.headers['content-length'], String(body.length), path);
      await settled(edge);
    }
    assert.equal(compressor.made, made, `${path}: no compressed copy was made`);
    assert.equal(origin.count(path), 1, `${path} was cached`);
  }
  const noTransform = await get(`${edge.url}/no-transform.html`, { 'accept-encoding': 'br, gzip' });
  assert.match(String(noTransform.headers['cache-control']), /no-transform/);
});

test('If-None-Match with the br ETag gets 304 for a br client; other ETags do not match', async () => {
  const url = `${edge.url}/cond.html`;
  await get(url, { 'accept-encoding': 'br' });
  const br = await untilEncoded(url, 'br');
  assert.equal(br.headers['content-encoding'], 'br');
  const brEtag = String(br.headers['etag']);
  const identityEtag = '"cond.html-v1"';
  assert.notEqual(brEtag, identityEtag);

  const notModified = await get(url, { 'accept-encoding': 'br', 'if-none-match': brEtag });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.body.length, 0);
  assert.equal(notModified.headers['etag'], brEtag);
  assert.ok(varies(notModified), `Vary on the 304: ${notModified.headers['vary']}`);

  const identityTag = await get(url, { 'accept-encoding': 'br', 'if-none-match': identityEtag });
  assert.equal(identityTag.status, 200, "the identity ETag does not name the br representation");
  assert.equal(identityTag.headers['content-encoding'], 'br');
  assert.ok(brotliDecompressSync(identityTag.body).equals(HTML));

  const brTagNoBr = await get(url, { 'if-none-match': brEtag });
  assert.equal(brTagNoBr.status, 200, 'the br ETag does not name the identity representation');
  assert.ok(brTagNoBr.body.equals(HTML));

  const identityMatch = await get(url, { 'if-none-match': identityEtag });
  assert.equal(identityMatch.status, 304);
  assert.equal(identityMatch.headers['etag'], identityEtag);
  assert.equal(origin.count('/cond.html'), 1);
});

test('a Range request from a br client applies to the compressed bytes', async () => {
  const url = `${edge.url}/range.html`;
  await get(url, { 'accept-encoding': 'br' });
  const full = await untilEncoded(url, 'br');
  assert.equal(full.headers['content-encoding'], 'br');
  const size = full.body.length;
  assert.ok(size > 100, `compressed size ${size}`);

  const part = await request(url, { headers: { 'accept-encoding': 'br', range: 'bytes=10-99' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-encoding'], 'br');
  assert.equal(part.headers['content-range'], `bytes 10-99/${size}`);
  assert.equal(part.headers['content-length'], '90');
  assert.ok(part.body.equals(full.body.subarray(10, 100)), 'the slice of the compressed body');

  const tail = await request(url, { headers: { 'accept-encoding': 'br', range: 'bytes=-50' } });
  assert.equal(tail.status, 206);
  assert.equal(tail.headers['content-range'], `bytes ${size - 50}-${size - 1}/${size}`);
  assert.ok(tail.body.equals(full.body.subarray(size - 50)));

  // If-Range compares with the ETag of the representation the client would get (strongly).
  const ifRangeBr = await request(url, { headers: { 'accept-encoding': 'br', range: 'bytes=10-99', 'if-range': String(full.headers['etag']) } });
  assert.equal(ifRangeBr.status, 206);
  assert.ok(ifRangeBr.body.equals(full.body.subarray(10, 100)));
  const ifRangeOther = await request(url, { headers: { 'accept-encoding': 'br', range: 'bytes=10-99', 'if-range': '"range.html-v1"' } });
  assert.equal(ifRangeOther.status, 200, 'the identity ETag in If-Range does not match the br representation');
  assert.ok(ifRangeOther.body.equals(full.body));

  const identityPart = await request(url, { headers: { range: 'bytes=10-99' } });
  assert.equal(identityPart.status, 206);
  assert.equal(identityPart.headers['content-encoding'], undefined);
  assert.equal(identityPart.headers['content-range'], `bytes 10-99/${HTML.length}`);
  assert.ok(identityPart.body.equals(HTML.subarray(10, 100)));
  assert.equal(origin.count('/range.html'), 1);
});

test('with compression disabled nothing is compressed and the origin sees the normalised Accept-Encoding', async (t) => {
  const plainOrigin = await startOrigin((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': HTML.length, 'cache-control': 'max-age=60' });
    res.end(HTML);
  });
  const plainEdge = await startEdge({ ...simpleConfig(plainOrigin.url), cache: { compression: { enabled: false } } });
  t.after(async () => {
    await plainEdge.stop();
    await plainOrigin.close();
  });

  assert.equal(plainEdge.edge.runtime.compressor, undefined, 'nothing that could make a copy in the background');
  for (let i = 0; i < 4; i++) {
    const r = await get(`${plainEdge.url}/a.html`, { 'accept-encoding': 'gzip, deflate' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'], undefined, `request ${i + 1}`);
    assert.ok(r.body.equals(HTML));
    assert.equal(r.headers['vary'], undefined, 'the edge adds no Vary when it does not compress');
    await settled(plainEdge);
  }
  assert.equal(plainOrigin.count('/a.html'), 1);
  assert.equal(plainOrigin.requests[0]!.headers['accept-encoding'], 'gzip');

  const br = await get(`${plainEdge.url}/b.html`, { 'accept-encoding': 'gzip;q=0.5, BR' });
  assert.equal(br.headers['content-encoding'], undefined);
  assert.equal(plainOrigin.requests.find((r) => r.url === '/b.html')?.headers['accept-encoding'], 'br');
});
