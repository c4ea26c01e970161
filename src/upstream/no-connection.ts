import type { FillOwner } from '../cache/reply-cache.js';
import type { Upstream } from './upstream.js';

// An upstream with no connection to Redis behind it (no primary known yet, a client still
// to AUTH): nothing to track, fill, pause or relay. Each kind says what its send means and
// whether it counts as shared.

export abstract class NoConnection implements Upstream {
  abstract readonly shared: boolean;
  abstract readonly streams: boolean;
  abstract readonly answered: boolean;
  readonly congested = false;
  readonly fillOwner: FillOwner | null = null;
  readonly seatUser = null;
  /** the session left it */
  protected left = false;

  abstract send(parts: Buffer[], bytes: number, replies: number): boolean;

  fillGeneration(): number {
    return -1;
  }

  stillTracked(): boolean {
    return false;
  }

  yieldTracking(): void {}
  userChanged(): void {}
  relayRaw(): void {}
  pause(): void {}
  resume(): void {}

  close(): void {
    this.left = true;
  }
}
