// Publishing a version: the file is written once into a content-addressed folder,
// `{root}/{blogID}/{cacheID}/{path}`, which a FolderOrigin (or nginx, or a bucket sync) serves as is.
// Old versions stay on disk, so pages still cached elsewhere that link to them keep working, until
// collect() removes them after a grace period. The manifest is updated last: a URL is handed out
// only once its file exists.
import { mkdir, open, rename, rm, stat, utimes } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { assetKey, normaliseBlogID, type AssetKey } from './asset-key.js';
import { CacheIdHasher, cacheIdOf, cacheIdOfFile, type Content } from './cache-id.js';
import type { Manifest } from './manifest.js';

/** Where versions live, and the manifest that says which one is current. */
export interface AssetStore {
  root: string;
  manifest: Manifest;
}

export interface PublishResult {
  cacheID: string;
  /** The version's file on disk. */
  file: string;
  /** False when this content was already on disk (publishing it again wrote nothing). */
  written: boolean;
  /** The cacheID the manifest pointed to before, when it was another. */
  previous?: string;
}

/** Temporary files are written beside the blogs, never under one, so no URL can reach them. */
export const TEMP_FOLDER = '.blotcdn-tmp';

/** The file of one version: `{root}/{blogID}/{cacheID}/{path}`. */
export function versionFile(root: string, blogID: string, cacheID: string, path: string): string {
  return join(root, blogID, cacheID, ...path.split('/'));
}

/**
 * Writes a version (bytes, or a file streamed) if it is not on disk yet, and makes it current.
 *
 * Times on disk record when a version stopped (or started again) being current, for collect():
 * the version being replaced is touched, and so is an existing file that becomes current again.
 */
export async function publish(store: AssetStore, blogID: string, path: string, content: Content): Promise<PublishResult> {
  const key = assetKey(blogID, path);
  let cacheID = content instanceof Uint8Array ? cacheIdOf(content) : await cacheIdOfFile(content.file);
  let file = versionFile(store.root, key.blogID, cacheID, key.path);
  const previous = store.manifest.lookup(key.blogID, key.path);
  const now = new Date();

  // Already there: touch it if it becomes current again. A file removed by collect() meanwhile
  // (touch fails with ENOENT) is simply written again.
  let written = false;
  if (!(await isFile(file)) || (previous !== cacheID && !(await touch(file, now)))) {
    cacheID = await writeVersion(store.root, key, content);
    file = versionFile(store.root, key.blogID, cacheID, key.path);
    written = true;
  }
  if (previous !== undefined && previous !== cacheID) await touch(versionFile(store.root, key.blogID, previous, key.path), now);
  if (previous !== cacheID) await store.manifest.set(key.blogID, key.path, cacheID);
  return { cacheID, file, written, ...(previous !== undefined && previous !== cacheID ? { previous } : {}) };
}

/** Removes a path from the manifest; its versions stay on disk until collect() finds them old. */
export async function unpublish(store: AssetStore, blogID: string, path: string): Promise<void> {
  const key = assetKey(blogID, path);
  const current = store.manifest.lookup(key.blogID, key.path);
  if (current === undefined) return;
  await touch(versionFile(store.root, key.blogID, current, key.path), new Date());
  await store.manifest.remove(key.blogID, key.path);
}

/** The folder of a blog's versions, for tools that sync it elsewhere. */
export function blogFolder(root: string, blogID: string): string {
  return join(root, normaliseBlogID(blogID));
}

// Streams the content into a temporary file while hashing it, then renames it into place under
// the cacheID of the bytes actually written: a file that changes while it is being published ends
// up under its own (new) cacheID, never under a stale one. Returns that cacheID.
async function writeVersion(root: string, key: AssetKey, content: Content): Promise<string> {
  const tempDir = join(root, TEMP_FOLDER);
  await mkdir(tempDir, { recursive: true });
  const temp = join(tempDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
  const hasher = new CacheIdHasher();
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      if (content instanceof Uint8Array) {
        hasher.update(content);
        await handle.writeFile(content);
      } else {
        for await (const chunk of createReadStream(content.file, { highWaterMark: 256 * 1024 })) {
          hasher.update(chunk as Buffer);
          await handle.write(chunk as Buffer);
        }
      }
    } finally {
      await handle.close();
    }
    const cacheID = hasher.digest();
    const target = versionFile(root, key.blogID, cacheID, key.path);
    // collect() removes empty version folders; if it removed ours between mkdir and rename, again.
    for (let attempt = 1; ; attempt++) {
      await mkdir(dirname(target), { recursive: true });
      try {
        await rename(temp, target);
        return cacheID;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw err;
      }
    }
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw err;
  }
}

/** Sets a file's times to now; false when it does not exist. */
async function touch(file: string, now: Date): Promise<boolean> {
  try {
    await utimes(file, now, now);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
