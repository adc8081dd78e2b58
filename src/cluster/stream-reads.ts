// What the purge bus asks of the stream itself, apart from reading entries: its newest id, and
// whether entries after a member's position are gone (so the member cannot catch up and must stop
// trusting what it holds).
import type { Redis } from 'ioredis';
import { compareIds, infoFields } from './stream-id.js';

/** The newest entry's id, or `0-0` for an empty or absent stream. */
export async function newestId(client: Redis, stream: string): Promise<string> {
  const newest = (await client.xrevrange(stream, '+', '-', 'COUNT', 1)) as [string, string[]][];
  return newest[0]?.[0] ?? '0-0';
}

/**
 * Whether entries after `position` are gone. Trimming removes the oldest entries (without moving
 * max-deleted-entry-id, which only XDEL does), so: XDEL removed one after it, or something was
 * removed and the first entry still held is after the position (conservative: the position's own
 * successor may be it), or the stream is empty though ids after the position were given out.
 */
export async function entriesLostAfter(client: Redis, stream: string, position: string): Promise<boolean> {
  let info: Record<string, unknown>;
  try {
    info = infoFields((await client.xinfo('STREAM', stream)) as unknown[]);
  } catch {
    return false; // no stream at all (and the epoch matched): nothing was ever written
  }
  const after = (field: unknown) => typeof field === 'string' && compareIds(field, position) > 0;
  if (after(info['max-deleted-entry-id'])) return true;
  if (Number(info['entries-added']) === Number(info.length)) return false; // nothing ever removed
  if (Number(info.length) === 0) return after(info['last-generated-id']);
  const first = info['first-entry'] as [string, unknown] | null;
  return first !== null && after(first[0]);
}
