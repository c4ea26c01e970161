import { encodeCommand, NIL_RESP2, NIL_RESP3 } from '../resp/encode.js';
import { parseRedisInt } from '../resp/redis-int.js';
import { fanoutSpecOf, FanoutReplyError, KeyFanout, type FanoutSpec } from '../commands/key-fanout.js';
import { NO_TRACKING_NEEDED } from '../backend/invalidation-link.js';
import type { FillTicket, ReplyCache } from '../cache/reply-cache.js';
import { Kind, Pending } from './pending.js';
import type { ClientSession } from './session.js';
import type { RequestRouter } from './requests.js';

// MGET through the cache (issue 18): each key is looked up as a GET's would be; the cached
// ones stand in for their elements (KeyFanout.setValue), the missing ones go to Redis as one
// MGET with a PTTL of each behind it, in the same write, and the reply is merged in request
// order, byte for byte what Redis sends for the whole MGET. The cluster's split by slot uses
// the same KeyFanout: here the two groups are "cached" and "missing".
//
//   MGET a b c   (b cached)  ──▶ Ready record: *3 A B C   when a, c are cached too
//                            ──▶ MGET a c, PTTL a, PTTL c; Mget record (1 + 2 replies)
//
// A missing key's element fills the cache under a GET's rules: a ticket taken when sent,
// a value needs PTTL -1 or >= 0, a nil needs PTTL -2 (MGET answers nil for a key of another
// type, where GET answers WRONGTYPE: its PTTL is not -2, so it is not kept), at most 1 MiB.

const MAX_BULK_CACHED = 1024 * 1024;
const CACHED = 0;
const MISSING = 1;
const MGET_SPEC = fanoutSpecOf('mget') as FanoutSpec;

/** What an MGET that went to Redis needs when its replies are in (on its Pending record). */
export class MgetJob {
  /** the MGET reply has been paired (the PTTLs follow) */
  answered = false;
  /** per ticket: the value taken from the MGET reply (null: nil), and whether it may fill */
  readonly values: Array<string | null> = [];
  readonly ok: boolean[] = [];
  private ttlAt = 0;

  constructor(
    readonly fanout: KeyFanout,
    /** the group of missing keys */
    readonly group: number,
    /** some elements come from the cache: the client gets the merge, not Redis's reply */
    readonly merged: boolean,
    /** per PTTL sent, in order: the key index and its ticket */
    readonly keys: number[],
    readonly tickets: FillTicket[],
    readonly trackGen: number,
  ) {}

  /** Pair one reply; returns true when the record is complete. */
  take(s: ClientSession, p: Pending, buf: Buffer, start: number, end: number, inChunk: boolean): boolean {
    if (!this.answered) {
      this.answered = true;
      this.onMget(s, buf, start, end, inChunk);
    } else {
      this.onPttl(s, buf, start, end);
    }
    return --p.count === 0;
  }

  private onMget(s: ClientSession, buf: Buffer, start: number, end: number, inChunk: boolean): void {
    const t = buf[start];
    const frame = buf.subarray(start, end);
    let parsed = false;
    if (t !== 0x2d && t !== 0x21) {
      s.state.prove();
      try {
        this.fanout.setReply(this.group, frame);
        parsed = true;
      } catch (e) {
        if (!(e instanceof FanoutReplyError)) throw e;
      }
    }
    // an error (NOPERM...) or a reply of another shape goes on as is, and fills nothing
    if (!parsed || !this.merged) {
      if (inChunk) s.out.addSlice(buf, start, end);
      else s.out.add(buf);
    } else {
      s.out.add(this.fanout.merge());
    }
    for (let i = 0; i < this.keys.length; i++) {
      let value: string | null = null;
      let ok = false;
      if (parsed) {
        const el = this.fanout.element(this.keys[i]);
        if (el[0] === 0x24 && el[1] !== 0x2d) {
          // a copy (a slice would keep the whole socket chunk alive in the cache)
          ok = el.length <= MAX_BULK_CACHED;
          value = ok ? el.toString('latin1') : null;
        } else if (el[0] === 0x5f || (el[0] === 0x24 && el[1] === 0x2d)) {
          ok = true;
        }
      }
      this.values.push(value);
      this.ok.push(ok);
    }
  }

