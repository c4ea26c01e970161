import type { BackendAddress } from '../config/config.js';
import { MESSAGES } from '../commands/session-commands.js';
import { encodeCommand } from '../resp/encode.js';
import { parseRedisInt } from '../resp/redis-int.js';
import { keyHashSlot } from './key-slot.js';
import type { ClusterRouting } from './cluster-upstream.js';
import { ClusterRequest, type NodeLane } from './node-lane.js';
import { ClusterReply, classifyReply, parseRedirect } from './redirect.js';

// A client's subscriptions across its lanes (a client of its own), as one connection to one
// Redis would hold them:
//
//   SUBSCRIBE, PSUBSCRIBE (and their UN-) ─▶ one lane, the "classic" one (its home node at
//        the first; classic pub/sub reaches every node through any one)
//   SSUBSCRIBE ch ─▶ the lane of ch's slot; SUNSUBSCRIBE ch ─▶ the lane that holds ch;
//        SUNSUBSCRIBE alone ─▶ every lane that holds shard channels, one request each
//   RESP2 and subscribed: other commands are refused as one Redis refuses them (keyed ones
//        here: a node would answer MOVED first); RESP3: they are routed as usual
//
// Each (un)subscribe is a request in the client's order that takes as many confirmations as
// one Redis sends; messages of a lane wait behind that lane's confirmations still in order.
// The count a confirmation carries is the client's, over all its lanes.
//
// Subscriptions that lose their node (the lane is lost, or the node sends `sunsubscribe`
// because the slot left it: a failover, a resharding) are made again, the confirmations of
// that swallowed: classic ones on another master at once, shard channels on the slot's new
// master once the map names one (or after a MOVED from the old one). The client sees no
// frame of it; messages published in between are lost (pub/sub is at most once).

const CHANNELS = 0;
const PATTERNS = 1;
const SHARD = 2;
const KINDS = new Map([
  ['subscribe', CHANNELS],
  ['unsubscribe', CHANNELS],
  ['psubscribe', PATTERNS],
  ['punsubscribe', PATTERNS],
  ['ssubscribe', SHARD],
  ['sunsubscribe', SHARD],
]);
const VERBS = [Buffer.from('SUBSCRIBE'), Buffer.from('PSUBSCRIBE'), Buffer.from('SSUBSCRIBE')];
const SUNSUBSCRIBE = Buffer.from('SUNSUBSCRIBE');
/** what Redis lets a RESP2 subscriber send besides (un)subscribing (PING is answered as a subscriber's) */
const ALLOWED = new Set(['quit', 'reset']);
const RETRY_MS = 250;
/** a shard channel whose slot left its node waits this long for the map to name another owner, then asks the old one (MOVED) */
const WAIT_OWNER_MS = 2_000;
/** a subscription that cannot be made again for this long: the client's connection is lost */
const GIVE_UP_MS = 30_000;

/** What the subscriptions need of the router. */
export interface SubRouter {
  enqueue(req: ClusterRequest): void;
  sendTo(lane: NodeLane, req: ClusterRequest, group: number, bytes: Buffer, asking: boolean): void;
  laneFor(addr: BackendAddress | null): NodeLane;
  laneForSlot(slot: number): NodeLane;
  homeLane(): NodeLane;
  /** a frame for the client behind `req`'s frames (now if req is null or handed over) */
  deliver(req: ClusterRequest | null, buf: Buffer, start: number, end: number, inChunk: boolean): void;
  /** `req` took its last confirmation */
  complete(req: ClusterRequest): void;
  /** `req` is answered by the proxy with `frame` */
  answerLocal(req: ClusterRequest, frame: Buffer): void;
  lostClient(reason: string): void;
}

/** What they need of the cluster's map. */
export type SubCluster = Pick<ClusterRouting, 'addrOfSlot' | 'addressOf' | 'masterAddrs' | 'refresh'>;

/** What one lane holds, as its confirmations said. */
class LaneSubs {
  readonly sets: [Set<string>, Set<string>, Set<string>] = [new Set(), new Set(), new Set()];
  /** the latest (un)subscribe sent on it: its messages wait behind it until it is handed over */
  held: ClusterRequest | null = null;

