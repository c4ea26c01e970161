import type { BackendAddress } from '../config/config.js';
import { NO_TRACKING_NEEDED } from '../backend/invalidation-link.js';
import { FillOwner } from '../cache/reply-cache.js';
import type { Upstream } from '../upstream/upstream.js';
import type { NodeLane } from './node-lane.js';

// May a GET a client of the cluster sends now fill the cache? The session asks before it
// forwards the GET (Upstream.fillGeneration takes no key), so the slot is not known: every
// master's lane of the client must be tracked for its master's link's current generation.
// The token handed out is the sum of those generations (unique and growing across every link
// of the process: any change changes the sum), and a fill's reply is kept only while every
// one of those lanes is still tracked for its own. The cache itself refuses fills of slots
// whose master's link is not tracking (ReplyCache.blockSlots, NodeLinks).
//
// A client of its own owns what is filled through its lanes (a FillOwner, as an own
// connection to one Redis does): it dies when one of those lanes stops being tracked.

export interface FillMasters {
  masterAddrs(): BackendAddress[];
  /** may that master's slots fill: its link tracks ('ttl-only': no tracking needed) */
  trackingOf(addr: BackendAddress): 'tracking' | 'ttl-only' | null;
}

const PING = Buffer.from('*1\r\n$4\r\nPING\r\n');
const ignore = (): void => undefined;

export class ClusterFills {
  owner: FillOwner | null = null;
  private token = -1;
  private tracked: Array<{ lane: NodeLane; gen: number }> = [];

  constructor(private readonly ownsFills: boolean) {}

  /** A token for a fill now, or -1; laneFor: the client's lane to a master (opened if need be). */
  generation(r: FillMasters, laneFor: (addr: BackendAddress) => NodeLane): number {
    const masters = r.masterAddrs();
    if (masters.length === 0) return -1;
    let token = 0;
    let ttlOnly = true;
    const tracked: Array<{ lane: NodeLane; gen: number }> = [];
    for (const a of masters) {
      const st = r.trackingOf(a);
      if (st === null) return -1;
      const lane = laneFor(a);
      const inner = lane.inner as Upstream;
      const g = inner.fillGeneration();
      if (g === -1) {
        // a lane of the client's own tracks once its node has answered: make it answer
        if (!inner.answered && lane.items.length === 0) lane.queue(PING, { req: null, group: -1, swallow: ignore });
        return -1;
      }
      if (g === NO_TRACKING_NEEDED) {
        if (st !== 'ttl-only') return -1;
        continue;
      }
      ttlOnly = false;
      token += g;
      tracked.push({ lane, gen: g });
    }
    if (ttlOnly) return NO_TRACKING_NEEDED;
    if (token !== this.token) {
      this.token = token;
      this.tracked = tracked;
      if (this.ownsFills) {
        this.owner?.kill();
        this.owner = new FillOwner();
      }
    }
    return token;
  }

  stillTracked(generation: number): boolean {
    if (generation === NO_TRACKING_NEEDED) return true;
    if (generation !== this.token) return false;
    for (const { lane, gen } of this.tracked) if (lane.lost || !(lane.inner as Upstream).stillTracked(gen)) return false;
    return true;
  }

  /** does the token rest on `lane` */
  uses(lane: NodeLane): boolean {
    return this.tracked.some((t) => t.lane === lane);
  }

  /** A lane's tracking is gone (closed, paused, yielded): what was filled through this client dies. */
  untrack(): void {
    this.token = -1;
    this.tracked = [];
    this.owner?.kill();
    this.owner = null;
  }
}
