import type { BackendAddress } from '../config/config.js';
import { CommandTable } from '../commands/command-table.js';
import { StateCommand } from '../commands/session-commands.js';
import { KeyFanout, fanoutSpecOf, validFanoutArity } from '../commands/key-fanout.js';
import type { FillOwner } from '../cache/reply-cache.js';
import { encodeCommand } from '../resp/encode.js';
import { DecodeStatus, RequestDecoder } from '../resp/request-decoder.js';
import type { Upstream, UpstreamClient } from '../upstream/upstream.js';
import { keyHashSlot } from './key-slot.js';
import { ClusterReply, classifyReply, parseRedirect } from './redirect.js';
import { keyspacePlan, type KeyspacePlan } from './keyspace-commands.js';
import { selfAsReached, type SelfAddress } from './keyspace-self.js';
import { ClusterRequest, NodeLane, type LaneItem, type LaneOwner } from './node-lane.js';
import { OwnRoutes, type LaneRouter } from './own-routes.js';
import { ClusterFills } from './cluster-fills.js';
import { ReplyOrder } from './reply-order.js';
import { addrKey } from './topology.js';
import type { UserLogin } from './user-login.js';
import { UserLaneSeat } from './user-lane-seat.js';

// The cluster as one Redis for one client: the session hands it whole request frames (it
// does not stream: streams is false), and it sends each command to the master of its key's
// slot, over a lane per node, and hands the replies back in request order (reply-order.ts).
//
//   MOVED  ─▶ the same bytes to the named node (and the map is read again)
//   ASK    ─▶ ASKING (its +OK swallowed) + the bytes, to the named node, this once
//   TRYAGAIN, CLUSTERDOWN ─▶ again after a short backoff, a few times, then the error
//   READONLY (a keyless write to a demoted master) ─▶ the same, at the node's master once known
//   MGET/MSET/DEL/UNLINK/EXISTS/TOUCH over several slots ─▶ one part per slot, merged
//   other commands ─▶ the first key's slot (a node's CROSSSLOT comes back as it is); keyless
//                     ones to the client's home node
//
// Shared (a seat on each node's pool) for clients without connection state, and, with a
// login, for clients the cluster accepted as one ACL user (seats on each node's pool of that
// user: user-lane-seat.ts); own (lanes of the client's own, opened lazily) for the others,
// which also keep what is the connection's (own-routes.ts: replayed HELLO/AUTH, transactions
// pinned to a node, pass-through lanes for subscribers). Whether a GET may fill the cache is
// cluster-fills.ts's.

/** What the router needs of the cluster (ClusterTarget). */
export interface ClusterRouting {
  commands(): CommandTable | null;
  /** the master of `slot` as known now; null when nobody owns it */
  addrOfSlot(slot: number): BackendAddress | null;
  /** where keyless commands go (the master of the lowest slot) */
  home(): BackendAddress | null;
  /** a node named by a redirect, with the seeds' credentials */
  addressOf(host: string, port: number): BackendAddress;
  /** an upstream to one node: a seat on its pool (shared; with a login, on its pool of that user) or a connection of the client's own */
  connect(addr: BackendAddress, shared: boolean, client: UpstreamClient, login?: UserLogin | null): Upstream;
  /** would connect() give a seat on the node's pool now */
  seatable(addr: BackendAddress): boolean;
  /** the master `addr` serves now: itself while the map has it as a master, else its master if it is a replica */
  masterFor(addr: BackendAddress): BackendAddress;
  /** a redirect was seen (MOVED: the map is read again, and the slot goes there meanwhile) */
  redirected(kind: ClusterReply, slot: number, to: BackendAddress | null): void;
  refresh(reason: string): void;
  /** the masters, in the map's order (a SCAN cursor names one by its index) */
  masterAddrs(): BackendAddress[];
  /** the proxy as clients reach it (CLUSTER SLOTS and friends name it) */
  readonly self: SelfAddress;
  /** --cluster-announce: named instead of the address a client reached (null: none) */
  readonly announce: SelfAddress | null;
  /** changes of ACL rules or passwords seen so far (through the proxy, or by a node's ACL watch) */
  readonly accessEpoch: number;
  /** is there a cache to fill (links per master) */
  readonly fills: boolean;
  /** may keys of that master's slots fill now: its link tracks ('ttl-only': no tracking needed) */
  trackingOf(addr: BackendAddress): 'tracking' | 'ttl-only' | null;
}