  get count(): number {
    return this.sets[0].size + this.sets[1].size + this.sets[2].size;
  }
}

/** A subscription that lost its node, to be made again. */
interface Orphan {
  readonly kind: number;
  readonly name: string;
  readonly since: number;
  /** the node it was lost on */
  readonly avoid: string;
  /** the lane its re-subscription is in flight on */
  on: NodeLane | null;
  hops: number;
}

function keyOf(a: BackendAddress): string {
  return `${a.host}:${a.port}`;
}

/** Lower-case name of an aggregate's first element when it is a short bulk ("message", "subscribe"). */
function firstName(buf: Buffer, start: number, end: number): string {
  let p = buf.indexOf(0x0a, start) + 1;
  if (p <= 0 || p >= end || buf[p] !== 0x24) return '';
  const cr = buf.indexOf(0x0d, p);
  const len = parseRedisInt(buf, p + 1, cr);
  if (!(len > 0 && len <= 24)) return '';
  p = cr + 2;
  return buf.toString('latin1', p, p + len).toLowerCase();
}

/** The channel of a confirmation (its second element), or null (a nil one). */
function channelOf(buf: Buffer, start: number): string | null {
  let p = buf.indexOf(0x0a, start) + 1;
  p = buf.indexOf(0x0a, p) + 1;
  p = buf.indexOf(0x0a, p) + 1;
  if (buf[p] !== 0x24) return null;
  const cr = buf.indexOf(0x0d, p);
  const len = parseRedisInt(buf, p + 1, cr);
  if (!(len >= 0)) return null;
  return buf.toString('latin1', cr + 2, cr + 2 + len);
}

/** The confirmation with `count` as its last element, or null when it already says so. */
function withCount(buf: Buffer, start: number, end: number, count: number): Buffer | null {
  let p = end - 3;
  while (p > start && buf[p] !== 0x3a) p--;
  if (p <= start || buf[p - 1] !== 0x0a || parseRedisInt(buf, p + 1, end - 2) === count) return null;
  return Buffer.concat([buf.subarray(start, p), Buffer.from(`:${count}\r\n`)]);
}

export class Subscriptions {
  private readonly laneSubs = new Map<NodeLane, LaneSubs>();
  /** where SUBSCRIBE and PSUBSCRIBE go */
  private classic: NodeLane | null = null;
  /** the latest (un)subscribe sent, and its lane */
  private last: ClusterRequest | null = null;
  private lastLane: NodeLane | null = null;
  private readonly orphans = new Map<string, Orphan>();
  private timer: NodeJS.Timeout | null = null;
  /**
   * What the client holds once every (un)subscribe sent is done, predicted from them (a
   * RESP2 command after an UNSUBSCRIBE is refused or not as that says); set again from the
   * confirmations whenever none is in flight.
   */
  private readonly predicted: [Set<string>, Set<string>, Set<string>] = [new Set(), new Set(), new Set()];
  private inFlight = 0;

  constructor(
    private readonly r: SubRouter,
    private readonly cluster: SubCluster,
    private readonly resp3: () => boolean,
  ) {}

  /** has the client ever (un)subscribed: its lanes' frames are looked at */
  get active(): boolean {
    return this.last !== null;
  }

  /** RESP2 and subscribed (or subscribing): the lane that answers as a subscriber, else null. */
  refuser(): NodeLane | null {
    if (this.last === null || this.resp3()) return null;
    if (this.predicted[0].size + this.predicted[1].size + this.predicted[2].size === 0) return null;
    const c = this.classic;
    if (c !== null && !c.lost && (this.laneSubs.get(c)?.count ?? 0) > 0) return c;
    for (const [lane, ls] of this.laneSubs) if (ls.count > 0 && !lane.lost) return lane;
    const l = this.lastLane;
    return l !== null && !l.lost ? l : null;
  }

  // ───────────────────────────── requests ─────────────────────────────

