import { StateCommand, SubscriptionKind } from '../commands/session-commands.js';
import type { FillTicket, ReplyCache, WriteHold } from '../cache/reply-cache.js';
import type { OutBytes } from '../io/write-batch.js';
import { Fifo } from '../io/fifo.js';
import type { RequestBatch } from './request-batch.js';
import type { MgetJob } from './mget.js';

// What a client waits for, one record per request (or run of alike requests) in request
// order: the session's pending queue pairs each reply from Redis with the record at its
// head (twemproxy's rule). Each kind carries what its reply needs and nothing else.

export const enum Kind {
  /** `count` replies to forward as they are */
  Pass,
  /** a write: forward, then release its hold on its keys (hold) */
  Write,
  /** a GET that may fill the cache (ticket), followed by the PTTL the proxy added */
  Fill,
  /** a command whose success changes connection state (change) */
  State,
  /** (un)subscribe: one confirmation per channel */
  Subscribe,
  /** a reply the proxy already has (cache hit, or its own error); needs no Redis reply */
  Ready,
  /** from here on the replies cannot be paired: relay bytes */
  Raw,
  /** the upstream's own request (such as its CLIENT TRACKING): its reply is not the client's */
  Internal,
  /** an MGET through the cache (mget): its missing keys' MGET, then `count` - 1 PTTLs the proxy added */
  Mget,
}

/** A state command's expected effect, applied only if Redis's reply says it succeeded. */
export interface StateChange {
  readonly command: StateCommand;
  /** SELECT: the database; HELLO: the protocol asked for (0: none) */
  num: number;
  /** AUTH / HELLO AUTH: the user; CLIENT TRACKING: on (true) or off */
  user: string | null;
  on: boolean;
}

export class Pending {
  count = 1;
  /** a non-error reply proves the connection is authenticated (as "default" if no AUTH) */
  proves = true;
  /** BLPOP, XREAD BLOCK, WAIT...: may legitimately wait for a long time */
  blocking = false;
  /** ACL or password change: at its reply, check again whether clients may share */
  accessChange = false;
  /** when the request was decoded (performance.now), kept only when metrics are on */
  t0 = 0;
  fromCache = false;
  /**
   * Write, and EXEC of a transaction that wrote: the keys it holds until its reply. null on a
   * run of one-key writes: their slots wait in the queue's ring (PendingQueue.pushWrite).
   */
  hold: WriteHold | null = null;
  /** Fill */
  ticket: FillTicket | null = null;
  gotValue = false;
  value: string | null = null;
  valueOk = false;
  /** State */
  change: StateChange | null = null;
  /** Subscribe */
  subKind = SubscriptionKind.Channel;
  /** Ready: the reply, and whether the connection ends after it */
  reply: OutBytes | null = null;
  closeAfter = false;
  /** Mget: what its replies need */
  mget: MgetJob | null = null;
  /** Internal: who takes the reply */
  onInternal: ((frame: Buffer) => void) | null = null;

  /** made by the queue for a pass or a one-key write: taken back once answered (PendingQueue.recycle) */
  reusable = false;

  constructor(public kind: Kind) {}

  /** As new, for another request of `kind` (the fields a pass or a one-key write sets). */
  reset(kind: Kind): void {
    this.kind = kind;
    this.count = 1;
    this.proves = true;
    this.blocking = false;
    this.accessChange = false;
    this.t0 = 0;
    this.fromCache = false;
    this.hold = null;
  }

  /** A write's reply is in, or will never come: its keys are free again. */
  releaseHold(): void {
    this.hold?.release();
    this.hold = null;
  }
}

/** A record for a state command, its change to be filled in. */
export function stateRecord(command: StateCommand): Pending {
  const p = new Pending(Kind.State);
  p.change = { command, num: 0, user: null, on: false };
  return p;
}

/**
 * The session's queue of records. Pushing one also counts the replies it brings into the
 * batch of requests it goes out with, and starts the wait for Redis when the queue was empty.
 */
