import type { BackendAddress } from '../config/config.js';
import type { KeyFanout } from '../commands/key-fanout.js';
import type { KeyspacePlan } from './keyspace-commands.js';
import { Fifo } from '../io/fifo.js';
import type { Upstream, UpstreamClient } from '../upstream/upstream.js';

// One client request on its way through the cluster router, and the router's road to one
// node for one client (a seat on the node's shared pool, or a connection of the client's own).
//
//   client ─▶ ClusterUpstream ─┬─ lane A: [r1][r3]  ─▶ node A
//                              └─ lane B: [r2]      ─▶ node B
//            order: r1 r2 r3 (the client's order; a reply that comes early waits, copied)
//
// A lane pairs by position, as a connection does: each item is one reply it owes. An item is a
// client request (or one slot's part of a split one) or the router's own (ASKING, a replayed
// HELLO) whose reply is swallowed.

export class ClusterRequest {
  /** the request's bytes as sent (kept for a resend after MOVED, ASK, TRYAGAIN) */
  readonly bytes: Buffer;
  /** the slot that chose its node; -1: keyless */
  readonly slot: number;
  /** split per slot: the fanout that merges the parts' replies (null: sent whole) */
  readonly fanout: KeyFanout | null;
  /** a whole-keyspace command: sent to `planAddrs` (group i to the i-th), its replies merged by the plan */
  plan: KeyspacePlan | null = null;
  planAddrs: BackendAddress[] | null = null;
  planReplies: Buffer[] | null = null;
  planLeft = 0;
  /** its frames all belong to it, for the rest of the connection (pub/sub, MONITOR...) */
  readonly passthrough: boolean;
  /** inside MULTI: a redirect is not followed (the transaction is the node's), it reads as CROSSSLOT */
  readonly pinned: boolean;
  /** redirects followed and retries made so far */
  hops = 0;
  tries = 0;
  /** its reply once known while requests before it still wait (a copy) */
  reply: Buffer | null = null;
  /** passthrough, or (un)subscribe: frames that came while requests before it still waited (copies) */
  early: Buffer[] | null = null;
  done = false;
  /** an (un)subscribe: the confirmations it takes (subscriptions.ts) */
  sub: SubRequest | null = null;
  /** handed to the client (no longer in the router's order) */
  sent = false;

  constructor(bytes: Buffer, slot: number, fanout: KeyFanout | null, passthrough: boolean, pinned: boolean) {
    this.bytes = bytes;
    this.slot = slot;
    this.fanout = fanout;
    this.passthrough = passthrough;
    this.pinned = pinned;
  }

  /** A whole-keyspace command: where each part goes (planAddrs null: answered by the proxy). */
  static forPlan(bytes: Buffer, plan: KeyspacePlan, masters: BackendAddress[], slotAddr: (slot: number) => BackendAddress | null): ClusterRequest {
    const req = new ClusterRequest(bytes, -1, null, false, false);
    req.plan = plan;
    const t = plan.target;
    if (t.kind === 'local') {
      req.planReplies = [];
      return req;
    }
    const addrs = t.kind === 'all-masters' ? masters : t.kind === 'one-master' ? [masters[Math.min(t.index, masters.length - 1)]] : [slotAddr(t.slot) ?? masters[0]];
    req.planAddrs = addrs;
    req.planReplies = new Array<Buffer>(addrs.length);
    req.planLeft = addrs.length;
    return req;
  }

  /** What group `group` sends (-1: the request as it came). */
  groupBytes(group: number): Buffer {
    if (group < 0) return this.bytes;
    if (this.fanout !== null) return this.fanout.request(group);
    const t = this.plan?.target;
    return this.plan?.requestFor(t?.kind === 'one-master' ? t.index : group) ?? this.bytes;
  }

  /** The one reply the masters' replies make (the plan's merge; one that fails is an error reply). */
  mergePlan(resp3: boolean): Buffer {
    let merged: Buffer;
    try {
      merged = (this.plan as KeyspacePlan).merge(this.planReplies as Buffer[], resp3);
    } catch (err) {
      merged = Buffer.from(`-ERR the proxy could not merge the masters' replies: ${(err as Error).message}\r\n`);
    }
    this.plan = null;
    return merged;
  }
}

