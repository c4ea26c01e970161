import type { Logger } from 'pino';
import type { BackendAddress, Coherence } from '../config/config.js';
import type { TlsClientOptions } from '../backend/connect.js';
import { InvalidationLink, type LinkState, type TrackingTarget } from '../backend/invalidation-link.js';
import type { HealthWatchdog } from '../backend/health-watchdog.js';
import type { ReplyCache } from '../cache/reply-cache.js';
import type { CommandTable } from '../commands/command-table.js';
import type { SentinelFollower } from '../sentinel/sentinel-follower.js';
import { OwnConnection } from './own-connection.js';
import { SharedPool } from './shared-pool.js';
import { UserPools } from './user-pools.js';
import { AwaitingAuth } from './awaiting-auth.js';
import type { SharedConnection } from './shared-connection.js';
import { FollowedUpstream, NoPrimaryUpstream, type FollowHooks } from './followed-upstream.js';
import type { AuthAnswer, Upstream, UpstreamClient, UpstreamProvider } from './upstream.js';

// The Redis the proxy talks to: one fixed address (--addr), or the primary a SentinelFollower
// names (--sentinel). Everything bound to an address lives here, made again for each one:
// the shared pool and the invalidation link (with its parts); new client upstreams are opened
// to the current address.
//
//   follower 'switch' (old, now) ─▶ the old link stops (its late invalidations are dropped,
//        the cache is emptied and serves nothing) ─▶ a new link and pool for `now` ─▶ every
//        client upstream on `old` is dropped (the client sees its connection lost, as a
//        direct client of a failing primary would) ─▶ the old pool stops
//   nothing is filled until the new link is tracking (its 'up' sets the cache ready again).
//
// It re-asks the follower (recheck) on what hints at a move: a READONLY error reply, a lost
// client connection, the link going down. With a fixed address none of this runs and the
// upstreams handed out are the plain ones.

export interface PrimaryTargetOptions {
  /** the fixed Redis; ignored when a follower is given */
  addr: BackendAddress;
  follower: SentinelFollower | null;
  tls: TlsClientOptions | undefined;
  /** size of the shared pool, and of each user's; 0: none */
  sharedConnections: number;
  /** most ACL users with a pool of their own at once (0: authenticated clients get their own connections) */
  maxUserPools: number;
  cache: ReplyCache | null;
  coherence: Coherence;
  log: Logger;
  /** sharing needs the command table (what may share is read from it) */
  commands: () => CommandTable | null;
  /** adds the parts to a new link; returns the link's health watchdog */
  equip(link: InvalidationLink): HealthWatchdog;
}

export class PrimaryTarget implements UpstreamProvider, TrackingTarget, FollowHooks {
  private addr: BackendAddress | null = null;
  private currentLink: InvalidationLink | null = null;
  private health: HealthWatchdog | null = null;
  private pool: SharedPool | null = null;
  /** the pools of authenticated clients, and the AUTH checks (null without sharing) */
  private users: UserPools | null = null;
  /** client upstreams on the current primary (followed mode only) */
  private readonly members = new Set<FollowedUpstream>();
  /** connects of the links before the current one */
  private pastConnects = 0;
  private stopped = false;

  constructor(private readonly opts: PrimaryTargetOptions) {}

  /** Binds to the fixed address, or starts following (without waiting for a primary). */
  start(): void {
    const f = this.opts.follower;
    if (f === null) {
      this.bind(this.opts.addr);
      return;
    }
    f.on('switch', (old: BackendAddress | null, now: BackendAddress) => this.switchTo(old, now));
    void f.start();
  }

  stop(): void {
    this.stopped = true;
    this.opts.follower?.stop();
    this.currentLink?.stop();
    this.pool?.stop();
    this.users?.stop();
  }

  /** the Redis new upstreams go to; null while no primary is known */
  get primary(): BackendAddress | null {
    return this.addr;
  }

  get link(): InvalidationLink | null {
    return this.currentLink;
  }

  // TrackingTarget: the current link's, so a connection tracked for an old link is not tracked
  get redirectId(): number | null {
    return this.currentLink?.redirectId ?? null;
  }
  get generation(): number {
    return this.currentLink?.generation ?? 0;
  }

  get linkState(): LinkState {
    return this.currentLink?.state ?? 'connecting';
  }
  get connects(): number {
    return this.pastConnects + (this.currentLink?.connects ?? 0);
  }
  get healthy(): boolean {
    return this.health?.healthy ?? false;
  }
  get sharedConnectionsUp(): number {
    return (this.pool?.connectionsUp ?? 0) + (this.users?.connectionsUp ?? 0);
  }

  /** for /stats: users with a pool, AUTHs answered from the credential memory, and checked by Redis */
  get userPools(): { users: number; authFromMemory: number; authChecks: number } | null {
    const u = this.users;
    return u === null ? null : { users: u.users, authFromMemory: u.answeredFromMemory, authChecks: u.verifier.checks };
  }
  /** would a client connecting now get a seat on a shared connection */
  get sharing(): boolean {
    return this.pool !== null && this.pool.probe.open && this.pool.connectionsUp > 0;
  }

  /** why the proxy is not ready (for /readyz); null when it is */
  get trouble(): string | null {
    if (this.addr === null) {
      const st = this.opts.follower?.state();
      return `no primary known yet${st?.lastError ? ` (${st.lastError})` : ''}`;
    }
    return this.health === null ? 'Redis is unreachable' : this.health.trouble;
  }

