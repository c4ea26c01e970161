import type { BackendAddress } from '../config/config.js';
import type { TlsClientOptions } from '../backend/connect.js';
import type { FillOwner } from '../cache/reply-cache.js';
import { OwnConnection } from '../upstream/own-connection.js';
import type { Upstream, UpstreamClient } from '../upstream/upstream.js';
import type { ClusterUserPools } from './cluster-user-pools.js';
import type { UserLogin } from './user-login.js';

// A lane of an authenticated client's router (ClusterUpstream with a login) to one node: what
// the lane sends waits here until the node has taken the client's credentials and a seat on
// its pool of that user is up (at once, mostly: the node's memory answers, the pool is up), then
// goes there. Where the node refuses them (ACL rules are each node's own), has no room for
// another user's pool (--max-user-pools), or the pool is not up within 2 s, the lane is a
// connection of the client's own instead, with the client's AUTH sent first and its reply
// swallowed, as a client of its own has its AUTH replayed on every lane: the client then gets
// from that node exactly what it would get there today (NOAUTH where the node refused it).
// Nothing is filled through such a lane: it may be another user than the client's on that
// node, it has no FillOwner to die with it, and the router's entries are meant to outlive it.
//
//   lane ─send─▶ [held] ─node's check +OK, seat up─▶ SharedSeat on pool[node, user]
//                       └─refused / no room / late──▶ OwnConnection: AUTH u pw (swallowed), then the held requests

export class UserLaneSeat implements Upstream, UpstreamClient {
  readonly streams = false;
  /** the seat, or the connection of the client's own; null while the node's answer is awaited */
  private inner: Upstream | null = null;
  /** requests sent before there was an inner */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private heldReplies = 0;
  private paused = false;
  private left = false;
  /** inner is a connection of the client's own (nothing fills through it) */
  private own = false;
  /** its first reply is to the login, not the client's */
  private swallowFirst = false;

  constructor(
    pools: ClusterUserPools,
    private readonly addr: BackendAddress,
    private readonly tls: TlsClientOptions | undefined,
    private readonly login: UserLogin,
    private readonly lane: UpstreamClient,
  ) {
    pools.seat(addr, login, lane, (seat) => this.placed(seat));
  }

  private placed(seat: Upstream | null): void {
    if (this.left || this.lane.closed) {
      seat?.close();
      return;
    }
    let inner = seat;
    let parts = this.held;
    let bytes = this.heldBytes;
    let replies = this.heldReplies;
    if (inner === null) {
      inner = new OwnConnection({ addr: this.addr, tls: this.tls, tracking: null }, this);
      this.own = true;
      this.swallowFirst = true;
      parts = [this.login.command, ...parts];
      bytes += this.login.command.length;
      replies++;
    }
    this.inner = inner;
    this.held = [];
    if (this.paused) inner.pause();
    if (bytes > 0 && !inner.send(parts, bytes, replies)) return;
    // (what waited here may have made the client stop reading)
    if (bytes > 0) this.lane.onUpstreamDrain();
  }

  /** on a seat of the node's pool of the user: the node took the credentials */
  get seated(): boolean {
    return this.inner !== null && !this.own;
  }

  // ── Upstream: the lane's side ──

  get shared(): boolean {
    return this.inner?.shared ?? true;
  }
  get answered(): boolean {
    return this.inner?.answered ?? true;
  }
  get seatUser(): string | null {
    return this.login.user;
  }
  get seatLogin(): Buffer | null {
    return this.login.command;
  }
  get congested(): boolean {
    return this.inner?.congested ?? false;
  }
  get fillOwner(): FillOwner | null {
    return this.inner?.fillOwner ?? null;
  }

  send(parts: Buffer[], bytes: number, replies: number): boolean {
    if (this.inner !== null) return this.inner.send(parts, bytes, replies);
    for (const p of parts) this.held.push(p);
    this.heldBytes += bytes;
    this.heldReplies += replies;
    return true;
  }

  fillGeneration(key?: string): number {
    return this.own ? -1 : (this.inner?.fillGeneration(key) ?? -1);
  }
  stillTracked(generation: number): boolean {
    return this.inner?.stillTracked(generation) ?? false;
  }
  yieldTracking(turnOff: boolean): void {
    this.inner?.yieldTracking(turnOff);
  }
  userChanged(): void {
    this.inner?.userChanged();
  }
  relayRaw(): void {
    this.inner?.relayRaw();
  }
  pause(): void {
    this.paused = true;
    this.inner?.pause();
  }
  resume(): void {
    this.paused = false;
    this.inner?.resume();
  }
  close(): void {
    this.left = true;
    this.inner?.close();
  }

  // ── UpstreamClient: a connection of the client's own speaks to the lane through here ──

  get closed(): boolean {
    return this.left || this.lane.closed;
  }
  onUpstreamReply(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    if (this.swallowFirst) {
      // the login's reply: +OK, or the node's refusal, which leaves the lane as a direct
      // connection whose AUTH failed is
      this.swallowFirst = false;
      return;
    }
    this.lane.onUpstreamReply(buf, start, end, inChunk);
  }
  onUpstreamFlush(): void {
    this.lane.onUpstreamFlush();
  }
  onUpstreamDrain(): void {
    this.lane.onUpstreamDrain();
  }
  onUpstreamLost(reason: string): void {
    this.lane.onUpstreamLost(reason);
  }
  onUpstreamFault(reason: string): void {
    this.lane.onUpstreamFault(reason);
  }
  sendInternal(bytes: Buffer, onReply: (frame: Buffer) => void): void {
    this.lane.sendInternal(bytes, onReply);
  }
}
