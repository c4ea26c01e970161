import type { BackendAddress } from '../config/config.js';
import { keyHashSlot } from './key-slot.js';
import { ClusterRequest, type NodeLane } from './node-lane.js';

// What a client of its own keeps across its lanes, beside plain routing (cluster-upstream.ts):
//
//   HELLO, AUTH, SELECT, CLIENT SETNAME ─▶ its home node, and replayed (replies swallowed) on
//        every other lane, now and on lanes opened later; RESET forgets them
//   MULTI ─▶ held (with the keyless commands after it) until the transaction's first key;
//        then all of it goes to that key's master, up to EXEC/DISCARD. WATCH pins it too
//   SUBSCRIBE, PSUBSCRIBE, MONITOR, CLIENT REPLY, SCRIPT DEBUG, SYNC ─▶ the home node;
//        SSUBSCRIBE ─▶ the channel's master: that lane becomes a pass-through, every later
//        request goes there and every frame it sends is the client's
//
// A classic subscriber whose lane is lost (its node died) is subscribed again on another
// master, to the channels and patterns it holds; the confirmations of that are swallowed.

/** What the routes need of the router. */
export interface LaneRouter {
  enqueue(req: ClusterRequest): void;
  sendTo(lane: NodeLane, req: ClusterRequest, group: number, bytes: Buffer, asking: boolean): void;
  swallow(lane: NodeLane, bytes: Buffer): void;
  laneFor(addr: BackendAddress | null): NodeLane;
  laneForSlot(slot: number): NodeLane;
  homeLane(): NodeLane;
  lanes(): Iterable<NodeLane>;
  /** masters other than `key`, for a subscriber that lost its node */
  mastersBut(key: string): BackendAddress[];
}

/** Commands whose effect is the connection's: replayed on every lane of an own-mode client. */
const REPLAYED = new Set(['hello', 'auth', 'select']);
/** Commands after which a lane's frames can no longer be paired by the router. */
const PASSTHROUGH = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'monitor', 'sync', 'psync']);

function lower(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
}

export class OwnRoutes {
  /** the connection-state commands every new lane gets first */
  readonly replay: Buffer[] = [];
  /** MULTI sent: the lane its transaction runs on (null: no key seen yet, requests held) */
  private tx: { lane: NodeLane | null; held: ClusterRequest[] } | null = null;
  /** WATCH pins the next transaction to the watched key's node */
  private watchLane: NodeLane | null = null;
  /** the lane whose frames all go to the client as they come (subscribed, MONITOR...) */
  passLane: NodeLane | null = null;
  private passReq: ClusterRequest | null = null;
  /** the pass-through is classic pub/sub: it may move to another node */
  private pubsub = false;
  private readonly channels = new Set<string>();
  private readonly patterns = new Set<string>();
  /** confirmations of a re-subscription still to swallow */
  resubscribing = 0;
  /** HELLO 3 was sent: the proxy's own replies (CLUSTER SLOTS, merges) are RESP3 */
  resp3 = false;

  constructor(private readonly r: LaneRouter) {}

  get inTransaction(): boolean {
    return this.tx !== null;
  }

  /** Is `lane` holding something of the client's that cannot be rebuilt elsewhere? */
  pins(lane: NodeLane): boolean {
    return lane === this.watchLane || lane === this.tx?.lane || (lane === this.passLane && !this.pubsub);
  }

  /** A request while the client is subscribed or relaying: to the pass-through lane. */
  passOn(args: Buffer[], bytes: Buffer): void {
    (this.passLane as NodeLane).queue(bytes, null);
    if (this.pubsub) this.noteSubscriptions(lower(args[0]), args);
  }

  private noteSubscriptions(name: string, args: Buffer[]): void {
    const set = name === 'subscribe' || name === 'unsubscribe' ? this.channels : name === 'psubscribe' || name === 'punsubscribe' ? this.patterns : null;
    if (set === null) return;
    if (name.startsWith('un') && args.length === 1) set.clear();
    for (let i = 1; i < args.length; i++) {
      if (name.startsWith('un')) set.delete(args[i].toString('latin1'));
      else set.add(args[i].toString('latin1'));
    }
  }

