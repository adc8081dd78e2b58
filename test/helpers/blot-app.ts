// A small simulator of the Blot app, for end-to-end tests of blotcdn as its proxy and CDN. It keeps
// the platform's contract: blogs are written to Redis as the app writes them (`domain:{host}` →
// blog_…, the www/apex twin too; custom-domain certificates in `ssl:{host}:latest`); it picks the blog
// from the Host it is sent and serves pages whose asset URLs are absolute `https://cdn.{host}/…`
// (thumbnails, template files, versioned folder files); on the CDN host it serves what the bucket
// does not hold, redirects `/` home and answers `/health`; a publish changes pages, uploads the
// post's thumbnail to the bucket and calls the purge endpoint the app's way (PurgeClient). It can
// go down (connections refused) and come back on the same port. A blog has the platform's page
// shapes — index pages of 10 posts (`/`, `/page/N`), post pages linking their neighbours, tag pages,
// the feed and the archive — and, when the app is told to (`surrogateKeys`), each page names what it
// shows in Surrogate-Key, so a publish can purge only the pages that changed.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Redis } from 'ioredis';
import type { IssuedPair } from './test-ca.js';
import { PurgeClient, type PurgeClientOptions } from './blot-purge-client.js';
import type { S3Server } from './s3-server.js';

export interface Post {
  slug: string;
  title: string;
  tags: string[];
}

export interface Blog {
  id: string;
  handle: string;
  hosts: string[];
  /** Newest first. */
  posts: Post[];
}

const PER_PAGE = 10;

/** What a new post changes on its blog: every index page (they shift), the post and its older neighbour, its tags' pages, feed, archive. */
export function changedBy(blog: Blog): { pages: string[]; tags: string[]; keys: string[] } {
  const [post, previous] = blog.posts;
  const indexPages = Array.from({ length: Math.ceil(blog.posts.length / PER_PAGE) - 1 }, (_, i) => `/page/${i + 2}`);
  const pages = [...indexPages, '/archives', `/${post!.slug}`, ...(previous ? [`/${previous.slug}`] : [])];
  const keys = ['list', ...(previous ? [`post:${previous.slug}`] : []), ...post!.tags.map((t) => `tag:${t}`)];
  return { pages, tags: post!.tags, keys };
}

export interface BlotAppOptions extends Omit<PurgeClientOptions, 'redis'> {
  redis: Redis;
  bucket: S3Server;
  /** The platform's host (blot.im). */
  platform: string;
  /** Pages name what they show in Surrogate-Key (an app that publishes with blotcdn/origin). */
  surrogateKeys?: boolean;
}

const html = (title: string, body: string) => `<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>`;