const MAX_HOPS = 5;
// (about 3 s in all: a failover after a master is lost takes the node timeout and an election)
const RETRY_MS = [20, 50, 100, 200, 400, 800, 1500];
const ASKING = Buffer.from('*1\r\n$6\r\nASKING\r\n');
const CROSSSLOT = Buffer.from("-CROSSSLOT Keys in request don't hash to the same slot\r\n");
const ignore = (): void => undefined;


export { addrKey };

function lower(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
}

export class ClusterUpstream implements Upstream, LaneOwner, LaneRouter {
  readonly streams = false;
  answered: boolean;
  /** the access epoch when it was made (mayServe) */
  private readonly epoch: number;
  private readonly decoder = new RequestDecoder({ maxBulkLen: Number.MAX_SAFE_INTEGER });
  private readonly laneMap = new Map<string, NodeLane>();
  private closed = false;
  private homeAddr: BackendAddress | null = null;
  /** what a client of its own keeps across lanes (null: shared) */
  private readonly own: OwnRoutes | null;
  private readonly fills: ClusterFills;
  private readonly replies: ReplyOrder;
  private selfAddr: SelfAddress | null = null;

  constructor(
    private readonly routing: ClusterRouting,
    private readonly client: UpstreamClient,
    readonly shared: boolean,
    /** shared by the clients of one ACL user: the credentials its lanes join that user's pools with (null: the default user's pools) */
    private readonly login: UserLogin | null = null,
  ) {
    this.answered = shared;
    this.epoch = routing.accessEpoch;
    this.own = shared ? null : new OwnRoutes(this, routing);
    this.fills = new ClusterFills(!shared);
    this.replies = new ReplyOrder(client, this.own);
  }

  /**
   * The user a shared client is (Upstream.seatUser): its login's, or, on the default pools,
   * which need no password (the home pool's probe says so before a client shares), the default user.
   */
  get seatUser(): string | null {
    return this.shared ? (this.login?.user ?? 'default') : null;
  }

  /** (Upstream.seatLogin) what makes a router of the client's own that user's too */
  get seatLogin(): Buffer | null {
    return this.login?.command ?? null;
  }

  get clientClosed(): boolean {
    return this.closed || this.client.closed;
  }

  get congested(): boolean {
    for (const l of this.laneMap.values()) if (l.inner?.congested) return true;
    return false;
  }

  get fillOwner(): FillOwner | null {
    return this.fills.owner;
  }

  // ───────────────────────────── requests ─────────────────────────────

  send(parts: Buffer[], bytes: number): boolean {
    if (this.closed) return true;
    // a copy: the parts may lie in the listener's read buffer, and a request is kept for resends
    this.decoder.push(Buffer.concat(parts, bytes));
    const table = this.routing.commands();
    for (;;) {
      const st = this.decoder.next();
      if (st === DecodeStatus.Request) {
        const d = this.decoder;
        const req = d.buffer.subarray(d.requestStart, d.end);
        if (table === null || !this.routeOneKey(table, d, req)) this.route(d.args.slice(), req);
        continue;
      }
      if (st === DecodeStatus.ProtocolError) this.client.onUpstreamFault(`cluster router: ${this.decoder.error}`);
      break;
    }
    return this.flushLanes();
  }

  private flushLanes(): boolean {
    let ok = true;
    for (const l of this.laneMap.values()) if (!l.flush()) ok = false;
    return ok;
  }