export class PendingQueue extends Fifo<Pending> {
  /** when Redis last answered, or the wait for it began (ms since epoch): see --backend-timeout */
  waitSince = Date.now();
  /** the slots of one-key writes in flight, oldest first, in a ring (a power of two long) */
  private slots = new Int32Array(16);
  private slotHead = 0;
  private slotCount = 0;
  private cache: ReplyCache | null = null;
  /** an answered record kept for the next pass or write (one client at -P 1 makes no record per request) */
  private spare: Pending | null = null;

  constructor(
    private readonly batch: RequestBatch,
    /** metrics are on: each record keeps its start time, and its own latency */
    private readonly timed: boolean,
  ) {
    super();
  }

  override push(p: Pending): void {
    if (this.length === 0) this.waitSince = Date.now(); // the wait for Redis starts now
    if (this.timed) p.t0 = performance.now();
    this.batch.replies += p.kind === Kind.Fill ? 2 : p.kind === Kind.Ready ? 0 : p.kind === Kind.Mget ? p.count : 1;
    super.push(p);
  }

  /** `count` replies to pass on, merged into the last record when it is a run of alike ones */
  pushPass(proves: boolean): void {
    const last = this.last();
    // (with metrics on, each request keeps its own record for its latency)
    if (last !== undefined && last.kind === Kind.Pass && last.proves === proves && !last.blocking && !last.accessChange && !this.timed) {
      last.count++;
      this.batch.replies++;
      return;
    }
    const p = this.fresh(Kind.Pass);
    p.proves = proves;
    this.push(p);
  }

  /** A record for a pass or a one-key write: the spare if there is one. */
  private fresh(kind: Kind): Pending {
    let p = this.spare;
    if (p === null) {
      p = new Pending(kind);
      p.reusable = true;
    } else {
      this.spare = null;
      p.reset(kind);
    }
    return p;
  }

  /** `p` was answered and shifted, and nothing refers to it any more: keep it for the next request. */
  recycle(p: Pending): void {
    if (p.reusable) this.spare = p;
  }

  /**
   * A write of one key whose slot `cache` holds (holdSlotBytes): merged into the last record
   * when that is a run of such writes, its slot kept in a ring, so a write costs no object.
   */
  pushWrite(cache: ReplyCache, slot: number, blocking: boolean): void {
    this.cache = cache;
    this.keepSlot(slot);
    const last = this.last();
    if (!blocking && last !== undefined && last.kind === Kind.Write && last.hold === null && !last.blocking && !last.accessChange && !this.timed) {
      last.count++;
      this.batch.replies++;
      return;
    }
    const p = this.fresh(Kind.Write);
    p.blocking = blocking;
    this.push(p);
  }

  /** The oldest one-key write in flight is answered: its slot is free. */
  releaseSlot(): void {
    if (this.slotCount === 0) return;
    const slot = this.slots[this.slotHead];
    this.slotHead = (this.slotHead + 1) & (this.slots.length - 1);
    this.slotCount--;
    this.cache?.releaseSlot(slot);
  }

  /** Everything still waiting, oldest first; the one-key writes' slots are released. */
  override drain(): Pending[] {
    while (this.slotCount > 0) this.releaseSlot();
    return super.drain();
  }

  private keepSlot(slot: number): void {
    let ring = this.slots;
    if (this.slotCount === ring.length) {
      // (full: unrolled into one twice the size, oldest first)
      const grown = new Int32Array(ring.length * 2);
      for (let i = 0; i < this.slotCount; i++) grown[i] = ring[(this.slotHead + i) & (ring.length - 1)];
      this.slots = ring = grown;
      this.slotHead = 0;
    }
    ring[(this.slotHead + this.slotCount) & (ring.length - 1)] = slot;
    this.slotCount++;
  }

  /** kept apart so that --backend-timeout can tell a blocked command from a hung Redis */
  pushBlocking(): void {
    const p = new Pending(Kind.Pass);
    p.blocking = true;
    this.push(p);
  }
}