export class BlotApp {
  readonly purge: PurgeClient;
  readonly blogs = new Map<string, Blog>();
  /** Every request the app answered, as `host path`. */
  readonly seen: string[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly o: BlotAppOptions) {
    this.purge = new PurgeClient(o);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get cdn(): string {
    return `cdn.${this.o.platform}`;
  }

  /** Answers on `port` (0: a free one the first time; the same one when it comes back). */
  async up(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res).catch((err: unknown) => res.destroy(err as Error)));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops answering: connections are refused until up() again. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }

  /** A blog as the app creates one: its Redis keys, and for a custom domain the certificate it holds. */
  async addBlog(handle: string, options: { domain?: string; cert?: IssuedPair; posts?: number; tags?: number } = {}): Promise<Blog> {
    const id = `blog_${Buffer.from(handle.padEnd(16, '.')).toString('hex').slice(0, 32)}`;
    const hosts = [`${handle}.${this.o.platform}`];
    if (options.domain) hosts.push(options.domain, `www.${options.domain}`);
    // Older posts (no thumbnails in the bucket: the app serves them), then `hello`, the newest.
    const tags = Array.from({ length: options.tags ?? 1 }, (_, i) => `topic-${i + 1}`);
    const older = Array.from({ length: (options.posts ?? 1) - 1 }, (_, i) => ({ slug: `post-${i + 1}`, title: `Post ${i + 1}`, tags: [tags[i % tags.length]!] })).reverse();
    const blog: Blog = { id, handle, hosts, posts: [{ slug: 'hello', title: 'Hello', tags: [tags[0]!] }, ...older] };
    this.blogs.set(id, blog);
    await this.o.bucket.put(`${id}/_thumbnails/hello/small.jpg`, `jpeg bytes of ${id}/hello`, { 'content-type': 'image/jpeg' });
    for (const host of hosts) await this.o.redis.set(`domain:${host}`, id);
    if (options.domain && options.cert) {
      const value = JSON.stringify({ fullchain_pem: options.cert.certPem, privkey_pem: options.cert.keyPem });
      for (const host of hosts.slice(1)) await this.o.redis.set(`ssl:${host}:latest`, value);
    }
    return blog;
  }

  /**
   * A new post: the pages change, its thumbnail goes to the bucket (unless `thumbnail: 'app'`), then
   * the blog's hosts are purged the app's way. Resolves with the purge's failure, if any proxy failed.
   */
  async publish(blog: Blog, title: string, options: { thumbnail?: 'bucket' | 'app'; tags?: string[]; purge?: boolean } = {}): Promise<Error | undefined> {
    this.addPost(blog, title, options.tags);
    const slug = blog.posts[0]!.slug;
    if (options.thumbnail !== 'app') await this.o.bucket.put(`${blog.id}/_thumbnails/${slug}/small.jpg`, `jpeg bytes of ${blog.id}/${slug}`, { 'content-type': 'image/jpeg' });
    if (options.purge === false) return undefined;
    return this.purge.flush(blog.hosts).then(() => undefined, (err: Error) => err);
  }

  /** The post alone: the blog's pages change (what publish does before it purges). */
  addPost(blog: Blog, title: string, tags = blog.posts[0]!.tags): void {
    blog.posts.unshift({ slug: title.toLowerCase().replace(/[^a-z0-9]+/g, '-'), title, tags });
  }

  /** Every page of a blog (on one host): index pages, posts, tag pages, feed, archive. */
  pagesOf(blog: Blog): string[] {
    const tags = [...new Set(blog.posts.flatMap((p) => p.tags))];
    const indexPages = Array.from({ length: Math.ceil(blog.posts.length / PER_PAGE) - 1 }, (_, i) => `/page/${i + 2}`);
    return ['/', ...indexPages, ...blog.posts.map((p) => `/${p.slug}`), ...tags.map((t) => `/tagged/${t}`), '/feed.rss', '/archives'];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The host without its port, as Express's req.hostname gives the app (tests listen on other ports than 80/443).
    const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
    const path = (req.url ?? '/').split('?')[0]!;
    this.seen.push(`${host} ${path}`);
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (host === this.cdn) return this.cdnHost(path, send);
    if (host === this.o.platform || host === `www.${this.o.platform}`) {
      return send(200, 'text/html', html('Blot', `<h1>Blot</h1><p>${path}</p>`), { 'set-cookie': 'session=anonymous; HttpOnly', 'cache-control': 'private' });
    }
    if (host.startsWith('preview-')) return send(200, 'text/html', html('Preview', `<p>preview of ${host}</p>`), { 'cache-control': 'no-cache' });
    const blogID = await this.o.redis.get(`domain:${host}`);
    const blog = blogID ? this.blogs.get(blogID) : undefined;
    if (!blog) return send(404, 'text/html', html('No blog', `<p>There is no blog at ${host}</p>`));
    // What reaches the app from the proxy: it logs these (and decides about HTTPS itself).
    const seenBy = `proto=${req.headers['x-forwarded-proto']} ip=${req.headers['x-real-ip']} id=${req.headers['x-request-id'] ? 'yes' : 'no'}`;
    if (path === '/random') return send(302, 'text/plain', '', { location: `/${blog.posts[Math.floor(Math.random() * blog.posts.length)]!.slug}` });
    if (path.startsWith('/draft/stream/')) return send(200, 'text/event-stream', `data: ${path} changed\n\n`, { 'cache-control': 'no-cache' });
    // Blot sends no long freshness for HTML: the proxy's policy keeps it.
    const page = (title: string, body: string, keys: string[], type = 'text/html; charset=utf-8') =>
      send(200, type, type.startsWith('text/html') ? html(title, body) : body, { 'cache-control': 'no-cache', ...(this.o.surrogateKeys ? { 'surrogate-key': keys.join(' ') } : {}) });
    const cdn = `https://${this.cdn}`;
    const assets = `<link rel="stylesheet" href="${cdn}/template/ab/cd/style.css"><script src="${cdn}/folder/v-1a2b3c4d/${blog.id}/app.js"></script>`;
    const item = (p: Post) => `<li><a href="/${p.slug}">${p.title}</a><img src="${cdn}/${blog.id}/_thumbnails/${p.slug}/small.jpg"></li>`;
    const list = (posts: Post[]) => `<ul>${posts.map(item).join('')}</ul>`;
    const n = path === '/' ? 1 : Number(/^\/page\/(\d+)$/.exec(path)?.[1] ?? NaN);
    if (n >= 1 && (n - 1) * PER_PAGE < blog.posts.length) {
      return page(`${blog.handle}`, `${assets}${list(blog.posts.slice((n - 1) * PER_PAGE, n * PER_PAGE))}<!-- ${seenBy} -->`, ['list']);
    }
    if (path === '/feed.rss') return page('', `<rss>${blog.posts.slice(0, PER_PAGE).map((p) => `<item>${p.title}</item>`).join('')}</rss>`, ['list'], 'application/rss+xml');
    if (path === '/archives') return page('Archives', blog.posts.map((p) => p.title).join(', '), ['list']);
    const tag = /^\/tagged\/(.+)$/.exec(path)?.[1];
    if (tag && blog.posts.some((p) => p.tags.includes(tag))) return page(tag, list(blog.posts.filter((p) => p.tags.includes(tag))), [`tag:${tag}`]);
    const at = blog.posts.findIndex((p) => `/${p.slug}` === path);
    if (at >= 0) {
      const post = blog.posts[at]!;
      const newer = blog.posts[at - 1];
      const links = `${newer ? `<a rel="next" href="/${newer.slug}">${newer.title}</a>` : ''}<a rel="prev" href="/${blog.posts[at + 1]?.slug ?? ''}">older</a>`;
      return page(post.title, `${assets}<h1>${post.title}</h1>${item(post)}${links}`, [`post:${post.slug}`]);
    }
    return send(404, 'text/html', html('Not found', '<p>No such page</p>'));
  }

  private cdnHost(path: string, send: (status: number, type: string, body: string, headers?: Record<string, string>) => void): void {
    if (path === '/') return send(301, 'text/plain', '', { location: `https://${this.o.platform}/` });
    if (path === '/health') return send(200, 'text/plain', 'ok');
    const thumb = /^\/(blog_[0-9a-f]{32})\/_thumbnails\/(.+)$/.exec(path);
    // The app's own copy of what the bucket lacks.
    if (thumb) return send(200, 'image/jpeg', `jpeg bytes of ${thumb[1]}/${thumb[2]!.replace('/small.jpg', '')} from the app`);
    if (path.startsWith('/template/')) return send(200, 'text/css', `/* ${path} */ body { margin: 0 }`);
    if (path.startsWith('/folder/v-') || path.startsWith('/documentation/v-')) return send(200, 'text/javascript', `// ${path}`);
    return send(404, 'text/plain', 'not found');
  }

  async close(): Promise<void> {
    this.purge.close();
    await this.down();
  }
}
