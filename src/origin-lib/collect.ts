// Removing old versions from the content-addressed folder once nobody should still link to them.
// A version is old when the manifest no longer points to it; it is removed once it has been old
// for longer than the grace period (longer than any page that links to it stays cached). The
// version the manifest points to is never removed, nor is anything outside `{blogID}/{cacheID}/`
// folders (the platform's `_thumbnails`, `_image_cache`, … live beside them).
import { link, lstat, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isBlogID } from './asset-key.js';
import { CACHE_ID_PATTERN } from './cache-id.js';
import { TEMP_FOLDER, versionFile, type AssetStore } from './publish.js';

export interface CollectOptions extends AssetStore {
  /** Grace period: a version is removed once it has been out of the manifest for this long. */
  olderThanMs: number;
  /** The clock (tests). */
  now?: number;
  /** Report what would be removed, remove nothing. */
  dryRun?: boolean;
  /** Also collect blogs the manifest has no entry for at all. Off by default: a blog missing from
   *  the manifest is more likely a manifest that failed to load than a deleted blog. */
  orphans?: boolean;
}

export interface CollectResult {
  /** Removed files, as `{blogID}/{cacheID}/{path}`. */
  removed: string[];
  /** Old versions still inside their grace period. */
  waiting: number;
  /** Current versions seen (never removed). */
  current: number;
  bytes: number;
}

/**
 * When did a version stop being current? publish() touches the version it replaces, so its mtime
 * says; a version replaced by a manifest update made without publish() was not touched, so the
 * current version's mtime (when it was written or became current again) is taken when later.
 */
export async function collect(options: CollectOptions): Promise<CollectResult> {
  const { root, manifest, olderThanMs } = options;
  const now = options.now ?? Date.now();
  await manifest.refresh();
  const result: CollectResult = { removed: [], waiting: 0, current: 0, bytes: 0 };

  for (const blogID of await folders(root)) {
    if (!isBlogID(blogID) || (!options.orphans && !manifest.entries(blogID))) continue;
    for (const cacheID of await folders(join(root, blogID))) {
      if (!CACHE_ID_PATTERN.test(cacheID)) continue;
      const versionRoot = join(root, blogID, cacheID);
      for (const path of await files(versionRoot)) {
        const isCurrent = () => manifest.lookup(blogID, path) === cacheID;
        if (isCurrent()) {
          result.current++;
          continue;
        }
        const file = join(versionRoot, ...path.split('/'));
        const info = await lstat(file);
        const since = Math.max(info.mtimeMs, await currentVersionTime(root, blogID, path, manifest.lookup(blogID, path)));
        if (now - since < olderThanMs) {
          result.waiting++;
          continue;
        }
        if (!options.dryRun && !(await removeUnlessRevived(file, isCurrent, info.mtimeMs))) continue;
        result.removed.push(`${blogID}/${cacheID}/${path}`);
        result.bytes += info.size;
      }
      if (!options.dryRun) await removeEmptyFolders(versionRoot);
    }
  }
  if (!options.dryRun) await removeOldTemporaries(join(root, TEMP_FOLDER), now - olderThanMs);
  return result;
}

async function currentVersionTime(root: string, blogID: string, path: string, cacheID: string | undefined): Promise<number> {
  if (cacheID === undefined) return 0;
  try {
    return (await stat(versionFile(root, blogID, cacheID, path))).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Moves the file aside first, then looks again: if a publish made it current again meanwhile
 * (the manifest points to it, or its mtime moved: publish touches before updating the manifest),
 * it is put back; a publish that found it gone has written it anew, which `link` will not replace.
 */
async function removeUnlessRevived(file: string, isCurrent: () => boolean, mtimeMs: number): Promise<boolean> {
  const aside = `${file}.collect-${randomBytes(6).toString('hex')}`;
  try {
    await rename(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (isCurrent() || (await lstat(aside)).mtimeMs !== mtimeMs) {
    await link(aside, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await rm(aside, { force: true });
    return false;
  }
  await rm(aside, { force: true });
  return true;
}

async function folders(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Files under a folder, as `/`-separated paths relative to it. Symlinks are not followed. */
async function files(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = prefix + entry.name;
    if (entry.isDirectory()) out.push(...(await files(join(dir, entry.name), path + '/')));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Removes empty folders bottom-up, the version folder itself included. */
async function removeEmptyFolders(dir: string): Promise<boolean> {
  let empty = true;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory() || !(await removeEmptyFolders(join(dir, entry.name)))) empty = false;
  }
  if (!empty) return false;
  // Not empty after all (a publish wrote into it meanwhile) or already gone: either is fine.
  return rmdir(dir).then(
    () => true,
    () => false,
  );
}

async function removeOldTemporaries(dir: string, before: number): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const file = join(dir, entry.name);
    const info = await lstat(file).catch(() => undefined);
    if (info && info.mtimeMs < before) await rm(file, { force: true, recursive: true });
  }
}
