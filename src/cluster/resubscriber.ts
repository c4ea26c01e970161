import { encodeCommand } from '../resp/encode.js';
import { keyHashSlot } from './key-slot.js';
import type { NodeLane } from './node-lane.js';
import { parseRedirect } from './redirect.js';
import { addrKey } from './topology.js';
import type { SubCluster, SubRouter } from './subscriptions.js';

// Subscriptions that lost their node, made again (subscriptions.ts hands them over):
//
//   classic (SUBSCRIBE, PSUBSCRIBE) ─▶ the client's classic lane, or another master, at once
//   shard (SSUBSCRIBE) ─▶ the slot's master once the map names another than the lost node
//        (after WAIT_OWNER_MS: the one it names all the same; its MOVED is followed)
//
// One command per name, so that each owes one frame: its confirmation, swallowed, or an
// error (MOVED: to that node at once; anything else: tried again after RETRY_MS).

export const SHARD = 2;
const VERBS = [Buffer.from('SUBSCRIBE'), Buffer.from('PSUBSCRIBE'), Buffer.from('SSUBSCRIBE')];
const RETRY_MS = 250;
/** a shard channel whose slot left its node waits this long for the map to name another owner, then asks the one it names */
const WAIT_OWNER_MS = 2_000;
/** a subscription that cannot be made again for this long: the client's connection is lost */
const GIVE_UP_MS = 30_000;

/** A subscription that lost its node, to be made again. */
export interface Orphan {
  readonly kind: number;
  readonly name: string;
  readonly since: number;
  /** the node it was lost on */
  readonly avoid: string;
  /** the lane its re-subscription is in flight on */
  on: NodeLane | null;
  hops: number;
}

export class Resubscriber {
  /** by `${kind}:${name}` */
  readonly orphans = new Map<string, Orphan>();
  private timer: NodeJS.Timeout | null = null;
  /** the lane items of re-subscriptions (other items of the router's own are not theirs) */
  private readonly items = new WeakSet<(frame: Buffer) => void>();

  constructor(
    private readonly r: SubRouter,
    private readonly cluster: SubCluster,
    /** the lane classic subscriptions go to now (another master than `avoid` if it has none) */
    private readonly classicLane: (avoid: string) => NodeLane | null,
  ) {}

  /** `name` lost its node `avoid`: made again soon (`ms`: at once, 0, or after a while). */
  add(kind: number, name: string, avoid: string, ms: number): void {
    this.orphans.set(`${kind}:${name}`, { kind, name, since: Date.now(), avoid, on: null, hops: 0 });
    this.schedule(ms);
  }

  /** Is this lane item's swallow a re-subscription's? */
  owns(swallow: ((frame: Buffer) => void) | null | undefined): boolean {
    return swallow != null && this.items.has(swallow);
  }

  /** `lane` was lost: re-subscriptions in flight on it are sent again. */
  laneLost(lane: NodeLane): void {
    let again = false;
    for (const o of this.orphans.values()) {
      if (o.on === lane) {
        o.on = null;
        again = true;
      }
    }
    if (again) this.schedule(RETRY_MS);
  }

  /** The client unsubscribes (`names` empty: every one of `kind`): what waited to be made again is not. */
  forget(kind: number, names: Buffer[]): void {
    if (this.orphans.size === 0) return;
    if (names.length === 0) {
      for (const [k, o] of this.orphans) if (o.kind === kind) this.orphans.delete(k);
    } else {
      for (const n of names) this.orphans.delete(`${kind}:${n.toString('latin1')}`);
    }
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.orphans.clear();
  }

  private schedule(ms: number): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.retry();
    }, ms);
    this.timer.unref();
  }

  private retry(): void {
    const now = Date.now();
    let waiting = false;
    for (const o of this.orphans.values()) {
      if (o.on !== null) continue;
      if (now - o.since > GIVE_UP_MS) {
        this.close();
        this.r.lostClient(`the subscription to ${o.name} could not be made again on another node`);
        return;
      }
      const lane = this.targetOf(o, now);
      if (lane === null) waiting = true;
      else this.resend(o, lane);
    }
    if (waiting) {
      this.cluster.refresh("a subscriber waits for its channel's new node");
      this.schedule(RETRY_MS);
    }
  }

  private targetOf(o: Orphan, now: number): NodeLane | null {
    if (o.kind !== SHARD) return this.classicLane(o.avoid);
    const addr = this.cluster.addrOfSlot(keyHashSlot(Buffer.from(o.name, 'latin1')));
    if (addr === null || (addrKey(addr) === o.avoid && now - o.since < WAIT_OWNER_MS)) return null;
    return this.r.laneFor(addr);
  }

  private resend(o: Orphan, lane: NodeLane): void {
    o.on = lane;
    const bytes = encodeCommand([VERBS[o.kind], Buffer.from(o.name, 'latin1')]);
    const swallow = (frame: Buffer): void => this.resubscribed(o, lane, frame);
    this.items.add(swallow);
    lane.queue(bytes, { req: null, group: -1, swallow });
    lane.flush();
  }

  /** A re-subscription's reply: its confirmation, or an error (MOVED: to that node at once; else later). */
  private resubscribed(o: Orphan, lane: NodeLane, frame: Buffer): void {
    if (o.on !== lane) return;
    o.on = null;
    const key = `${o.kind}:${o.name}`;
    if (this.orphans.get(key) !== o) return; // unsubscribed meanwhile
    if (frame[0] === 0x2a || frame[0] === 0x3e) {
      this.orphans.delete(key);
      return;
    }
    const moved = frame.length > 7 && frame.toString('latin1', 0, 7) === '-MOVED ' ? parseRedirect(frame, 0, frame.length) : null;
    if (moved !== null && o.hops++ < 5) {
      this.resend(o, this.r.laneFor(this.cluster.addressOf(moved.host === '' ? lane.addr.host : moved.host, moved.port)));
      return;
    }
    this.schedule(RETRY_MS);
  }
}