  /** The PTTL behind one missing key: store its element if consistent and still tracked (as a GET's fill). */
  private onPttl(s: ClientSession, buf: Buffer, start: number, end: number): void {
    const i = this.ttlAt++;
    const cache = s.ctx.cache;
    if (!this.ok[i] || cache === null) return;
    let ttl = NaN;
    if (buf[start] === 0x3a) ttl = parseRedisInt(buf, start + 1, end - 2);
    const value = this.values[i];
    const consistent = value !== null ? ttl === -1 || ttl >= 0 : ttl === -2;
    const upstream = s.upstream;
    if (!consistent || upstream === null || !upstream.stillTracked(this.trackGen)) return;
    const owner = this.trackGen !== NO_TRACKING_NEEDED ? upstream.fillOwner : null;
    cache.completeFill(this.tickets[i], value, ttl >= 0 ? ttl : null, owner);
  }
}

/**
 * Route `MGET k1 … kn` (args[0] is MGET, buf[start, end) its bytes) through the cache, which
 * the caller found usable. Every key cached: a Ready record. Otherwise the missing keys go
 * to Redis, with their PTTLs, and an Mget record pairs the replies.
 */
export function routeMget(s: ClientSession, router: RequestRouter, cache: ReplyCache, args: Buffer[], buf: Buffer, start: number, end: number): void {
  const user = s.state.user;
  const db = s.state.db;
  const hits: Array<string | null | undefined> = new Array(args.length - 1);
  // (an unproven user is served nothing, as for GET: every key goes to Redis and may fill)
  const fanout = new KeyFanout(MGET_SPEC, args, (key, k) => {
    const hit = user === null || !router.servesKey(key, 0, key.length) ? undefined : cache.lookupBytes(key, 0, key.length, user, db);
    hits[k] = hit;
    return hit === undefined ? MISSING : CACHED;
  });
  cache.stats.mgets++;
  let group = -1;
  let merged = false;
  for (let g = 0; g < fanout.groupCount; g++) {
    if (fanout.groupId(g) === MISSING) group = g;
    else merged = true;
  }
  if (merged) {
    const nil = s.state.proto === 3 ? NIL_RESP3 : NIL_RESP2;
    for (let k = 0; k < fanout.keyCount; k++) {
      const hit = hits[k];
      if (hit !== undefined) fanout.setValue(k, hit === null ? nil : Buffer.from(hit, 'latin1'));
    }
  }
  if (group < 0) {
    cache.stats.mgetsFromCache++;
    s.enqueueReady(fanout.merge(), false, true);
    return;
  }
  const keys: number[] = [];
  const tickets: FillTicket[] = [];
  for (const k of fanout.keysOf(group)) {
    const ticket = cache.beginFill(fanout.key(k).toString('latin1'), user, db);
    if (ticket === null) continue;
    keys.push(k);
    tickets.push(ticket);
  }
  // (may send the upstream's CLIENT TRACKING ahead of the MGET)
  const trackGen = tickets.length === 0 ? -1 : (s.upstream?.fillGeneration() ?? -1);
  if (trackGen === -1) {
    keys.length = 0;
    tickets.length = 0;
  }
  if (!merged) {
    s.forward(buf, start, end); // the missing keys are the whole request
  } else {
    s.flushForward();
    s.toUpstream(fanout.request(group));
  }
  if (tickets.length > 0) {
    // the PTTLs ride in the same write: each key's expiry in Redis bounds its entry
    s.flushForward();
    for (let i = 0; i < keys.length; i++) {
      tickets[i].trackGen = trackGen;
      s.toUpstream(encodeCommand(['PTTL', fanout.key(keys[i])]));
    }
  }
  if (!merged && tickets.length === 0) {
    s.pending.pushPass(true);
    return;
  }
  const p = new Pending(Kind.Mget);
  p.count = 1 + tickets.length;
  p.mget = new MgetJob(fanout, group, merged, keys, tickets, trackGen);
  s.pending.push(p);
}
