// The cluster's answers that a cluster-unaware client must never see: `-MOVED slot host:port`
// (the slot has another owner: follow, and refresh the map), `-ASK slot host:port` (this one
// command goes there, after ASKING), `-TRYAGAIN` (a multi-key command during a slot's move)
// and `-CLUSTERDOWN` (retry with a backoff); and `-READONLY` (a keyless write reached a node
// that is a replica now: refresh the map, retry at its master). Every reply passes through here, so the check
// reads at most a few bytes and allocates nothing; only a redirect is parsed.

import { READONLY_ERROR, isErrorWord, startsWithBytes } from '../resp/error-word.js';

export const enum ClusterReply {
  Other = 0,
  Moved = 1,
  Ask = 2,
  TryAgain = 3,
  ClusterDown = 4,
  ReadOnly = 5,
}

export interface Redirect {
  readonly kind: ClusterReply.Moved | ClusterReply.Ask;
  readonly slot: number;
  /** empty when the node has no endpoint to give (the host that was asked is meant) */
  readonly host: string;
  readonly port: number;
}

const MOVED = Buffer.from('-MOVED ');
const ASK = Buffer.from('-ASK ');
const TRYAGAIN = Buffer.from('-TRYAGAIN');
const CLUSTERDOWN = Buffer.from('-CLUSTERDOWN');

/** What the reply at buf[pos, end) is, from its first bytes. */
export function classifyReply(buf: Uint8Array, pos: number, end: number): ClusterReply {
  if (buf[pos] !== 0x2d || pos + 4 > end) return ClusterReply.Other; // not a simple error
  switch (buf[pos + 1]) {
    case 0x4d: // M
      return startsWithBytes(buf, pos, end, MOVED) ? ClusterReply.Moved : ClusterReply.Other;
    case 0x41: // A
      return startsWithBytes(buf, pos, end, ASK) ? ClusterReply.Ask : ClusterReply.Other;
    case 0x54: // T
      return isErrorWord(buf, pos, end, TRYAGAIN) ? ClusterReply.TryAgain : ClusterReply.Other;
    case 0x43: // C
      return isErrorWord(buf, pos, end, CLUSTERDOWN) ? ClusterReply.ClusterDown : ClusterReply.Other;
    case 0x52: // R
      return isErrorWord(buf, pos, end, READONLY_ERROR) ? ClusterReply.ReadOnly : ClusterReply.Other;
    default:
      return ClusterReply.Other;
  }
}

/**
 * The target of a MOVED or ASK reply at buf[pos, end); null when it is neither or is malformed.
 * The address is split at its last colon: Redis writes IPv6 addresses without brackets.
 */
export function parseRedirect(buf: Buffer, pos: number, end: number): Redirect | null {
  const kind = classifyReply(buf, pos, end);
  if (kind !== ClusterReply.Moved && kind !== ClusterReply.Ask) return null;
  let p = pos + (kind === ClusterReply.Moved ? MOVED.length : ASK.length);
  let lineEnd = buf.indexOf(0x0d, p);
  if (lineEnd < 0 || lineEnd > end) lineEnd = end;
  let slot = 0;
  const slotStart = p;
  while (p < lineEnd && buf[p] >= 0x30 && buf[p] <= 0x39 && p - slotStart < 5) slot = slot * 10 + (buf[p++] - 0x30);
  if (p === slotStart || buf[p] !== 0x20 || slot > 16383) return null;
  p++;
  const colon = buf.lastIndexOf(0x3a, lineEnd - 1);
  if (colon < p) return null;
  let port = 0;
  for (let i = colon + 1; i < lineEnd; i++) {
    const c = buf[i];
    if (c < 0x30 || c > 0x39) return null;
    port = port * 10 + (c - 0x30);
  }
  if (colon + 1 === lineEnd || port > 65535) return null;
  return { kind, slot, host: buf.toString('latin1', p, colon), port };
}
