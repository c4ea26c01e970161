import { BULK, canonicalBulkAt } from '../resp/canonical-bulk.js';
import { isGet } from './requests.js';
import type { ClientSession } from './session.js';
import type { RequestRouter } from './requests.js';

// The GETs at the head of a read, found in the read buffer itself: only the canonical
// `*2\r\n$3\r\nGET\r\n$<len>\r\n<key>\r\n` form, complete within the read. Anything else
// (another command, another spelling of the same, a request cut by the read's end) ends
// the run and goes to the decoder.

/**
 * The first canonical GET in buf[pos, n): sets `found` to its key's offset and length and
 * returns where the request ends, or -1 when buf[pos] does not start one.
 */
export function canonicalGetAt(buf: Buffer, pos: number, n: number, found: { keyOff: number; keyLen: number }): number {
  // the shortest request, GET of the empty key, is 19 bytes
  if (pos + 19 > n) return -1;
  if (
    buf[pos] !== 0x2a || buf[pos + 1] !== 0x32 || buf[pos + 2] !== 13 || buf[pos + 3] !== 10 ||
    buf[pos + 4] !== 0x24 || buf[pos + 5] !== 0x33 || buf[pos + 6] !== 13 || buf[pos + 7] !== 10 ||
    !isGet(buf, pos + 8, 3) || buf[pos + 11] !== 13 || buf[pos + 12] !== 10
  ) {
    return -1;
  }
  const end = canonicalBulkAt(buf, pos + 13, n, 10);
  if (end < 0) return -1;
  found.keyOff = BULK.off;
  found.keyLen = BULK.len;
  return end;
}

/** canonicalGetAt's scratch (one per process: a read is handled whole before the next) */
const FOUND = { keyOff: 0, keyLen: 0 };

/**
 * Answers the canonical GETs at the head of buf[from, n) that are cache hits, as the
 * decoder's path would, and returns where the rest of the read starts.
 */
export function serveHitsInPlace(s: ClientSession, router: RequestRouter, buf: Buffer, from: number, n: number): number {
  const cache = s.ctx.cache;
  if (!router.canServeHit(cache)) return from;
  const user = s.state.user as string; // (canServeHit: proven)
  let pos = from;
  for (;;) {
    const end = canonicalGetAt(buf, pos, n, FOUND);
    if (end < 0 || !router.servesKey(buf, FOUND.keyOff, FOUND.keyLen)) break;
    const hit = cache.lookupBytes(buf, FOUND.keyOff, FOUND.keyLen, user, s.state.db, false);
    if (hit === undefined) break; // (looked up again, and counted, by the general path)
    s.observer?.onCommand('get');
    s.serveCached(hit);
    pos = end;
  }
  return pos;
}
