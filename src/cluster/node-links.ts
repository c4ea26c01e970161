import type { Logger } from 'pino';
import type { BackendAddress, Coherence } from '../config/config.js';
import type { TlsClientOptions } from '../backend/connect.js';
import { InvalidationLink, NO_TRACKING_NEEDED, type LinkCache, type LinkState, type TrackingTarget } from '../backend/invalidation-link.js';
import type { ReplyCache, SlotDropReason } from '../cache/reply-cache.js';
import { SLOT_COUNT } from './key-slot.js';
import { nodeAddress } from './cluster-discovery.js';
import { addrKey, formatRanges, type ClusterNode, type NodeHealth, type NodeRole, type SlotMap, type SlotRange } from './topology.js';
import type { TopologyChange } from './topology-change.js';

// The cache on a cluster: one invalidation link per master, and the slots whose entries the
// cache may hold and fill. Tracking is per node: a connection to master M tracks with
// REDIRECT to M's link (targetFor), and only M reports the keys read through it. So the
// entries of a slot are only as good as the link of the node that owns it:
//
//   M's link lost (or its watchdog says unresponsive) ─▶ drop the entries of M's slots, block
//        their fills ─▶ M's link tracking again (a new generation) ─▶ unblock them
//   a slot's owner changes (failover, resharding, a node readdressed or gone) ─▶ drop its
//        entries (a promoted replica knows nothing of the old master's tracking, and writes
//        the old master had not replicated are gone) ─▶ blocked until the new owner's link
//        is tracking (at once, when it already is)
//
// Every other slot keeps its entries and keeps filling. The cache does the per-slot work
// (ReplyCache.invalidateSlots, blockSlots: a fill in flight across a drop or a block is
// discarded); this keeps which node owns which slot and whether its link tracks.
//
// What the router does with it, per GET that may fill (slot: the key's, addrKey: topology.ts's addrKey
// of its master's address):
//   - its connections to that master track for targetFor(addrKey) (OwnConnection's
//     `tracking`, SharedPool.tracking); equip() is called for each new link, the place to
//     hang `link.on('tracking', () => pool.onTracking())` as PrimaryTarget does;
//   - Upstream.fillGeneration: g = fillGeneration(slot); fill only if g !== -1 and the
//     connection's own fillGeneration() === g (generations are unique across every link of
//     the process). A TrackingTarget whose redirectId is null reads as "no tracking needed"
//     to those connections: gating on fillGeneration(slot) first is what makes a link that
//     is down mean "no fill";
//   - Upstream.stillTracked(g): stillTracked(slot, g) && the connection's stillTracked(g);
//   - SharedPool.onTrackingLost of that master's pool: trackingLost(addrKey);
//   - ClusterDiscovery 'change' (change, map): update(map, change).
// A GET that follows ASK reads from a node that does not own the slot: its connection is
// tracked for another generation than fillGeneration(slot), so it does not fill.

export interface NodeLinksOptions {
  /** the seeds' address: its credentials and TLS apply to every node (as in cluster-discovery.ts) */
  seed: BackendAddress;
  tls?: TlsClientOptions;
  cache: ReplyCache;
  coherence: Coherence;
  log: Logger;
  /**
   * Adds parts to a new node link before it starts (a HealthWatchdog, an AclWatch...). `cache`
   * is that node's view of the cache: its setReady(false) drops and blocks the node's slots
   * only, its invalidateAll drops them.
   */
  equip?(link: InvalidationLink, cache: LinkCache, node: ClusterNode): void;
}

export interface NodeDrops {
  linkLost: number;
  ownerChanged: number;
  nodeFlush: number;
  trackingLost: number;
}

export interface NodeLinkStats {
  id: string;
  addr: string;
  role: NodeRole;
  health: NodeHealth;
  /** `0-5460,5462`; empty for a replica */
  slots: string;
  /** null: no link (a replica, or a failed master that owns nothing) */
  link: LinkState | null;
  /** its slots may fill */
  tracking: boolean;
  /** times its link was (re)established (this node's links, all of them) */
  connects: number;
  /** entries dropped for its slots, by reason (while it owned them) */
  dropped: NodeDrops;
}


/** One master and its link. */
class NodeLink {
  /** its slots are unblocked: the link is up (and tracking, in tracking mode) */
  tracking = false;
  retired = false;
  /** the slots it owns, one byte per slot */
  slots: Uint8Array = new Uint8Array(SLOT_COUNT);
  link!: InvalidationLink;
  constructor(
    public node: ClusterNode,
    readonly addr: BackendAddress,
    readonly key: string,
  ) {}
}

export class NodeLinks {
  private readonly byId = new Map<string, NodeLink>();
  private readonly byAddr = new Map<string, NodeLink>();
  /** slot → the master's NodeLink, null when nobody owns it */
  private owner: Array<NodeLink | null> = new Array<NodeLink | null>(SLOT_COUNT).fill(null);
  private map: SlotMap | null = null;
  /** per node id, kept after its link goes */
  private readonly drops = new Map<string, NodeDrops>();
  private readonly connectsBefore = new Map<string, number>();
  private stopped = false;