  /** The pub/sub commands, and what a RESP2 subscriber may not send. Returns true when routed here. */
  route(name: string, args: Buffer[], bytes: Buffer, keyed: boolean): boolean {
    const kind = KINDS.get(name);
    if (kind === undefined) return this.refuse(name, bytes, keyed);
    const r = this.r;
    const n = args.length - 1;
    const counts = this.predict(kind, name, args);
    if (kind !== SHARD) {
      const lane = this.classic !== null && !this.classic.lost ? this.classic : r.homeLane();
      if (!name.includes('unsub')) this.classic = lane;
      this.forget(kind, args);
      this.send(lane, name, bytes, n, -1, counts);
      return true;
    }
    if (n === 0 && name === 'sunsubscribe') {
      this.sunsubscribeAll(bytes, counts);
      return true;
    }
    if (n === 0) {
      this.send(r.homeLane(), name, bytes, 0, -1, counts); // the node's arity error
      return true;
    }
    const slot = keyHashSlot(args[1]);
    const lane = (name === 'sunsubscribe' ? this.holding(SHARD, args[1].toString('latin1')) : null) ?? r.laneForSlot(slot);
    if (name === 'sunsubscribe') this.forget(SHARD, args);
    this.send(lane, name, bytes, n, slot, counts);
    return true;
  }

  /**
   * Applies an (un)subscribe to the prediction; returns the counts its confirmations show, as
   * one connection counts (channels and patterns together, shard channels apart), in the
   * client's order whatever order the nodes answer in.
   */
  private predict(kind: number, name: string, args: Buffer[]): number[] {
    const p = this.predicted;
    const set = p[kind];
    const family = (): number => (kind === SHARD ? p[SHARD].size : p[CHANNELS].size + p[PATTERNS].size);
    const counts: number[] = [];
    const unsub = name.includes('unsub');
    if (args.length === 1 && unsub) {
      const total = family();
      if (set.size === 0) counts.push(total);
      for (let i = 1; i <= set.size; i++) counts.push(total - i);
      set.clear();
      return counts;
    }
    for (let i = 1; i < args.length; i++) {
      if (unsub) set.delete(args[i].toString('latin1'));
      else set.add(args[i].toString('latin1'));
      counts.push(family());
    }
    return counts;
  }

  /** A RESP2 subscriber's command other than (un)subscribing: refused as one Redis would. */
  private refuse(name: string, bytes: Buffer, keyed: boolean): boolean {
    if (ALLOWED.has(name)) return false;
    const lane = this.refuser();
    if (lane === null) return false;
    const req = new ClusterRequest(bytes, -1, null, false, false);
    this.r.enqueue(req);
    if (keyed && name !== 'ping') {
      // (a node asked first redirects a key of another node's slot)
      const what = `Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`;
      this.r.answerLocal(req, Buffer.from(`-ERR ${what}\r\n`));
    } else {
      this.r.sendTo(lane, req, -1, bytes, false);
    }
    return true;
  }

  private send(lane: NodeLane, name: string, bytes: Buffer, n: number, slot: number, counts: number[]): void {
    this.inFlight++;
    const req = new ClusterRequest(bytes, slot, null, false, false);
    req.subName = name;
    req.subCounts = counts;
    req.subLeft = n;
    req.subAll = n === 0;
    this.r.enqueue(req);
    this.r.sendTo(lane, req, -1, bytes, false);
    this.subsOf(lane).held = req;
    this.last = req;
    this.lastLane = lane;
  }

