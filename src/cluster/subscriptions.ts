import type { BackendAddress } from '../config/config.js';
import { MESSAGES } from '../commands/session-commands.js';
import { encodeCommand } from '../resp/encode.js';
import { confirmationChannel, firstElementName } from '../resp/pubsub-frame.js';
import { parseRedisInt } from '../resp/redis-int.js';
import { keyHashSlot } from './key-slot.js';
import type { ClusterRouting } from './cluster-upstream.js';
import { ClusterRequest, SubRequest, type NodeLane } from './node-lane.js';
import { ClusterReply, classifyReply } from './redirect.js';
import { Resubscriber, SHARD } from './resubscriber.js';

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
// one Redis sends; messages wait behind the latest (un)subscribe until it is handed over (so
// none passes its channel's confirmation). The count a confirmation carries is the client's,
// over all its lanes, in its order (predicted as one Redis counts).
//
// Subscriptions that lose their node (the lane is lost, or the node sends `sunsubscribe`
// because the slot left it: a failover, a resharding) are made again (resubscriber.ts), the
// confirmations of that swallowed. The client sees no frame of it; messages published in
// between are lost (pub/sub is at most once).

const CHANNELS = 0;
const PATTERNS = 1;
const KINDS = new Map([
  ['subscribe', CHANNELS],
  ['unsubscribe', CHANNELS],
  ['psubscribe', PATTERNS],
  ['punsubscribe', PATTERNS],
  ['ssubscribe', SHARD],
  ['sunsubscribe', SHARD],
]);
const SUNSUBSCRIBE = Buffer.from('SUNSUBSCRIBE');
/** what Redis lets a RESP2 subscriber send besides (un)subscribing (PING is answered as a subscriber's) */
const ALLOWED = new Set(['quit', 'reset']);

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

  get count(): number {
    return this.sets[0].size + this.sets[1].size + this.sets[2].size;
  }
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
  /**
   * the latest (un)subscribe sent, and its lane: messages wait behind it until it is handed
   * over (a channel's messages never pass its confirmation, whichever node it came from)
   */
  private last: ClusterRequest | null = null;
  private lastLane: NodeLane | null = null;
  /**
   * What the client holds once every (un)subscribe sent is done, predicted from them (a
   * RESP2 command after an UNSUBSCRIBE is refused or not as that says); set again from the
   * confirmations whenever none is in flight.
   */
  private readonly predicted: [Set<string>, Set<string>, Set<string>] = [new Set(), new Set(), new Set()];
  private inFlight = 0;
  /** what lost its node, being made again */
  private readonly again: Resubscriber;

  constructor(
    private readonly r: SubRouter,
    private readonly cluster: SubCluster,
    private readonly resp3: () => boolean,
  ) {
    this.again = new Resubscriber(r, cluster, (avoid) => this.classicFor(avoid));
  }

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
    req.sub = new SubRequest(name, n, counts);
    this.r.enqueue(req);
    this.r.sendTo(lane, req, -1, bytes, false);
    this.last = req;
    this.lastLane = lane;
  }

  /** SUNSUBSCRIBE alone: each lane that holds shard channels (or is being given one) unsubscribes its own. */
  private sunsubscribeAll(bytes: Buffer, counts: number[]): void {
    const lanes = new Map<NodeLane, number>();
    for (const [lane, ls] of this.laneSubs) if (ls.sets[SHARD].size > 0 && !lane.lost) lanes.set(lane, ls.sets[SHARD].size);
    const waiting: string[] = [];
    for (const o of this.again.orphans.values()) {
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
    if (args[0].toString('latin1').toLowerCase().includes('unsub')) this.again.forget(kind, args.slice(1));
  }

  /** Where classic subscriptions go now: the classic lane, or (it was lost) another master than `avoid`. */
  private classicFor(avoid: string): NodeLane | null {
    if (this.classic !== null && !this.classic.lost) return this.classic;
    const to = this.cluster.masterAddrs().find((a) => `${a.host}:${a.port}` !== avoid);
    this.classic = to === undefined ? null : this.r.laneFor(to);
    return this.classic;
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
    // (`last` stays: confirmations of (un)subscribes sent before it may still come)
    for (const s of this.predicted) s.clear();
    this.laneSubs.clear();
    this.again.orphans.clear();
    this.classic = null;
  }

  close(): void {
    this.again.close();
  }

  // ───────────────────────────── frames ─────────────────────────────

  /** A frame from `lane` (only while active). Returns true when it was taken here. */
  onFrame(lane: NodeLane, buf: Buffer, start: number, end: number, inChunk: boolean): boolean {
    const t = buf[start];
    const item = lane.items.peek();
    if (t !== 0x3e && t !== 0x2a) {
      // an (un)subscribe refused (CROSSSLOT, arity...): the prediction was wrong
      if ((t === 0x2d || t === 0x21) && item?.req?.sub != null && classifyReply(buf, start, end) === ClusterReply.Other) this.settled();
      return false;
    }
    const req = item?.req ?? null;
    const ls = this.laneSubs.get(lane);
    const name = firstElementName(buf, start, end);
    const kind = KINDS.get(name);
    const mine = req?.sub != null;
    // (RESP3 confirmations are pushes: an array is a reply, whatever it holds)
    if (kind !== undefined && (t === 0x3e || (!this.resp3() && (mine || this.again.owns(item?.swallow) || (ls?.count ?? 0) > 0)))) {
      this.confirmation(lane, kind, name, buf, start, end, inChunk);
      return true;
    }
    if (t === 0x3e || ((ls?.count ?? 0) > 0 && !this.resp3() && MESSAGES.has(name))) {
      // a message (or another push): behind the lane's confirmations still in order
      this.r.deliver(this.last, buf, start, end, inChunk);
      return true;
    }
    return false;
  }

  private confirmation(lane: NodeLane, kind: number, name: string, buf: Buffer, start: number, end: number, inChunk: boolean): void {
    const ls = this.subsOf(lane);
    const item = lane.items.peek();
    const req = item?.req ?? null;
    const set = ls.sets[kind];
    const sub = req?.sub ?? null;
    if (req !== null && sub !== null && KINDS.get(sub.name) === kind && sub.name.includes('unsub') === name.includes('unsub')) {
      if (sub.all) {
        sub.all = false;
        sub.left = Math.max(1, set.size);
      }
      this.apply(set, name, buf, start);
      const counts = sub.counts;
      const counted = counts.length === 0 ? null : withCount(buf, start, end, counts[Math.min(sub.seen++, counts.length - 1)]);
      if (counted !== null) this.r.deliver(req, counted, 0, counted.length, false);
      else this.r.deliver(req, buf, start, end, inChunk);
      if (--sub.left > 0) return;
      lane.items.shift();
      this.settled();
      this.r.complete(req);
      return;
    }
    this.apply(set, name, buf, start);
    if (item !== undefined && this.again.owns(item.swallow)) {
      // a re-subscription's confirmation
      lane.items.shift();
      (item.swallow as (frame: Buffer) => void)(Buffer.from(buf.subarray(start, end)));
      return;
    }
    const channel = confirmationChannel(buf, start);
    if (name === 'sunsubscribe' && channel !== null) {
      // the node let the channel go: its slot is someone else's now (a failover, a resharding)
      this.cluster.refresh(`shard channel moved off ${lane.key}`);
      this.again.add(SHARD, channel, lane.key, 0);
      return;
    }
    this.r.deliver(this.last, buf, start, end, inChunk);
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
    for (const o of this.again.orphans.values()) this.predicted[o.kind].add(o.name);
  }

  private apply(set: Set<string>, name: string, buf: Buffer, start: number): void {
    const channel = confirmationChannel(buf, start);
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
    this.again.laneLost(lane);
    if (ls !== undefined) for (let k = 0; k < 3; k++) for (const name of ls.sets[k]) this.again.add(k, name, lane.key, 0);
  }
}
