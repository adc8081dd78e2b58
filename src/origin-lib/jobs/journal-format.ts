// The job journal's line format: `{crc32 of the JSON, 8 hex}\t{JSON}\n`, one job state per line. A
// batch starts with a newline, so a line torn by a process killed mid-write stays on a line of its
// own; the checksum then tells a torn or garbled line from a record, and such lines are skipped.
import { crc32 } from 'node:zlib';

export interface JournalRead<T> {
  records: T[];
  /** Bytes consumed: up to and including the last newline (a line still being written waits). */
  consumed: number;
  /** Lines that were not intact records. */
  skipped: number;
}

/** Records as one batch of journal bytes. */
export function encodeRecords(records: Iterable<unknown>): Buffer {
  let text = '\n';
  for (const record of records) {
    const json = JSON.stringify(record);
    text += `${crc32(json).toString(16).padStart(8, '0')}\t${json}\n`;
  }
  return Buffer.from(text, 'utf8');
}

/** Parses journal bytes; an unfinished last line is left for the next read. */
export function parseRecords<T>(bytes: Buffer): JournalRead<T> {
  const end = bytes.lastIndexOf(10);
  if (end < 0) return { records: [], consumed: 0, skipped: 0 };
  const records: T[] = [];
  let skipped = 0;
  for (const line of bytes.toString('utf8', 0, end).split('\n')) {
    if (line === '') continue;
    const json = line.slice(9);
    if (line.charCodeAt(8) !== 9 || line.slice(0, 8) !== crc32(json).toString(16).padStart(8, '0')) {
      skipped++;
      continue;
    }
    try {
      records.push(JSON.parse(json) as T);
    } catch {
      skipped++;
    }
  }
  return { records, consumed: end + 1, skipped };
}