  /** The commands whose connection matters. Returns true when routed here. */
  route(name: string, args: Buffer[], bytes: Buffer, keys: Buffer[] | null): boolean {
    const r = this.r;
    const slot = keys !== null && keys.length > 0 ? keyHashSlot(keys[0]) : -1;
    const tx = this.tx;
    if (tx !== null) {
      const req = new ClusterRequest(bytes, slot, null, false, true);
      r.enqueue(req);
      if (tx.lane === null && (slot >= 0 || name === 'exec' || name === 'discard')) {
        tx.lane = slot >= 0 ? r.laneForSlot(slot) : r.homeLane();
        for (const h of tx.held) r.sendTo(tx.lane, h, -1, h.bytes, false);
        tx.held = [];
      }
      if (tx.lane === null) tx.held.push(req);
      else r.sendTo(tx.lane, req, -1, bytes, false);
      if (name === 'exec' || name === 'discard') {
        this.tx = null;
        this.watchLane = null;
      }
      return true;
    }
    if (name === 'multi') {
      const req = new ClusterRequest(bytes, -1, null, false, true);
      r.enqueue(req);
      this.tx = { lane: this.watchLane, held: [] };
      if (this.watchLane !== null) r.sendTo(this.watchLane, req, -1, bytes, false);
      else this.tx.held.push(req);
      return true;
    }
    if (name === 'watch' && slot >= 0) {
      const lane = this.watchLane ?? r.laneForSlot(slot);
      this.watchLane = lane;
      this.sendNew(lane, bytes, slot, true);
      return true;
    }
    if (name === 'unwatch' || name === 'exec' || name === 'discard') {
      const lane = this.watchLane ?? r.homeLane();
      this.watchLane = null;
      this.sendNew(lane, bytes, -1, false);
      return true;
    }
    const sub = args.length > 1 ? lower(args[1]) : '';
    if (PASSTHROUGH.has(name) || (name === 'client' && sub === 'reply') || (name === 'script' && sub === 'debug')) {
      const lane = slot >= 0 || name === 'ssubscribe' ? r.laneForSlot(slot >= 0 ? slot : keyHashSlot(args[1] ?? Buffer.alloc(0))) : r.homeLane();
      const req = new ClusterRequest(bytes, -1, null, true, true);
      r.enqueue(req);
      r.sendTo(lane, req, -1, bytes, false);
      this.passLane = lane;
      this.passReq = req;
      this.pubsub = name === 'subscribe' || name === 'psubscribe';
      if (this.pubsub) this.noteSubscriptions(name, args);
      return true;
    }
    if (REPLAYED.has(name) || (name === 'client' && sub === 'setname') || name === 'reset') {
      const home = r.homeLane();
      this.sendNew(home, bytes, -1, false);
      for (const l of r.lanes()) if (l !== home) r.swallow(l, bytes);
      if (name === 'hello' && args.length > 1) this.resp3 = args[1].toString('latin1') === '3';
      if (name === 'reset') {
        this.resp3 = false;
        this.replay.length = 0;
        this.watchLane = null;
      } else {
        this.replay.push(bytes);
      }
      return true;
    }
    return false;
  }

  private sendNew(lane: NodeLane, bytes: Buffer, slot: number, pinned: boolean): void {
    const req = new ClusterRequest(bytes, slot, null, false, pinned);
    this.r.enqueue(req);
    this.r.sendTo(lane, req, -1, bytes, false);
  }

  /**
   * The pass-through lane of a classic subscriber was lost: subscribe again on another master
   * (classic pub/sub reaches every node). Returns false when that cannot be done.
   */
  resubscribe(lost: NodeLane): boolean {
    const req = this.passReq;
    const to = this.r.mastersBut(lost.key)[0];
    if (!this.pubsub || req === null || to === undefined || this.channels.size + this.patterns.size === 0) return false;
    const lane = this.r.laneFor(to);
    this.passLane = lane;
    // its frames are all the subscriber's again, after the confirmations of what is sent here
    lane.items.push({ req, group: -1, swallow: null });
    const parts: string[] = [];
    const command = (verb: string, names: Set<string>): void => {
      if (names.size === 0) return;
      const all = [verb, ...names];
      parts.push(`*${all.length}\r\n${all.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`);
    };
    command('SUBSCRIBE', this.channels);
    command('PSUBSCRIBE', this.patterns);
    this.resubscribing += this.channels.size + this.patterns.size;
    lane.queue(Buffer.from(parts.join(''), 'latin1'), null);
    lane.flush();
    return true;
  }
}