/** What an (un)subscribe request takes: confirmations, as many as one Redis sends. */
export class SubRequest {
  /** confirmations still expected (all: as many as the lane holds, counted at the first) */
  left: number;
  all: boolean;
  /** confirmations seen */
  seen = 0;

  constructor(
    /** lower-case: subscribe, sunsubscribe... */
    readonly name: string,
    n: number,
    /** the subscription count each confirmation shows the client (the last one for any beyond) */
    readonly counts: number[],
  ) {
    this.left = n;
    this.all = n === 0;
  }
}

/** One reply a lane owes: to a request (group -1: the whole; else a fanout group), or to the router itself. */
export interface LaneItem {
  readonly req: ClusterRequest | null;
  readonly group: number;
  /** the router's own request: its reply goes here and nowhere else */
  readonly swallow: ((frame: Buffer) => void) | null;
}

/** What a lane tells the router it belongs to. */
export interface LaneOwner {
  readonly clientClosed: boolean;
  onLaneFrame(lane: NodeLane, buf: Buffer, start: number, end: number, inChunk: boolean): void;
  onLaneFlush(): void;
  onLaneDrain(): void;
  onLaneLost(lane: NodeLane, reason: string): void;
  onLaneFault(reason: string): void;
}

export class NodeLane implements UpstreamClient {
  /** what it owes, in order */
  readonly items = new Fifo<LaneItem>();
  inner: Upstream | null = null;
  /** requests waiting for this send to finish (one write per node per client batch) */
  private parts: Buffer[] = [];
  private bytes = 0;
  private replies = 0;
  lost = false;
  /** a replayed AUTH/HELLO/SELECT was refused here: the lane may be another user than the client's, so it never fills */
  refusedReplay = false;
  /** replayed AUTH/HELLO/SELECTs sent here whose replies are not in yet */
  replaysOwed = 0;

  constructor(
    readonly key: string,
    readonly addr: BackendAddress,
    private readonly owner: LaneOwner,
  ) {}

  get closed(): boolean {
    return this.owner.clientClosed || this.lost;
  }

  /** Queue a request that owes `item`'s reply (null: no reply paired: a passthrough lane's). */
  queue(bytes: Buffer, item: LaneItem | null): void {
    // requests side by side in the client's batch stay one slice (the seat sends one Buffer as it is)
    const n = this.parts.length;
    const last = n > 0 ? this.parts[n - 1] : null;
    if (last !== null && last.buffer === bytes.buffer && last.byteOffset + last.length === bytes.byteOffset) {
      this.parts[n - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + bytes.length);
    } else {
      this.parts.push(bytes);
    }
    this.bytes += bytes.length;
    if (item !== null) {
      this.items.push(item);
      this.replies++;
    }
  }

  /** Send what was queued; false when the node is not keeping up. */
  flush(): boolean {
    if (this.parts.length === 0 || this.inner === null) return true;
    const parts = this.parts;
    const bytes = this.bytes;
    const replies = this.replies;
    this.parts = [];
    this.bytes = 0;
    this.replies = 0;
    return this.inner.send(parts, bytes, replies);
  }

  // UpstreamClient: what the node's upstream tells
  onUpstreamReply(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    this.owner.onLaneFrame(this, buf, start, end, inChunk);
  }
  onUpstreamFlush(): void {
    this.owner.onLaneFlush();
  }
  onUpstreamDrain(): void {
    this.owner.onLaneDrain();
  }
  onUpstreamLost(reason: string): void {
    if (this.lost) return;
    this.lost = true;
    this.owner.onLaneLost(this, reason);
  }
  onUpstreamFault(reason: string): void {
    this.owner.onLaneFault(reason);
  }
  sendInternal(bytes: Buffer, onReply: (frame: Buffer) => void): void {
    this.queue(bytes, { req: null, group: -1, swallow: onReply });
  }

  close(): void {
    this.lost = true;
    this.inner?.close();
  }
}
