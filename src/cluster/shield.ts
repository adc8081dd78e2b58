// The shield tier's purge rule: an edge never refills from its shield a copy older than a purge.
// Commercial CDNs race here — the edge applies a purge, misses, and refetches from a shield that
// has not applied it yet. Here the edge tells the shield, with each fill, when it last purged what
// it asks for (`Blotcdn-Purged-At`, epoch ms); the shield serves nothing it stored at or before
// that time, and joins no fetch of its own that began before it: it goes to its origin (with its
// validators, so an unchanged object costs a 304). The shield need not have heard of the purge.
// Only trusted peers (`node.peers`) may ask for that; the header is never passed on from a client.
import type { Socket } from 'node:net';
import type { AddressList } from '../policy/address-list.js';
import { peerAddress } from '../server/proxy-protocol.js';
import { coversKey, type PurgeTarget } from '../cache/purge-target.js';

export const PURGED_AT = 'blotcdn-purged-at';

/** On a shield: the purge time an edge sent with this request, when the edge is a trusted peer. */
export function peerPurgedAt(headers: Record<string, string | string[] | undefined>, socket: Socket | undefined, peers: AddressList | undefined): number | undefined {
  const value = headers[PURGED_AT];
  if (typeof value !== 'string' || peers === undefined) return undefined;
  if (!peers.has(peerAddress(socket))) return undefined;
  const at = Number(value);
  return Number.isSafeInteger(at) && at > 0 ? at : undefined;
}

/**
 * On an edge: the newest purge still held that may cover `primary` (a tag purge may cover anything:
 * the object's tags are unknown on a miss), or the time a peer edge sent (a shield of a shield
 * passes it up), whichever is later; undefined when neither.
 */
export function purgedAtFor(recent: readonly PurgeTarget[], primary: string, fromPeer: number | undefined): number | undefined {
  let at = fromPeer ?? 0;
  for (let i = recent.length - 1; i >= 0; i--) {
    const t = recent[i]!;
    if (t.at <= at) break; // held purges are in time order: nothing older can raise it
    if (t.kind === 'tag' || coversKey(t, primary)) {
      at = t.at;
      break;
    }
  }
  return at > 0 ? at : undefined;
}
