import type { BackendAddress } from '../config/config.js';
import { NO_TRACKING_NEEDED } from '../backend/invalidation-link.js';
import { FillOwner } from '../cache/reply-cache.js';
import type { Upstream } from '../upstream/upstream.js';
import type { NodeLane } from './node-lane.js';
import { keyHashSlotLatin1 } from './key-slot.js';

// May a GET a client of the cluster sends now fill the cache? The session asks before it
// forwards the GET, with the GET's key: only the lane to that key's master matters, and it
// must be tracked for its master's link's current generation. The token names that lane and
// generation (a number of its own: a lane whose token is dropped gets a new one), and the
// fill's reply is kept only while that lane is still tracked for it. So while one master's
// link is down, keys of the others go on filling. A lane that answers with a redirect or a
// retry (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, READONLY) loses its token: the reply then comes
// from another lane, which may not be tracked. The cache itself refuses fills of slots whose
// master's link is not tracking (ReplyCache.blockSlots, NodeLinks).
//
// Without a key (an MGET's missing keys, which may span masters), every master's lane of the
// client must be tracked: the token is then the negated sum of their generations, minus 2
// (below -2: never a generation, -1 or NO_TRACKING_NEEDED; any change of a generation changes
// it), and a fill is kept only while every one of those lanes is still tracked for its own.
//
// A client of its own owns what is filled through its lanes (a FillOwner, as an own
// connection to one Redis does): it dies when one of those lanes stops being tracked.

export interface FillMasters {
  masterAddrs(): BackendAddress[];
  /** the master of `slot` as known now; null when nobody owns it */
  addrOfSlot(slot: number): BackendAddress | null;
  /** may that master's slots fill: its link tracks ('ttl-only': no tracking needed) */
  trackingOf(addr: BackendAddress): 'tracking' | 'ttl-only' | null;
}

const PING = Buffer.from('*1\r\n$4\r\nPING\r\n');
const ignore = (): void => undefined;

interface Tracked {
  readonly lane: NodeLane;
  readonly gen: number;
}

interface Keyed extends Tracked {
  readonly token: number;
}

/** keyed tokens, unique in the process (above 0: never -1, NO_TRACKING_NEEDED or an every-master token) */
let lastKeyed = 0;

export class ClusterFills {
  owner: FillOwner | null = null;
  /** the token for every master (≤ -3), and the lanes and generations it rests on */
  private token = -1;
  private tracked: Tracked[] = [];
  /** per lane, the token handed out for a key of its master, and the generation it rests on */
  private keyed: Keyed[] = [];

  constructor(private readonly ownsFills: boolean) {}

  /**
   * A token for a fill now, or -1; laneFor: the client's lane to a master (opened if need be);
   * key (latin1): the GET's, when there is one: only its master's lane counts.
   */
  generation(r: FillMasters, laneFor: (addr: BackendAddress) => NodeLane, key?: string): number {
    if (key !== undefined) return this.keyGeneration(r, laneFor, key);
    const masters = r.masterAddrs();
    if (masters.length === 0) return -1;
    let sum = 0;
    let ttlOnly = true;
    const tracked: Tracked[] = [];
    for (const a of masters) {
      const lane = laneFor(a);
      const g = this.laneGeneration(r.trackingOf(a), lane);
      if (g === -1) return -1;
      if (g === NO_TRACKING_NEEDED) continue;
      ttlOnly = false;
      sum += g;
      tracked.push({ lane, gen: g });
    }
    if (ttlOnly) return NO_TRACKING_NEEDED;
    const token = -sum - 2;
    if (token !== this.token) {
      this.token = token;
      this.tracked = tracked;
      this.renewOwner();
    }
    return token;
  }

  /** The token for a key: its master's lane's generation. */
  private keyGeneration(r: FillMasters, laneFor: (addr: BackendAddress) => NodeLane, key: string): number {
    const a = r.addrOfSlot(keyHashSlotLatin1(key));
    if (a === null) return -1;
    const lane = laneFor(a);
    const g = this.laneGeneration(r.trackingOf(a), lane);
    if (g < 0) return g;
    const keyed = this.keyed;
    let i = 0;
    while (i < keyed.length && keyed[i].lane !== lane) i++;
    if (i < keyed.length && keyed[i].gen === g) return keyed[i].token;
    const entry = { lane, gen: g, token: ++lastKeyed };
    if (i === keyed.length) {
      keyed.push(entry);
      if (this.owner === null) this.renewOwner();
    } else {
      // the lane tracks for a new generation: what it filled before relied on the old one
      keyed[i] = entry;
      this.renewOwner();
    }
    return entry.token;
  }

  /** `lane` answered a request with a redirect or a retry: fills in flight through it are not kept. */
  redirected(lane: NodeLane): void {
    const i = this.keyed.findIndex((t) => t.lane === lane);
    if (i >= 0) this.keyed.splice(i, 1);
  }

  /** The generation `lane` is tracked for, if its master's slots may fill (st); NO_TRACKING_NEEDED; or -1. */
  private laneGeneration(st: 'tracking' | 'ttl-only' | null, lane: NodeLane): number {
    if (st === null || lane.refusedReplay) return -1;
    const inner = lane.inner as Upstream;
    const g = inner.fillGeneration();
    if (g === -1) {
      // a lane of the client's own tracks once its node has answered: make it answer
      if (!inner.answered && lane.items.length === 0) lane.queue(PING, { req: null, group: -1, swallow: ignore });
      return -1;
    }
    if (g === NO_TRACKING_NEEDED && st !== 'ttl-only') return -1;
    return g;
  }

  private renewOwner(): void {
    if (!this.ownsFills) return;
    this.owner?.kill();
    this.owner = new FillOwner();
  }

  stillTracked(generation: number): boolean {
    if (generation === NO_TRACKING_NEEDED) return true;
    if (generation < -2) {
      if (generation !== this.token) return false;
      for (const t of this.tracked) if (!laneTracked(t)) return false;
      return true;
    }
    for (const t of this.keyed) if (t.token === generation) return laneTracked(t);
    return false;
  }

  /** does a token rest on `lane` */
  uses(lane: NodeLane): boolean {
    return this.tracked.some((t) => t.lane === lane) || this.keyed.some((t) => t.lane === lane);
  }

  /** A lane's tracking is gone (closed, paused, yielded): what was filled through this client dies. */
  untrack(): void {
    this.token = -1;
    this.tracked = [];
    this.keyed = [];
    this.owner?.kill();
    this.owner = null;
  }
}

function laneTracked(t: Tracked): boolean {
  return !t.lane.lost && (t.lane.inner as Upstream).stillTracked(t.gen);
}
