// A folder on disk as an origin, served the way nginx serves a `root`: GET and HEAD, files streamed
// from disk, ETag and Last-Modified, 304s, single byte ranges, a Content-Type from the extension,
// no directory listings — and no way out of the root. Paths are checked before the disk is touched
// (see request-path.ts), and the file actually opened is checked again by its real path, so a
// symlink that leads outside the root is a 404 like any missing file (and a group can fail over).
import { constants, realpathSync, statSync, existsSync, type Stats } from 'node:fs';
import { open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { addAbortSignal, Readable } from 'node:stream';
import mime from 'mime-types';
import { EdgeError } from '../errors.js';
import { evaluateConditionals } from '../http/conditional.js';
import { firstValue, type HeaderMap } from '../http/headers.js';
import { ifRangeAllows, parseRange } from '../http/range.js';
import { compilePathPattern, type PathTest } from '../sites/path-pattern.js';
import { emptyBody, localResponse, READ_METHODS } from './local-response.js';
import type { Origin, OriginRequest, OriginResponse } from './origin.js';
import { decodeRequestPath, FILE_PATH_RULES } from './request-path.js';

export interface CacheControlRule {
  /** Path pattern, as in behaviors: `*` matches any run of characters (slashes too), `?` one. */
  path: string;
  /** The `Cache-Control` value sent for files whose (decoded) path matches. */
  value: string;
}

export interface FolderOriginOptions {
  /** Names the member in logs and `X-Served-By-Origin` (the root path is never shown). */
  name?: string;
  /** The folder served; it must exist. Symlinks in the root itself are resolved once, at start. */
  root: string;
  /** File served for a path ending in `/` (`index.html`); off by default: directories are 404. */
  index?: string | false;
  /** Files and folders whose name starts with `.` (`.git`, `.env`): 404 unless `allow`. */
  dotfiles?: 'deny' | 'allow';
  /** `Cache-Control` by path, first match wins; files matching none get no Cache-Control. */
  cacheControl?: CacheControlRule[];
  /** Bytes read from disk at a time (the stream's highWaterMark). */
  readSize?: number;
}

const ONE_YEAR_IMMUTABLE = 'public, max-age=31536000, immutable';
/** Files up to this size are read whole rather than streamed. */
const WHOLE_READ_BYTES = 256 * 1024;

/** The platform's generated assets, which never change once written (see DESIGN.md). */
export const BLOT_IMMUTABLE_RULES: CacheControlRule[] = ['_thumbnails', '_image_cache', '_avatars', '_assets'].map((folder) => ({
  path: `/*/${folder}/*`,
  value: ONE_YEAR_IMMUTABLE,
}));

const NOT_FOUND = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EISDIR']);
const FORBIDDEN = new Set(['EACCES', 'EPERM']);
// O_NONBLOCK: opening a FIFO someone left in the folder must not hang the request.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
/** On Linux the kernel names the file an fd really is: no race between checking and opening. */
const PROC_FD = existsSync('/proc/self/fd') ? '/proc/self/fd/' : undefined;

interface OpenFile {
  handle: FileHandle;
  stat: Stats;
}

export class FolderOrigin implements Origin {
  readonly name: string;
  /** The root's real path, and the same with a trailing separator for prefix checks. */
  readonly root: string;
  private readonly rootPrefix: string;
  private readonly index: string | false;
  private readonly dotfiles: 'deny' | 'allow';
  private readonly rules: { test: PathTest; value: string }[];
  private readonly readSize: number;

  constructor(options: FolderOriginOptions) {
    this.name = options.name ?? 'folder';
    let root: string;
    try {
      root = realpathSync(options.root);
    } catch (err) {
      throw new Error(`folder origin: ${options.root} cannot be read (${(err as NodeJS.ErrnoException).code})`);
    }
    if (!statSync(root).isDirectory()) throw new Error(`folder origin: ${options.root} is not a directory`);
    this.root = root;
    this.rootPrefix = root.endsWith(sep) ? root : root + sep;
    this.index = options.index ?? false;
    if (this.index !== false && (this.index === '' || /[/\\\0]/.test(this.index) || this.index.startsWith('.'))) {
      throw new Error(`folder origin: index must be a plain file name, not ${JSON.stringify(this.index)}`);
    }
    this.dotfiles = options.dotfiles ?? 'deny';
    this.rules = (options.cacheControl ?? []).map((r) => ({ test: compilePathPattern(r.path), value: r.value }));
    this.readSize = options.readSize ?? 64 * 1024;
  }

  async fetch(req: OriginRequest, signal?: AbortSignal): Promise<OriginResponse> {
    const started = performance.now();
    signal?.throwIfAborted();
    const answer = (status: number, headers?: HeaderMap) => localResponse(this.name, started, req.method, status, headers);
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, { allow: READ_METHODS });
    const decoded = decodeRequestPath(req.path, FILE_PATH_RULES);
    if (!decoded.ok) return answer(decoded.status);
    const segments = decoded.segments;
    if (this.dotfiles === 'deny' && segments.some((s) => s.charCodeAt(0) === 46 /* . */)) return answer(404);

    let file = await this.openInside(segments);
    if (typeof file === 'number') return answer(file);
    const isDirectory = file.stat.isDirectory();
    if (isDirectory) {
      await file.handle.close();
      if (this.index === false) return answer(404);
      // As nginx does: `/dir` → `/dir/`, so relative links in the index resolve inside the folder.
      if (!decoded.trailingSlash) {
        // Rebuilt from the decoded segments: a raw `//host/dir` must not become `Location: //host/dir/`.
        const q = req.path.indexOf('?');
        const path = segments.map(encodeURIComponent).join('/');
        return answer(301, { location: `/${path}/${q < 0 ? '' : req.path.slice(q)}` });
      }
      segments.push(this.index);
      file = await this.openInside(segments);
      if (typeof file === 'number') return answer(file);
    }
    if (!file.stat.isFile() || (decoded.trailingSlash && !isDirectory)) {
      // A socket, a device, a directory named like the index, or `file.txt/`: nothing to serve.
      await file.handle.close();
      return answer(404);
    }
    try {
      signal?.throwIfAborted();
      return await this.serve(req, file, '/' + segments.join('/'), started, signal);
    } catch (err) {
      await file.handle.close().catch(() => {});
      throw err;
    }
  }

  /** Opens root/segments if it really lies inside the root; otherwise the status to answer. */
  private async openInside(segments: string[]): Promise<OpenFile | number> {
    const path = join(this.root, ...segments);
    let handle: FileHandle;
    try {
      handle = await open(path, OPEN_FLAGS);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (NOT_FOUND.has(code)) return 404;
      if (FORBIDDEN.has(code)) return 403;
      throw new EdgeError('origin_connect', `(${this.name}: ${code || (err as Error).message})`, { cause: err });
    }
    try {
      const real = PROC_FD ? await readlink(PROC_FD + handle.fd) : await realpath(path);
      if (real !== this.root && !real.startsWith(this.rootPrefix)) {
        // A symlink leading out of the root: the same answer as a missing file, saying nothing more.
        await handle.close();
        return 404;
      }
      return { handle, stat: await handle.stat() };
    } catch (err) {
      await handle.close().catch(() => {});
      throw new EdgeError('origin_connect', `(${this.name}: ${(err as Error).message})`, { cause: err });
    }
  }

  private async serve(req: OriginRequest, file: OpenFile, path: string, started: number, signal?: AbortSignal): Promise<OriginResponse> {
    const { size, mtimeMs } = file.stat;
    // nginx's form ("mtime-size" in hex), with milliseconds rather than seconds so that a rewrite of
    // the same size within one second still changes it.
    const etag = `"${Math.floor(mtimeMs).toString(16)}-${size.toString(16)}"`;
    const lastModified = new Date(mtimeMs).toUTCString();
    const headers: HeaderMap = { etag, 'last-modified': lastModified, 'accept-ranges': 'bytes' };
    const cacheControl = this.rules.find((r) => r.test(path))?.value;
    if (cacheControl !== undefined) headers['cache-control'] = cacheControl;
    const close = () => void file.handle.close().catch(() => {});

    const condition = evaluateConditionals(req.method, req.headers, 200, etag, lastModified);
    if (condition !== 'none') {
      close();
      return localResponse(this.name, started, req.method, condition === 'not-modified' ? 304 : 412, condition === 'not-modified' ? headers : {});
    }

    headers['content-type'] = mime.contentType(extname(path)) || 'application/octet-stream';
    let status = 200;
    let start = 0;
    let end = size - 1;
    const range = firstValue(req.headers['range']);
    if (range !== undefined && req.method === 'GET' && ifRangeAllows(req.headers, etag, lastModified)) {
      const parsed = parseRange(range, size);
      if (parsed.kind === 'unsatisfiable') {
        close();
        return localResponse(this.name, started, req.method, 416, { 'content-range': `bytes */${size}` });
      }
      // Several ranges get the whole file (RFC 9110 §14.2 allows it): the edge cuts multipart
      // answers itself from the object it caches, so the origin never needs to.
      if (parsed.kind === 'ranges' && parsed.ranges.length === 1) {
        ({ start, end } = parsed.ranges[0]!);
        status = 206;
        headers['content-range'] = `bytes ${start}-${end}/${size}`;
      }
    }
    headers['content-length'] = String(end - start + 1);

    let body: Readable;
    if (req.method === 'HEAD' || end < start) {
      close();
      body = emptyBody();
    } else if (end - start + 1 <= WHOLE_READ_BYTES) {
      // A small file in one read: one trip to the thread pool instead of a stream's several.
      const length = end - start + 1;
      const buffer = Buffer.allocUnsafe(length);
      try {
        const { bytesRead } = await file.handle.read(buffer, 0, length, start);
        if (bytesRead !== length) throw new EdgeError('origin_body', `(${this.name}: the file shrank while being read)`);
      } finally {
        close();
      }
      body = Readable.from([buffer], { objectMode: false });
    } else {
      // The stream owns the handle from here: it closes it at the end, on error and on destroy.
      body = file.handle.createReadStream({ start, end, highWaterMark: this.readSize });
      if (signal) addAbortSignal(signal, body);
    }
    return localResponse(this.name, started, req.method, status, headers, body);
  }

  async close(): Promise<void> {
    // Nothing to let go of: every open file belongs to a body stream, which closes it.
  }
}