  constructor(private readonly opts: NodeLinksOptions) {
    // nothing is known yet: every slot is blocked until its master's link tracks
    opts.cache.blockSlots(new Uint8Array(SLOT_COUNT).fill(1));
    opts.cache.invalidateAll();
    opts.cache.setReady(true);
  }

  /** A new topology: links for new masters, links of masters gone stopped, moved slots dropped. */
  update(map: SlotMap, change: TopologyChange): void {
    if (this.stopped) return;
    const { cache, log } = this.opts;
    this.map = map;
    const fresh: NodeLink[] = [];
    const keep = new Set<NodeLink>();
    for (const n of map.masters) {
      // a failed master that owns nothing (its replica took over) is not worth a link
      if (n.slots.length === 0 && n.health === 'failed') continue;
      const addr = nodeAddress(this.opts.seed, n);
      const key = addrKey(addr);
      let nl = this.byId.get(n.id);
      // readdressed (restarted elsewhere): its tracking is gone with the old address's process
      if (nl !== undefined && nl.key !== key) {
        this.retire(nl);
        nl = undefined;
      }
      if (nl === undefined) {
        nl = this.create(n, addr, key);
        fresh.push(nl);
      }
      nl.node = n;
      keep.add(nl);
    }
    for (const nl of [...this.byId.values()]) if (!keep.has(nl)) this.retire(nl);

    // who owns each slot now, and which slots changed hands
    const before = this.owner;
    const owner = new Array<NodeLink | null>(SLOT_COUNT).fill(null);
    for (const nl of keep) {
      nl.slots = rangesMask(nl.node.slots);
      for (const r of nl.node.slots) owner.fill(nl, r.start, r.end + 1);
    }
    const moved = new Uint8Array(SLOT_COUNT);
    for (const r of change.movedSlots) moved.fill(1, r.start, r.end + 1);
    for (let s = 0; s < SLOT_COUNT; s++) if (owner[s] !== before[s]) moved[s] = 1;
    this.owner = owner;

    // drop the moved slots' entries, counted against the node that owned them
    const byOld = new Map<NodeLink | null, Uint8Array>();
    let movedCount = 0;
    for (let s = 0; s < SLOT_COUNT; s++) {
      if (moved[s] === 0) continue;
      movedCount++;
      let m = byOld.get(before[s]);
      if (m === undefined) byOld.set(before[s], (m = new Uint8Array(SLOT_COUNT)));
      m[s] = 1;
    }
    let dropped = 0;
    for (const [old, m] of byOld) {
      const n = cache.invalidateSlots(m, 'owner-changed');
      dropped += n;
      if (old !== null) this.count(old.node.id, 'owner-changed', n);
    }

    // a slot fills only while its owner's link tracks
    const block = new Uint8Array(SLOT_COUNT);
    const unblock = new Uint8Array(SLOT_COUNT);
    for (let s = 0; s < SLOT_COUNT; s++) {
      if (owner[s] !== null && owner[s]!.tracking) unblock[s] = 1;
      else block[s] = 1;
    }
    cache.blockSlots(block);
    cache.unblockSlots(unblock);
    if (movedCount > 0 && before.some((x) => x !== null)) {
      log.info({ slotsMoved: movedCount, entriesDropped: dropped, slots: formatRanges(maskRanges(moved)) }, 'cluster: slots changed owner; their cache entries dropped, filled again once the new owner\'s link is tracking');
    }
    for (const nl of fresh) nl.link.start();
  }

  /** What a connection to the master at `addrKey` (see addrKey) points its tracking at; null: no such master. */
  targetFor(addrKey: string): TrackingTarget | null {
    return this.byAddr.get(addrKey)?.link ?? null;
  }

  /**
   * A connection to the master at `addrKey` that filled the cache for its link's tracking
   * closed or lost its tracking (a shared connection: SharedPool.onTrackingLost). Redis reports
   * what was read through it no more: the master's slots' entries go (the link stays, nothing
   * is blocked). Returns how many were dropped.
   */
  trackingLost(addrKey: string): number {
    const nl = this.byAddr.get(addrKey);
    if (nl === undefined || this.stopped) return 0;
    const n = this.opts.cache.invalidateSlots(nl.slots, 'tracking-lost');
    this.count(nl.node.id, 'tracking-lost', n);
    return n;
  }

  /** The link of the master at `addrKey`, for stats and events. */
  linkFor(addrKey: string): InvalidationLink | null {
    return this.byAddr.get(addrKey)?.link ?? null;
  }

  /**
   * May a GET of a key in `slot` sent now fill the cache: the generation of its master's link
   * (the router's connection must be tracked for it), NO_TRACKING_NEEDED for a TTL-only link,
   * or -1 (no owner, or its link is not tracking).
   */
  fillGeneration(slot: number): number {
    const nl = this.owner[slot];
    if (nl === null || !nl.tracking) return -1;
    const l = nl.link;
    if (l.state === 'ttl-only') return NO_TRACKING_NEEDED;
    return l.state === 'up' && l.redirectId !== null ? l.generation : -1;
  }