  /** The common case, without argument buffers: a command whose one key is its first argument (GET, SET, INCR...). */
  private routeOneKey(table: CommandTable, d: RequestDecoder, bytes: Buffer): boolean {
    if (d.argc < 2 || this.own?.routesAll === true) return false;
    const r = table.routeOf(d.buffer, d.argOffset(0), d.argLength(0));
    const info = r.info;
    if (r.state !== StateCommand.None || info === undefined || info.subcommands !== null || info.movable || info.first !== 1 || info.last !== 1) return false;
    const off = d.argOffset(1);
    const slot = keyHashSlot(d.buffer, off, off + d.argLength(1));
    const req = new ClusterRequest(bytes, slot, null, false, false);
    this.replies.push(req);
    this.sendTo(this.laneForSlot(slot), req, -1, bytes, false);
    return true;
  }

  private route(args: Buffer[], bytes: Buffer): void {
    if (args.length === 0) return;
    const own = this.own;
    if (own?.passLane != null) {
      // relaying (MONITOR...): the lane's frames are all the client's, unpaired
      own.passOn(bytes);
      return;
    }
    const name = lower(args[0]);
    const info = this.routing.commands()?.lookup(name, args);
    let keys = info === undefined ? null : CommandTable.keysOf(info, args);
    if (own !== null && own.route(name, args, bytes, keys)) return;
    if (own?.inTransaction !== true) {
      const masters = this.routing.masterAddrs();
      const plan = masters.length === 0 ? null : keyspacePlan(name, args, { masters: masters.length, self: this.self() });
      if (plan !== null) {
        this.routePlan(plan, masters, bytes);
        return;
      }
    }
    const spec = fanoutSpecOf(name);
    if (spec !== undefined && !validFanoutArity(spec, args.length) && args.length > 2) {
      // MSET k1 v1 k2: one Redis says "wrong number of arguments", a cluster node CROSSSLOT
      // first; the key alone draws the one Redis's error from the key's node
      args = [args[0], args[1]];
      bytes = encodeCommand(args);
      keys = [args[1]];
    }
    if (spec !== undefined && validFanoutArity(spec, args.length)) {
      const fanout = new KeyFanout(spec, args, (key) => keyHashSlot(key));
      if (fanout.groupCount > 1) {
        const req = new ClusterRequest(bytes, -1, fanout, false, false);
        this.replies.push(req);
        for (let g = 0; g < fanout.groupCount; g++) this.sendTo(this.laneForSlot(fanout.groupId(g)), req, g, fanout.request(g), false);
        return;
      }
    }
    let slot = keys !== null && keys.length > 0 ? keyHashSlot(keys[0]) : -1;
    // sharded pub/sub names its channel where a key would be
    if (slot < 0 && (name === 'spublish' || name === 'ssubscribe' || name === 'sunsubscribe') && args.length > 1) slot = keyHashSlot(args[1]);
    const req = new ClusterRequest(bytes, slot, null, false, false);
    this.replies.push(req);
    this.sendTo(slot < 0 ? this.homeLane() : this.laneForSlot(slot), req, -1, bytes, false);
  }

  /** `lane`'s node may no longer be a master: keyless commands go to whichever master is home once the map is read again. */
  private leaveHome(lane: NodeLane): void {
    if (this.homeAddr !== null && addrKey(this.homeAddr) === lane.key) this.homeAddr = null;
  }

  /** The proxy's address as this client reached it (CLUSTER SLOTS and friends name it). */
  private self(): SelfAddress {
    return (this.selfAddr ??= this.routing.announce ?? selfAsReached(this.routing.self, this.client.socket));
  }