  /** SUNSUBSCRIBE alone: each lane that holds shard channels (or is being given one) unsubscribes its own. */
  private sunsubscribeAll(bytes: Buffer, counts: number[]): void {
    const lanes = new Map<NodeLane, number>();
    for (const [lane, ls] of this.laneSubs) if (ls.sets[SHARD].size > 0 && !lane.lost) lanes.set(lane, ls.sets[SHARD].size);
    const waiting: string[] = [];
    for (const o of this.orphans.values()) {
      if (o.kind !== SHARD) continue;
      if (o.on !== null) lanes.set(o.on, (lanes.get(o.on) ?? 0) + 1);
      else waiting.push(o.name);
    }
    this.forget(SHARD, [SUNSUBSCRIBE]);
    if (lanes.size === 0 && waiting.length === 0) {
      this.send(this.r.homeLane(), 'sunsubscribe', bytes, 0, -1, counts);
      return;
    }
    // each lane's confirmations count on from the previous lane's
    let at = 0;
    const next = (k: number): number[] => counts.slice(Math.min(at, counts.length - 1), (at += k));
    for (const [lane, k] of lanes) this.send(lane, 'sunsubscribe', bytes, 0, -1, next(k));
    // (a channel still waiting for its new node is the client's all the same: one confirmation each)
    for (const ch of waiting) {
      const slot = keyHashSlot(Buffer.from(ch, 'latin1'));
      this.send(this.r.laneForSlot(slot), 'sunsubscribe', encodeCommand([SUNSUBSCRIBE, Buffer.from(ch, 'latin1')]), 1, slot, next(1));
    }
  }

  /** The client unsubscribes: what waited to be made again is not. */
  private forget(kind: number, args: Buffer[]): void {
    if (this.orphans.size === 0 || !args[0].toString('latin1').toLowerCase().includes('unsub')) return;
    if (args.length === 1) {
      for (const [k, o] of this.orphans) if (o.kind === kind) this.orphans.delete(k);
    } else {
      for (let i = 1; i < args.length; i++) this.orphans.delete(`${kind}:${args[i].toString('latin1')}`);
    }
  }

  private holding(kind: number, name: string): NodeLane | null {
    for (const [lane, ls] of this.laneSubs) if (!lane.lost && ls.sets[kind].has(name)) return lane;
    return null;
  }

  private subsOf(lane: NodeLane): LaneSubs {
    let ls = this.laneSubs.get(lane);
    if (ls === undefined) {
      ls = new LaneSubs();
      this.laneSubs.set(lane, ls);
    }
    return ls;
  }

  /** RESET: every lane forgets its subscriptions (Redis drops them with it). */
  reset(): void {
    for (const s of this.predicted) s.clear();
    this.inFlight = 0;
    this.laneSubs.clear();
    this.orphans.clear();
    this.classic = null;
    this.last = null;
    this.lastLane = null;
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.orphans.clear();
  }

  // ───────────────────────────── frames ─────────────────────────────

  /** A frame from `lane` (only while active). Returns true when it was taken here. */
  onFrame(lane: NodeLane, buf: Buffer, start: number, end: number, inChunk: boolean): boolean {
    const t = buf[start];
    const item = lane.items.peek();
    if (t !== 0x3e && t !== 0x2a) {
      // an (un)subscribe refused (CROSSSLOT, arity...): the prediction was wrong
      if ((t === 0x2d || t === 0x21) && item?.req != null && item.req.subName !== null && classifyReply(buf, start, end) === ClusterReply.Other) this.settled();
      return false;
    }
    const req = item?.req ?? null;
    const ls = this.laneSubs.get(lane);
    const name = firstName(buf, start, end);
    const kind = KINDS.get(name);
    const mine = req !== null && req.subName !== null;
    if (kind !== undefined && (t === 0x3e || mine || item?.swallow != null || (ls?.count ?? 0) > 0)) {
      this.confirmation(lane, kind, name, buf, start, end, inChunk);
      return true;
    }
    if (t === 0x3e || ((ls?.count ?? 0) > 0 && !this.resp3() && MESSAGES.has(name))) {
      // a message (or another push): behind the lane's confirmations still in order
      this.r.deliver(ls?.held ?? null, buf, start, end, inChunk);
      return true;
    }
    return false;
  }