  share(client: UpstreamClient): Upstream | null {
    if (this.pool === null || this.opts.commands() === null) return null;
    // a fresh connection of a pool that needs no password: the default user, db 0, RESP2
    const conn = this.pool.pick();
    if (conn !== null) return this.seatOn(conn, client);
    // where Redis wants one: no connection until the client's first request (see AwaitingAuth)
    if (this.users !== null && this.opts.maxUserPools > 0 && this.pool.probe.locked) return new AwaitingAuth(client);
    return null;
  }

  private seatOn(conn: SharedConnection, client: UpstreamClient): Upstream {
    if (this.opts.follower === null) return conn.seat(client);
    const f = new FollowedUpstream(this, client);
    f.inner = conn.seat(f);
    this.members.add(f);
    return f;
  }

  canPool(user: string): boolean {
    return this.users !== null && this.opts.commands() !== null && this.users.canPool(user);
  }

  verify(args: Buffer[], then: AuthAnswer): void {
    if (this.users === null) then(null);
    else this.users.verify(args, then);
  }

  seatFromMemory(user: string, password: Buffer, off: number, len: number, client: UpstreamClient): Upstream | null {
    // (behind Sentinel a seat is wrapped to follow the primary: that keeps joinPool's road)
    if (this.users === null || this.opts.follower !== null || this.opts.commands() === null) return null;
    return this.users.seatFromMemory(user, password, off, len, client);
  }

  joinPool(user: string, password: Buffer, client: UpstreamClient, then: (seat: Upstream | null) => void): void {
    const users = this.users;
    if (users === null) return then(null);
    if (this.opts.follower === null) return users.join(user, password, client, then);
    const f = new FollowedUpstream(this, client);
    users.join(user, password, f, (seat) => {
      if (seat === null || users !== this.users) {
        seat?.close();
        return then(null);
      }
      f.inner = seat;
      this.members.add(f);
      then(f);
    });
  }

  open(client: UpstreamClient): Upstream {
    const tracking = this.opts.cache ? this : null;
    if (this.opts.follower === null) return new OwnConnection({ addr: this.addr!, tls: this.opts.tls, tracking }, client);
    if (this.addr === null) return new NoPrimaryUpstream(client, 'no primary known yet (the sentinels have not named one)');
    const f = new FollowedUpstream(this, client);
    f.inner = new OwnConnection({ addr: this.addr, tls: this.opts.tls, tracking }, f);
    this.members.add(f);
    return f;
  }

  accessChanging(): void {
    this.pool?.probe.hold();
    this.users?.credentials.clear();
  }

  accessChanged(): void {
    this.pool?.probe.now();
    this.users?.accessChanged();
  }

  readonlySeen(): void {
    void this.opts.follower?.recheck();
  }

  lost(u: FollowedUpstream): void {
    this.members.delete(u);
    void this.opts.follower?.recheck();
  }

  left(u: FollowedUpstream): void {
    this.members.delete(u);
  }

  private switchTo(old: BackendAddress | null, now: BackendAddress): void {
    if (this.stopped) return;
    const dropped = this.members.size;
    this.bind(now);
    if (old !== null) {
      this.opts.log.warn(
        { old: old.display, new: now.display, clientsDropped: dropped },
        `sentinel switch: the primary moved from ${old.display} to ${now.display}; ${dropped} client connection(s) to ${old.display} closed, cache emptied until the link to ${now.display} is tracking`,
      );
    }
  }

  /** Everything bound to an address is made again for `addr`; what was bound to the old one goes. */
  private bind(addr: BackendAddress): void {
    const { cache, log } = this.opts;
    const oldLink = this.currentLink;
    const oldPool = this.pool;
    const oldUsers = this.users;
    this.addr = addr;
    if (oldLink !== null) {
      // from here on its invalidations are dropped, and the cache serves nothing
      // (no longer current first: its 'down' is no reason to ask the sentinels again)
      this.currentLink = null;
      oldLink.stop();
      this.pastConnects += oldLink.connects;
    }
    cache?.invalidateAll();

    const link = new InvalidationLink({ addr, tls: this.opts.tls, cache, coherence: this.opts.coherence, log });
    this.health = this.opts.equip(link);
    this.currentLink = link;
    const pool = this.opts.sharedConnections > 0 ? new SharedPool(addr, this.opts.tls, this.opts.sharedConnections, log) : null;
    this.pool = pool;
    const users = pool ? new UserPools({ addr, tls: this.opts.tls, size: this.opts.sharedConnections, maxPools: this.opts.maxUserPools, log }) : null;
    this.users = users;
    if (pool && users && cache) {
      pool.tracking = this;
      users.tracking = this;
      // (its entries are not told apart from the other shared connection's: all go)
      pool.onTrackingLost = () => cache.invalidateAll();
      users.onTrackingLost = () => cache.invalidateAll();
    }
    // a new link: shared connections point their tracking at it (sessions do at their next fill)
    link.on('tracking', () => {
      if (this.currentLink !== link) return;
      this.pool?.onTracking();
      this.users?.onTracking();
    });
    link.on('down', () => {
      if (this.currentLink === link && !this.stopped) void this.opts.follower?.recheck();
    });
    link.start();
    pool?.start();
    users?.start();

    const gone = [...this.members];
    this.members.clear();
    for (const u of gone) u.drop(`the primary moved to ${addr.display}`);
    oldPool?.stop();
    oldUsers?.stop();
  }
}