  /** A whole-keyspace or CLUSTER command: to every master, one, a slot's, or answered here. */
  private routePlan(plan: KeyspacePlan, masters: BackendAddress[], bytes: Buffer): void {
    const req = ClusterRequest.forPlan(bytes, plan, masters, (slot) => this.routing.addrOfSlot(slot));
    this.replies.push(req);
    const addrs = req.planAddrs;
    if (addrs === null) {
      // answered here, once this send returned (the session is still handing the batch over)
      queueMicrotask(() => {
        if (this.closed) return;
        this.replies.finishPlan(req);
        this.onLaneFlush();
      });
      return;
    }
    for (let i = 0; i < addrs.length; i++) this.sendTo(this.laneFor(addrs[i]), req, i, req.groupBytes(i), false);
  }

  enqueue(req: ClusterRequest): void {
    this.replies.push(req);
  }

  /**
   * The router's own request on `lane` (a replayed AUTH, HELLO, SELECT): its reply is
   * swallowed. A refusal (the node does not take the client's password: ACL rules are each
   * node's own) leaves the lane another user than the client's: nothing fills through it.
   */
  swallow(lane: NodeLane, bytes: Buffer): void {
    lane.replaysOwed++;
    const swallow = (frame: Buffer): void => {
      lane.replaysOwed--;
      if (frame[0] === 0x2d) lane.refusedReplay = true;
    };
    lane.queue(bytes, { req: null, group: -1, swallow });
  }

  /**
   * (Upstream.mayServe) A client of its own that authenticated is served a cached value only
   * once the key's node took its credentials: ACL rules are each node's own, and the user's
   * entries for that node's keys were read by clients that node accepted. Until its lane has
   * answered the replayed AUTH, or where it refused it, the GET goes to the node.
   */
  mayServe(buf: Buffer, off: number, len: number): boolean {
    if (this.own === null) {
      // A router of a user's pools: every master took its credentials at its AUTH. After a
      // change of rules, only a master it already has a seat on (Redis keeps an authenticated
      // connection), or that took them again for a new seat, has its keys served from the cache.
      if (this.login === null || this.epoch === this.routing.accessEpoch) return true;
      const inner = this.laneOfKey(buf, off, len)?.inner;
      return inner instanceof UserLaneSeat && inner.seated;
    }
    if (!this.own.authenticated) return true;
    const lane = this.laneOfKey(buf, off, len);
    return lane !== undefined && !lane.refusedReplay && lane.replaysOwed === 0;
  }

  /** the open lane to the master of the key at buf[off, off + len), if any */
  private laneOfKey(buf: Buffer, off: number, len: number): NodeLane | undefined {
    const addr = this.routing.addrOfSlot(keyHashSlot(buf, off, off + len));
    const lane = addr === null ? undefined : this.laneMap.get(addrKey(addr));
    return lane === undefined || lane.lost ? undefined : lane;
  }

  lanes(): Iterable<NodeLane> {
    return this.laneMap.values();
  }

  lostClient(reason: string): void {
    if (!this.closed) this.client.onUpstreamLost(reason);
  }

  deliver(req: ClusterRequest | null, buf: Buffer, start: number, end: number, inChunk: boolean): void {
    this.replies.deliver(req, buf, start, end, inChunk);
  }

  complete(req: ClusterRequest): void {
    this.replies.complete(req);
  }

  answerLocal(req: ClusterRequest, frame: Buffer): void {
    queueMicrotask(() => {
      if (this.closed) return;
      this.replies.answer(req, -1, frame, 0, frame.length, false);
      this.onLaneFlush();
    });
  }

  /** Queue `bytes` on `lane` as the reply `req` (or its group) waits for; ASK puts ASKING first. */
  sendTo(lane: NodeLane, req: ClusterRequest, group: number, bytes: Buffer, asking: boolean): void {
    if (asking) lane.queue(ASKING, { req: null, group: -1, swallow: ignore });
    const item: LaneItem = { req, group, swallow: null };
    lane.queue(bytes, item);
  }

