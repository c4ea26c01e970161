import type { Logger } from 'pino';
import type { BackendAddress } from '../config/config.js';
import type { TlsClientOptions } from '../backend/connect.js';
import type { TrackingTarget } from '../backend/invalidation-link.js';
import { SharedConnection } from './shared-connection.js';
import { SharingProbe } from './sharing-probe.js';

// Multiplexing: clients that hold no connection state (database 0, the default user,
// RESP2, no transaction, no subscription, nothing blocking) share a few pipelined
// connections to Redis, as twemproxy does. Many clients' commands go out in one write
// and come back in one read, which is what makes pass-through traffic cheaper than a
// byte relay. A client that needs state (SELECT, HELLO, MULTI, WATCH, SUBSCRIBE,
// CLIENT ..., a blocking command) first lets its shared commands finish, then moves to
// a connection of its own for the rest of its life (see session/). Whether sharing is
// safe at all is the SharingProbe's to say.
//
// The same pool, given a login, serves the clients Redis accepted as one ACL user (see
// UserPools): each connection sends AUTH first and takes no client before its +OK.

/** What a pool's connections send before anything else. */
export interface PoolLogin {
  /** the ACL user the connections are authenticated as */
  readonly user: string;
  /** the command's bytes (AUTH user password: kept only as long as the pool) */
  readonly command: Buffer;
}

export class SharedPool {
  /** the invalidation link, once wired (null: nothing to track for) */
  tracking: TrackingTarget | null = null;
  /** a tracked connection closed: entries filled through it are reported no more */
  onTrackingLost: (() => void) | null = null;
  /** Redis refused the login (the user's password changed, or the user is gone) */
  onLoginRefused: ((reason: string) => void) | null = null;
  readonly probe: SharingProbe;
  /** when a client last took a seat (ms since epoch) */
  lastUsed = Date.now();
  private readonly conns: SharedConnection[] = [];
  private next = 0;
  /** waiting for a first connection to be logged in */
  private waiters: ((up: boolean) => void)[] = [];

  constructor(
    readonly addr: BackendAddress,
    readonly tls: TlsClientOptions | undefined,
    size: number,
    readonly log: Logger,
    readonly login: PoolLogin | null = null,
  ) {
    this.probe = new SharingProbe(addr, tls, log);
    for (let i = 0; i < size; i++) this.conns.push(new SharedConnection(this));
  }

  start(): void {
    for (const c of this.conns) c.connect();
    // (a pool with a login checks its connections one by one)
    if (this.login === null) this.probe.start();
  }

  stop(): void {
    this.probe.stop();
    for (const c of this.conns) c.stop();
    this.loggedIn(false);
  }

  /** The link is tracking (again): every connection re-points its tracking at it. */
  onTracking(): void {
    for (const c of this.conns) c.track();
  }

  get connectionsUp(): number {
    return this.conns.filter((c) => c.up).length;
  }

  /** clients seated on its connections now */
  get seats(): number {
    let n = 0;
    for (const c of this.conns) n += c.seats;
    return n;
  }

  /** A shared connection for a new client, or null when it must have its own. */
  pick(): SharedConnection | null {
    if (this.login === null && !this.probe.open) return null;
    for (let i = 0; i < this.conns.length; i++) {
      const c = this.conns[this.next++ % this.conns.length];
      if (c.up) {
        this.lastUsed = Date.now();
        return c;
      }
    }
    return null;
  }

  /** `then(true)` once a connection is up (at once if one is), `then(false)` if the pool gives up first. */
  whenUp(then: (up: boolean) => void): void {
    if (this.connectionsUp > 0) then(true);
    else this.waiters.push(then);
  }

  /** A connection's login was answered: ok, or refused (the pool stops: see onLoginRefused). */
  loggedIn(ok: boolean, reason = ''): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w(ok);
    if (!ok && reason !== '') this.onLoginRefused?.(reason);
  }
}