  private confirmation(lane: NodeLane, kind: number, name: string, buf: Buffer, start: number, end: number, inChunk: boolean): void {
    const ls = this.subsOf(lane);
    const item = lane.items.peek();
    const req = item?.req ?? null;
    const set = ls.sets[kind];
    if (req !== null && req.subName !== null && KINDS.get(req.subName) === kind && req.subName.includes('unsub') === name.includes('unsub')) {
      if (req.subAll) {
        req.subAll = false;
        req.subLeft = Math.max(1, set.size);
      }
      this.apply(set, name, buf, start);
      const counts = req.subCounts;
      const counted = counts.length === 0 ? null : withCount(buf, start, end, counts[Math.min(req.subSeen++, counts.length - 1)]);
      if (counted !== null) this.r.deliver(req, counted, 0, counted.length, false);
      else this.r.deliver(req, buf, start, end, inChunk);
      if (--req.subLeft > 0) return;
      lane.items.shift();
      this.settled();
      this.r.complete(req);
      return;
    }
    this.apply(set, name, buf, start);
    if (item !== undefined && item.swallow !== null) {
      // a re-subscription's (or a replayed command's) confirmation
      lane.items.shift();
      item.swallow(Buffer.from(buf.subarray(start, end)));
      return;
    }
    const channel = channelOf(buf, start);
    if (name === 'sunsubscribe' && channel !== null) {
      // the node let the channel go: its slot is someone else's now (a failover, a resharding)
      this.orphan(SHARD, channel, lane.key);
      this.cluster.refresh(`shard channel moved off ${lane.key}`);
      this.schedule(0);
      return;
    }
    this.r.deliver(ls.held, buf, start, end, inChunk);
  }

  /** An (un)subscribe is done: with none left in flight, the prediction is what the nodes confirmed. */
  private settled(): void {
    if (--this.inFlight > 0) return;
    this.inFlight = 0;
    for (let k = 0; k < 3; k++) {
      const p = this.predicted[k];
      p.clear();
      for (const ls of this.laneSubs.values()) for (const name of ls.sets[k]) p.add(name);
    }
    for (const o of this.orphans.values()) this.predicted[o.kind].add(o.name);
  }

  private apply(set: Set<string>, name: string, buf: Buffer, start: number): void {
    const channel = channelOf(buf, start);
    if (channel === null) return;
    if (name.includes('unsub')) set.delete(channel);
    else set.add(channel);
  }

  // ───────────────────────────── lost nodes ─────────────────────────────

  /** `lane` was lost (it owed the client nothing): what it held is made again elsewhere. */
  laneLost(lane: NodeLane): void {
    const ls = this.laneSubs.get(lane);
    this.laneSubs.delete(lane);
    if (lane === this.classic) this.classic = null;
    let again = false;
    for (const o of this.orphans.values()) {
      if (o.on === lane) {
        o.on = null;
        again = true;
      }
    }
    if (ls !== undefined) for (let k = 0; k < 3; k++) for (const name of ls.sets[k]) this.orphan(k, name, lane.key);
    if (ls !== undefined && ls.count > 0) this.schedule(0);
    else if (again) this.schedule(RETRY_MS);
  }

  private orphan(kind: number, name: string, avoid: string): void {
    this.orphans.set(`${kind}:${name}`, { kind, name, since: Date.now(), avoid, on: null, hops: 0 });
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
      this.cluster.refresh('a subscriber waits for its channel\'s new node');
      this.schedule(RETRY_MS);
    }
  }

  private targetOf(o: Orphan, now: number): NodeLane | null {
    if (o.kind !== SHARD) {
      if (this.classic !== null && !this.classic.lost) return this.classic;
      const to = this.cluster.masterAddrs().find((a) => keyOf(a) !== o.avoid);
      if (to === undefined) return null;
      this.classic = this.r.laneFor(to);
      return this.classic;
    }
    const addr = this.cluster.addrOfSlot(keyHashSlot(Buffer.from(o.name, 'latin1')));
    if (addr === null || (keyOf(addr) === o.avoid && now - o.since < WAIT_OWNER_MS)) return null;
    return this.r.laneFor(addr);
  }

  private resend(o: Orphan, lane: NodeLane): void {
    o.on = lane;
    const bytes = encodeCommand([VERBS[o.kind], Buffer.from(o.name, 'latin1')]);
    lane.queue(bytes, { req: null, group: -1, swallow: (frame) => this.resubscribed(o, lane, frame) });
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