  homeLane(): NodeLane {
    this.homeAddr ??= this.routing.home();
    return this.laneFor(this.homeAddr);
  }

  laneForSlot(slot: number): NodeLane {
    return this.laneFor(this.routing.addrOfSlot(slot));
  }

  laneFor(addr: BackendAddress | null): NodeLane {
    // nobody owns the slot (or nothing is known yet): the home node answers CLUSTERDOWN, retried
    const a = addr ?? this.homeAddr ?? this.routing.home() ?? this.routing.addressOf('127.0.0.1', 0);
    const key = addrKey(a);
    let lane = this.laneMap.get(key);
    // a shared client's lane that had to be a connection of its own (the node's pool was not
    // up yet) moves to a seat once it owes nothing: only seats are tracked for the cache
    if (lane !== undefined && this.shared && this.login === null && lane.inner?.shared === false && lane.items.length === 0 && this.routing.seatable(a)) {
      this.laneMap.delete(key);
      lane.close();
      lane = undefined;
    }
    if (lane === undefined || lane.lost) {
      lane = new NodeLane(key, a, this);
      this.laneMap.set(key, lane);
      for (const b of this.own?.replay ?? []) this.swallow(lane, b);
      lane.inner = this.routing.connect(a, this.shared, lane, this.login);
    }
    return lane;
  }

  // ───────────────────────────── replies ─────────────────────────────

  onLaneFrame(lane: NodeLane, buf: Buffer, start: number, end: number, inChunk: boolean): void {
    if (this.closed) return;
    this.answered = true;
    const item = lane.items.peek();
    if (item !== undefined && item.req?.passthrough === true) {
      this.replies.passFrame(item.req, buf, start, end, inChunk);
      return;
    }
    // a subscriber's confirmations and messages (subscriptions.ts)
    if (this.own?.subs.active === true && this.own.subs.onFrame(lane, buf, start, end, inChunk)) return;
    if (item === undefined || buf[start] === 0x3e) {
      // RESP3 pushes (the client's own invalidations, messages) belong to no request
      if (buf[start] === 0x3e) {
        this.replies.emit(buf, start, end, inChunk);
        return;
      }
      this.client.onUpstreamFault(`node ${lane.key} sent a reply with no request pending`);
      return;
    }
    lane.items.shift();
    if (item.swallow !== null) {
      item.swallow(Buffer.from(buf.subarray(start, end)));
      return;
    }
    const req = item.req as ClusterRequest;
    const kind = classifyReply(buf, start, end);
    if (kind !== ClusterReply.Other) {
      if (req.pinned && (kind === ClusterReply.Moved || kind === ClusterReply.Ask)) {
        // inside a transaction the node decides: another node's key is another slot
        this.replies.answer(req, item.group, CROSSSLOT, 0, CROSSSLOT.length, false);
        return;
      }
      // (a demoted home node)
      if (kind === ClusterReply.ReadOnly) this.leaveHome(lane);
      if (!req.pinned && this.redirect(lane, req, item.group, kind, buf, start, end)) return;
      // (a transaction's READONLY is the client's, but the map is read again all the same)
      if (req.pinned && kind === ClusterReply.ReadOnly) this.routing.redirected(kind, -1, null);
    }
    this.replies.answer(req, item.group, buf, start, end, inChunk);
  }