  /** false if, since fillGeneration(slot) gave `generation`, the slot's owner or its link changed. */
  stillTracked(slot: number, generation: number): boolean {
    const nl = this.owner[slot];
    if (nl === null || !nl.tracking || generation === -1) return false;
    if (generation === NO_TRACKING_NEEDED) return nl.link.state === 'ttl-only';
    return nl.link.generation === generation && nl.link.redirectId !== null;
  }

  /** Per node of `seen` (the last topology read; else the last applied): masters with their links, then replicas. */
  stats(seen: SlotMap | null = this.map): NodeLinkStats[] {
    const nodes = seen?.nodes ?? [];
    return nodes.map((n) => {
      const nl = this.byId.get(n.id);
      const addr = nodeAddress(this.opts.seed, n);
      return {
        id: n.id,
        addr: addrKey(addr),
        role: n.role,
        health: n.health,
        slots: formatRanges(n.slots),
        link: nl?.link.state ?? null,
        tracking: nl?.tracking ?? false,
        connects: (this.connectsBefore.get(n.id) ?? 0) + (nl?.link.connects ?? 0),
        dropped: { ...(this.drops.get(n.id) ?? { linkLost: 0, ownerChanged: 0, nodeFlush: 0, trackingLost: 0 }) },
      };
    });
  }

  /** Every link stops; the cache stops serving (and is emptied). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const nl of [...this.byId.values()]) this.retire(nl);
    this.opts.cache.setReady(false);
  }

  private create(node: ClusterNode, addr: BackendAddress, key: string): NodeLink {
    const { cache, coherence, log, tls } = this.opts;
    const nl = new NodeLink(node, addr, key);
    // the node's view of the cache: its link drops and blocks only the node's slots
    const view: LinkCache = {
      invalidate: (k) => cache.invalidate(k),
      invalidateAll: () => this.flushed(nl),
      setReady: (ready) => (ready ? this.linkUp(nl) : this.linkDown(nl)),
      get capacity() {
        return cache.capacity;
      },
    };
    nl.link = new InvalidationLink({ addr, tls, cache: view, coherence, log: log.child({ node: key }) });
    this.opts.equip?.(nl.link, view, node);
    this.byId.set(node.id, nl);
    this.byAddr.set(key, nl);
    return nl;
  }

  /** Its link stops for good; what happens to its slots is the caller's (they moved, or nobody owns them). */
  private retire(nl: NodeLink): void {
    nl.retired = true;
    nl.tracking = false;
    if (this.byId.get(nl.node.id) === nl) this.byId.delete(nl.node.id);
    if (this.byAddr.get(nl.key) === nl) this.byAddr.delete(nl.key);
    this.connectsBefore.set(nl.node.id, (this.connectsBefore.get(nl.node.id) ?? 0) + nl.link.connects);
    nl.link.stop();
  }

  private linkUp(nl: NodeLink): void {
    if (nl.retired || this.stopped || nl.tracking) return;
    nl.tracking = true;
    this.opts.cache.unblockSlots(nl.slots);
  }

  private linkDown(nl: NodeLink): void {
    // (a failed reconnect of a link already down: its slots are blocked and hold nothing)
    if (nl.retired || this.stopped || !nl.tracking) return;
    nl.tracking = false;
    const { cache, log } = this.opts;
    cache.blockSlots(nl.slots);
    const n = cache.invalidateSlots(nl.slots, 'link-lost');
    this.count(nl.node.id, 'link-lost', n);
    log.warn({ node: nl.key, entriesDropped: n, slots: formatRanges(nl.node.slots) }, 'cluster: a master\'s invalidation link is lost: its slots\' entries dropped, not filled until it is back');
  }

  /** FLUSHALL/FLUSHDB on the node (a null invalidation): its slots' entries go. */
  private flushed(nl: NodeLink): void {
    if (nl.retired || this.stopped) return;
    this.count(nl.node.id, 'node-flush', this.opts.cache.invalidateSlots(nl.slots, 'node-flush'));
  }

  private count(id: string, reason: SlotDropReason, n: number): void {
    let d = this.drops.get(id);
    if (d === undefined) this.drops.set(id, (d = { linkLost: 0, ownerChanged: 0, nodeFlush: 0, trackingLost: 0 }));
    if (reason === 'link-lost') d.linkLost += n;
    else if (reason === 'owner-changed') d.ownerChanged += n;
    else if (reason === 'node-flush') d.nodeFlush += n;
    else d.trackingLost += n;
  }
}

function maskRanges(m: Uint8Array): SlotRange[] {
  const out: SlotRange[] = [];
  for (let s = 0; s < SLOT_COUNT; s++) {
    if (m[s] === 0) continue;
    let e = s;
    while (e + 1 < SLOT_COUNT && m[e + 1] !== 0) e++;
    out.push({ start: s, end: e });
    s = e;
  }
  return out;
}

function rangesMask(ranges: readonly SlotRange[]): Uint8Array {
  const m = new Uint8Array(SLOT_COUNT);
  for (const r of ranges) m.fill(1, r.start, r.end + 1);
  return m;
}
