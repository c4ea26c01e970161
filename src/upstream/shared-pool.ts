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
// byte relay. A client that needs state (SELECT, AUTH, HELLO, MULTI, WATCH, SUBSCRIBE,
// CLIENT ..., a blocking command) first lets its shared commands finish, then moves to
// a connection of its own for the rest of its life (see session/). Whether sharing is
// safe at all is the SharingProbe's to say.

export class SharedPool {
  /** the invalidation link, once wired (null: nothing to track for) */
  tracking: TrackingTarget | null = null;
  /** a tracked connection closed: entries filled through it are reported no more */
  onTrackingLost: (() => void) | null = null;
  readonly probe: SharingProbe;
  private readonly conns: SharedConnection[] = [];
  private next = 0;

  constructor(
    readonly addr: BackendAddress,
    readonly tls: TlsClientOptions | undefined,
    size: number,
    readonly log: Logger,
  ) {
    this.probe = new SharingProbe(addr, tls, log);
    for (let i = 0; i < size; i++) this.conns.push(new SharedConnection(this));
  }

  start(): void {
    for (const c of this.conns) c.connect();
    this.probe.start();
  }

  stop(): void {
    this.probe.stop();
    for (const c of this.conns) c.stop();
  }

  /** The link is tracking (again): every connection re-points its tracking at it. */
  onTracking(): void {
    for (const c of this.conns) c.track();
  }

  get connectionsUp(): number {
    return this.conns.filter((c) => c.up).length;
  }

  /** A shared connection for a new client, or null when it must have its own. */
  pick(): SharedConnection | null {
    if (!this.probe.open) return null;
    for (let i = 0; i < this.conns.length; i++) {
      const c = this.conns[this.next++ % this.conns.length];
      if (c.up) return c;
    }
    return null;
  }
}
