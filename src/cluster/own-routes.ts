import { keyHashSlot } from './key-slot.js';
import { ClusterRequest, type NodeLane } from './node-lane.js';
import { Subscriptions, type SubCluster, type SubRouter } from './subscriptions.js';

// What a client of its own keeps across its lanes, beside plain routing (cluster-upstream.ts):
//
//   HELLO, AUTH, SELECT, CLIENT SETNAME ─▶ its home node, and replayed (replies swallowed) on
//        every other lane, now and on lanes opened later; RESET forgets them
//   MULTI ─▶ held (with the keyless commands after it) until the transaction's first key;
//        then all of it goes to that key's master, up to EXEC/DISCARD. WATCH pins it too
//   MONITOR, CLIENT REPLY, SCRIPT DEBUG, SYNC ─▶ the home node: that lane becomes a
//        pass-through, every later request goes there and every frame it sends is the client's
//   (P|S)(UN)SUBSCRIBE ─▶ subscriptions.ts (lanes of their own per node, made again when lost)

/** What the routes need of the router. */
export interface LaneRouter extends SubRouter {
  swallow(lane: NodeLane, bytes: Buffer): void;
  lanes(): Iterable<NodeLane>;
}

/** Commands whose effect is the connection's: replayed on every lane of an own-mode client. */
const REPLAYED = new Set(['hello', 'auth', 'select']);
/** Commands after which a lane's frames can no longer be paired by the router. */
const PASSTHROUGH = new Set(['monitor', 'sync', 'psync']);

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
  /** the lane whose frames all go to the client as they come (MONITOR...) */
  passLane: NodeLane | null = null;
  /** HELLO 3 was sent: the proxy's own replies (CLUSTER SLOTS, merges) are RESP3, pushes are told from replies */
  resp3 = false;
  /** an AUTH (or HELLO ... AUTH) was sent: which nodes took it decides what the cache may serve (ClusterUpstream.mayServe) */
  authenticated = false;
  readonly subs: Subscriptions;

  constructor(
    private readonly r: LaneRouter,
    cluster: SubCluster,
  ) {
    this.subs = new Subscriptions(r, cluster, () => this.resp3);
  }

  get inTransaction(): boolean {
    return this.tx !== null;
  }

  /** Must every request go through route() (no one-key shortcut)? */
  get routesAll(): boolean {
    return this.passLane !== null || this.tx !== null || this.subs.refuser() !== null;
  }

  /** Is `lane` holding something of the client's that cannot be rebuilt elsewhere? */
  pins(lane: NodeLane): boolean {
    return lane === this.watchLane || lane === this.tx?.lane || lane === this.passLane;
  }

  /** A request while the client is relaying: to the pass-through lane. */
  passOn(bytes: Buffer): void {
    (this.passLane as NodeLane).queue(bytes, null);
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
    if (this.subs.route(name, args, bytes, slot >= 0)) return true;
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
      const lane = r.homeLane();
      const req = new ClusterRequest(bytes, -1, null, true, true);
      r.enqueue(req);
      r.sendTo(lane, req, -1, bytes, false);
      this.passLane = lane;
      return true;
    }
    if (REPLAYED.has(name) || (name === 'client' && sub === 'setname') || name === 'reset') {
      const home = r.homeLane();
      this.sendNew(home, bytes, -1, false);
      for (const l of r.lanes()) if (l !== home) r.swallow(l, bytes);
      if (name === 'hello' && args.length > 1) this.resp3 = args[1].toString('latin1') === '3';
      if (name === 'auth' || (name === 'hello' && args.some((a, i) => i > 1 && lower(a) === 'auth'))) this.authenticated = true;
      if (name === 'reset') {
        this.resp3 = false;
        this.authenticated = false;
        this.subs.reset();
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
}