  /** Follow a redirect or retry; false: give the reply to the client as it is. */
  private redirect(lane: NodeLane, req: ClusterRequest, group: number, kind: ClusterReply, buf: Buffer, start: number, end: number): boolean {
    const bytes = req.groupBytes(group);
    this.fills.redirected(lane);
    if (kind === ClusterReply.Moved || kind === ClusterReply.Ask) {
      const r = parseRedirect(buf, start, end);
      if (r === null || req.hops >= MAX_HOPS) return false;
      req.hops++;
      const to = this.routing.addressOf(r.host === '' ? lane.addr.host : r.host, r.port);
      this.routing.redirected(kind, r.slot, to);
      const target = this.laneFor(to);
      this.sendTo(target, req, group, bytes, kind === ClusterReply.Ask);
      target.flush();
      return true;
    }
    this.routing.redirected(kind, -1, null);
    if (req.tries >= RETRY_MS.length) return false;
    const delay = RETRY_MS[req.tries++];
    const slot = group >= 0 && req.fanout !== null ? req.fanout.groupId(group) : req.slot;
    setTimeout(() => {
      if (this.closed) return;
      let planAddrs = group >= 0 ? req.planAddrs : null;
      if (planAddrs !== null && kind === ClusterReply.ReadOnly) {
        // a part for one master goes to the master of the node that refused it, once the map
        // says so (a copy: the list may be the router's own list of masters)
        const to = this.routing.masterFor(planAddrs[group]);
        if (to !== planAddrs[group]) {
          planAddrs = req.planAddrs = planAddrs.slice();
          planAddrs[group] = to;
        }
      }
      const target = planAddrs !== null ? this.laneFor(planAddrs[group]) : slot >= 0 ? this.laneForSlot(slot) : this.homeLane();
      this.sendTo(target, req, group, bytes, false);
      target.flush();
    }, delay).unref();
    return true;
  }

  onLaneFlush(): void {
    if (!this.closed) this.replies.flush();
  }

  onLaneDrain(): void {
    if (!this.closed) this.client.onUpstreamDrain();
  }

  onLaneLost(lane: NodeLane, reason: string): void {
    if (this.closed) return;
    if (this.laneMap.get(lane.key) === lane) this.laneMap.delete(lane.key);
    if (this.fills.uses(lane)) this.fills.untrack();
    this.leaveHome(lane);
    this.routing.refresh(`connection to ${lane.key} lost`);
    // a lane that owed nothing is opened again when needed (subscriptions it held are made
    // again elsewhere: subscriptions.ts); one that owed replies (or held the client's
    // transaction or MONITOR) cannot be made whole: the client's connection is lost, as a
    // direct one to that node would be
    const own = this.own;
    let owed = false;
    for (let it = lane.items.shift(); it !== undefined; it = lane.items.shift()) if (it.swallow === null) owed = true;
    // (a seat on a user's pool: Redis closes those connections for the user's sake too, ACL
    // DELUSER, CLIENT KILL USER, and closes a direct client of that user with them)
    if (owed || own?.pins(lane) === true || (this.login !== null && lane.inner?.shared === true)) this.client.onUpstreamLost(`${reason} (node ${lane.key})`);
    else own?.subs.laneLost(lane);
  }

  onLaneFault(reason: string): void {
    if (!this.closed) this.client.onUpstreamFault(reason);
  }

  // ───────────────────────────── the rest of Upstream ─────────────────────────────

  fillGeneration(key?: string): number {
    const r = this.routing;
    return r.fills && this.own?.passLane == null ? this.fills.generation(r, (a) => this.laneFor(a), key) : -1;
  }

  stillTracked(generation: number): boolean {
    return !this.closed && this.fills.stillTracked(generation);
  }

  yieldTracking(turnOff: boolean): void {
    this.fills.untrack();
    for (const l of this.laneMap.values()) l.inner?.yieldTracking(turnOff);
  }

  userChanged(): void {
    for (const l of this.laneMap.values()) l.inner?.userChanged();
  }

  relayRaw(): void {
    // (only once every earlier reply was paired, and only for a pass-through lane's stream)
    this.own?.passLane?.inner?.relayRaw();
  }

  pause(): void {
    this.fills.untrack();
    for (const l of this.laneMap.values()) l.inner?.pause();
  }

  resume(): void {
    for (const l of this.laneMap.values()) l.inner?.resume();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.own?.subs.close();
    this.fills.untrack();
    for (const l of this.laneMap.values()) l.close();
    this.laneMap.clear();
  }
}
