// The file backend's on-disk text formats, kept apart from the file handling so they can be read,
// tested and versioned on their own. Both are UTF-8, one record per line, fields separated by tabs:
// canonical paths and blog ids can hold neither a tab nor a newline (asset-key.ts refuses them).
//
//   journal.{gen}   S\t{blogID}\t{path}\t{cacheID}   set        appended by every process
//                   D\t{blogID}\t{path}              remove a path
//                   R\t{blogID}                      remove a blog
//   snapshot.{gen}  #blotcdn-manifest 1              header (format version)
//                   {blogID}\t{path}\t{cacheID}\t{path}\t{cacheID}…    one line per blog
import { isBlogID } from './asset-key.js';
import { isCacheID } from './cache-id.js';
import type { Blog, ManifestChange, RawBlog } from './manifest.js';

export const SNAPSHOT_HEADER = '#blotcdn-manifest 1';
const NEWLINE = 10;
const TAB = 9;
const NL = Buffer.from('\n');

/**
 * A batch of changes as journal bytes. The batch starts with a newline: if a writer once died in
 * the middle of a line, the torn line stays on a line of its own (and is skipped) instead of
 * swallowing the first record of the next batch.
 */
export function encodeJournal(changes: ManifestChange[]): Buffer {
  let text = '\n';
  for (const c of changes) {
    if (c.path === null) text += `R\t${c.blogID}\n`;
    else if (c.cacheID === null) text += `D\t${c.blogID}\t${c.path}\n`;
    else text += `S\t${c.blogID}\t${c.path}\t${c.cacheID}\n`;
  }
  return Buffer.from(text, 'utf8');
}

export interface JournalRead {
  changes: ManifestChange[];
  /** Bytes consumed: up to and including the last newline (a line still being written waits). */
  consumed: number;
  /** Lines that are not records (torn by a crash, or from a newer format), skipped. */
  skipped: number;
}

/** Parses journal bytes, ignoring an unfinished last line. */
export function parseJournal(bytes: Buffer): JournalRead {
  const end = bytes.lastIndexOf(NEWLINE);
  if (end < 0) return { changes: [], consumed: 0, skipped: 0 };
  const changes: ManifestChange[] = [];
  let skipped = 0;
  for (const line of bytes.toString('utf8', 0, end).split('\n')) {
    if (line === '') continue;
    const f = line.split('\t');
    if (f[0] === 'S' && f.length === 4 && isBlogID(f[1]!) && f[2] !== '' && isCacheID(f[3]!)) {
      changes.push({ blogID: f[1]!, path: f[2]!, cacheID: f[3]! });
    } else if (f[0] === 'D' && f.length === 3 && isBlogID(f[1]!) && f[2] !== '') {
      changes.push({ blogID: f[1]!, path: f[2]!, cacheID: null });
    } else if (f[0] === 'R' && f.length === 2 && isBlogID(f[1]!)) {
      changes.push({ blogID: f[1]!, path: null, cacheID: null });
    } else {
      skipped++;
    }
  }
  return { changes, consumed: end + 1, skipped };
}

/**
 * Parses a snapshot into blog id → RawBlog, without decoding the entries: each blog keeps a view of
 * its line's bytes (no copy) and is decoded on first lookup. This is what makes loading tens of
 * thousands of blogs cheap.
 */
export function parseSnapshot(bytes: Buffer, into: Map<string, Blog | RawBlog>): void {
  let start = 0;
  const firstEnd = bytes.indexOf(NEWLINE);
  const header = bytes.toString('utf8', 0, firstEnd < 0 ? bytes.length : firstEnd);
  if (header !== SNAPSHOT_HEADER) throw new Error(`not a blotcdn manifest snapshot (first line ${JSON.stringify(header.slice(0, 40))})`);
  start = firstEnd + 1;
  while (start > 0 && start < bytes.length) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    const tab = bytes.indexOf(TAB, start);
    if (tab > start && tab < end) {
      const blogID = bytes.toString('latin1', start, tab);
      if (isBlogID(blogID)) into.set(blogID, bytes.subarray(tab + 1, end));
    }
    start = end + 1;
  }
}

/** Writes a state map as snapshot chunks; raw blogs are copied as bytes, never decoded. */
export function* encodeSnapshot(blogs: Map<string, Blog | RawBlog>): Generator<Buffer> {
  const CHUNK = 1 << 20;
  let parts: Buffer[] = [Buffer.from(SNAPSHOT_HEADER + '\n')];
  let size = parts[0]!.length;
  for (const [blogID, state] of blogs) {
    if (Buffer.isBuffer(state)) {
      if (state.length === 0) continue;
      parts.push(Buffer.from(blogID + '\t', 'latin1'), state, NL);
      size += blogID.length + state.length + 2;
    } else {
      const flat = state instanceof Map ? [...state].flat() : state;
      if (flat.length === 0) continue;
      const line = Buffer.from(`${blogID}\t${flat.join('\t')}\n`, 'utf8');
      parts.push(line);
      size += line.length;
    }
    if (size >= CHUNK) {
      yield Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(parts, size);
}
