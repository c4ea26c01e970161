import type { FillOwner } from '../cache/reply-cache.js';
import type { Upstream, UpstreamClient } from './upstream.js';
import { NoConnection } from './no-connection.js';
import { READONLY_ERROR, startsWithBytes } from '../resp/error-word.js';

// A client's upstream while the proxy follows a Sentinel-managed primary: it stands between
// the session and the real upstream (an own connection or a shared seat), in both
// directions, so that the PrimaryTarget can
//  - close it when the primary moves (the client sees its connection lost, as a direct
//    client of a failing primary would), and
//  - hear of what says the primary may have moved: a READONLY error reply (a demoted
//    primary's), or the connection lost.
// The session never knows: it sees an Upstream, and the real upstream sees an UpstreamClient.
// One object per client connection; per reply, one call and a one-byte test.

/** What a followed upstream tells the PrimaryTarget. */
export interface FollowHooks {
  /** a READONLY error came back: the primary may have been demoted */
  readonlySeen(): void;
  /** its connection was lost (after which it is forgotten) */
  lost(u: FollowedUpstream): void;
  /** the session let it go */
  left(u: FollowedUpstream): void;
}

const DASH = 0x2d;

/** Is buf[start, end) an error reply starting "-READONLY"? */
export function isReadonlyError(buf: Buffer, start: number, end: number): boolean {
  return startsWithBytes(buf, start, end, READONLY_ERROR);
}

export class FollowedUpstream implements Upstream, UpstreamClient {
  /** set right after construction (the real upstream needs this object as its client) */
  inner!: Upstream;
  private dropped = false;

  constructor(
    private readonly hooks: FollowHooks,
    private readonly client: UpstreamClient,
  ) {}

  /** The primary moved: the client loses this connection, the real one closes. */
  drop(reason: string): void {
    if (this.dropped) return;
    this.dropped = true;
    if (!this.client.closed) this.client.onUpstreamLost(reason);
    this.inner.close();
  }

  // ── the session's side (Upstream) ──
  get shared(): boolean {
    return this.inner.shared;
  }
  get streams(): boolean {
    return this.inner.streams;
  }
  get answered(): boolean {
    return this.inner.answered;
  }
  get congested(): boolean {
    return this.inner.congested;
  }
  get fillOwner(): FillOwner | null {
    return this.inner.fillOwner;
  }
  get seatUser(): string | null {
    return this.inner.seatUser;
  }
  get seatLogin(): Buffer | null | undefined {
    return this.inner.seatLogin;
  }
  send(parts: Buffer[], bytes: number, replies: number): boolean {
    return this.inner.send(parts, bytes, replies);
  }
  fillGeneration(): number {
    return this.dropped ? -1 : this.inner.fillGeneration();
  }
  stillTracked(generation: number): boolean {
    return !this.dropped && this.inner.stillTracked(generation);
  }
  yieldTracking(turnOff: boolean): void {
    this.inner.yieldTracking(turnOff);
  }
  userChanged(): void {
    this.inner.userChanged();
  }
  relayRaw(): void {
    this.inner.relayRaw();
  }
  pause(): void {
    this.inner.pause();
  }
  resume(): void {
    this.inner.resume();
  }
  close(): void {
    this.hooks.left(this);
    this.inner.close();
  }

  // ── the real upstream's side (UpstreamClient) ──
  get closed(): boolean {
    return this.dropped || this.client.closed;
  }
  onUpstreamReply(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    if (buf[start] === DASH && isReadonlyError(buf, start, end)) this.hooks.readonlySeen();
    this.client.onUpstreamReply(buf, start, end, inChunk);
  }
  onUpstreamFlush(): void {
    this.client.onUpstreamFlush();
  }
  onUpstreamDrain(): void {
    this.client.onUpstreamDrain();
  }
  onUpstreamLost(reason: string): void {
    this.hooks.lost(this);
    if (!this.dropped) this.client.onUpstreamLost(reason);
  }
  onUpstreamFault(reason: string): void {
    this.client.onUpstreamFault(reason);
  }
  sendInternal(bytes: Buffer, onReply: (frame: Buffer) => void): void {
    this.client.sendInternal(bytes, onReply);
  }
}

/** The upstream handed out while no primary is known: it reports itself lost at once. */
export class NoPrimaryUpstream extends NoConnection {
  readonly shared = false;
  readonly streams = true;
  readonly answered = false;

  constructor(client: UpstreamClient, reason: string) {
    super();
    setImmediate(() => {
      if (!this.left && !client.closed) client.onUpstreamLost(reason);
    });
  }

  send(): boolean {
    return true;
  }
}
