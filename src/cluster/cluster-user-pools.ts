import type { Logger } from 'pino';
import type { BackendAddress } from '../config/config.js';
import type { TlsClientOptions } from '../backend/connect.js';
import { UserPools } from '../upstream/user-pools.js';
import type { AuthAnswer, Upstream, UpstreamClient } from '../upstream/upstream.js';
import type { NodeLinks } from './node-links.js';
import { addrKey } from './topology.js';
import { userLogin, type UserLogin } from './user-login.js';

// Per-user sharing behind a Redis Cluster (contract §2.6): one UserPools per master, the same
// class that serves one Redis, so each node has its own AUTH check connection, its own memory
// of accepted credentials, its own pools of --shared-connections per user, at most
// --max-user-pools users. Per node, because Redis Cluster copies no ACL rule between nodes: a
// user, its password and its rights are each node's own, and only that node can say whether it
// takes them.
//
//   client AUTH u pw ─▶ the home node's check (its reply is the client's, as it came)
//        +OK ─▶ every master's check (from memory, mostly) ─┬─ all +OK: a router of u's (ClusterUpstream with a login)
//                                                          └─ else: the AUTH goes down the client's own lanes, as before
//   the router's first command for node N ─▶ N's check, then a seat on N's pool of u
//        (UserLaneSeat); refused, or no room: a lane of the client's own, AUTH sent first
//
// A node's pool connections track for that node's link, like the default pool's; losing one
// drops that master's slots.

/** A node's checks and pools kept a little after it stops being a master (its seats' last replies still come). */
const GRACE_MS = 5000;
const OK = Buffer.from('+OK\r\n');

export interface ClusterUserPoolsOptions {
  tls: TlsClientOptions | undefined;
  /** connections per user per node (--shared-connections) */
  size: number;
  /** users with a pool per node (--max-user-pools) */
  maxPools: number;
  log: Logger;
  /** the cache's links, one per master (null: no cache, nothing to track) */
  links: NodeLinks | null;
}

export class ClusterUserPools {
  private readonly byNode = new Map<string, UserPools>();
  private stopped = false;

  constructor(private readonly opts: ClusterUserPoolsOptions) {}

  /** The masters are these now: a UserPools for each new one; those of nodes no longer masters stop after a grace. */
  update(masters: BackendAddress[]): void {
    if (this.stopped) return;
    const keep = new Set<string>();
    for (const addr of masters) {
      const key = addrKey(addr);
      keep.add(key);
      if (!this.byNode.has(key)) this.open(addr, key);
    }
    for (const [key, users] of this.byNode) {
      if (keep.has(key)) continue;
      this.byNode.delete(key);
      setTimeout(() => users.stop(), GRACE_MS).unref();
    }
  }

  private open(addr: BackendAddress, key: string): void {
    const { tls, size, maxPools, log, links } = this.opts;
    const users = new UserPools({ addr, tls, size, maxPools, log });
    this.byNode.set(key, users);
    const link = links?.linkFor(key) ?? null;
    if (links !== null && link !== null) {
      users.tracking = link;
      users.onTrackingLost = () => void links.trackingLost(key);
      link.on('tracking', () => {
        if (this.byNode.get(key) === users) users.onTracking();
      });
    }
    users.start();
  }

  stop(): void {
    this.stopped = true;
    for (const u of this.byNode.values()) u.stop();
    this.byNode.clear();
  }

  /** may a client authenticating as `user` have a pool on `addr` (one exists, or there is room) */
  canPool(addr: BackendAddress, user: string): boolean {
    return this.byNode.get(addrKey(addr))?.canPool(user) === true;
  }

  /** AUTH [u] pw checked by the node at `addr`: its reply (or +OK from its memory), null without an answer. */
  verify(addr: BackendAddress, args: Buffer[], then: AuthAnswer): void {
    const users = this.byNode.get(addrKey(addr));
    if (users === undefined) then(null);
    else users.verify(args, then);
  }

  /**
   * The credentials a client's home node just took, for a router of that user: only if every
   * master takes them too (each node's rules are its own, and a cached value read on one is
   * served for keys of that node only to a client that node would serve); null: lanes of the
   * client's own, as before.
   */
  admit(masters: BackendAddress[], user: string, password: Buffer, then: (login: UserLogin | null) => void): void {
    const login = userLogin(user, password);
    this.verifyAll(masters, login.args, (ok) => then(ok ? login : null));
  }

  /** Does every one of `addrs` take these credentials? (false at the first refusal or lost check) */
  verifyAll(addrs: BackendAddress[], args: Buffer[], then: (ok: boolean) => void): void {
    let left = addrs.length;
    let done = false;
    if (left === 0) return then(false);
    for (const a of addrs) {
      this.verify(a, args, (reply) => {
        if (done) return;
        if (reply === null || !reply.equals(OK)) {
          done = true;
          then(false);
        } else if (--left === 0) {
          done = true;
          then(true);
        }
      });
    }
  }

  /**
   * A seat on the node's pool of `login.user` for `client`, once the node took the credentials
   * (from its memory, mostly) and one of the pool's connections is up; null: the node refused
   * them, has no room for another user, or the pool did not come up in time.
   */
  seat(addr: BackendAddress, login: UserLogin, client: UpstreamClient, then: (seat: Upstream | null) => void): void {
    const users = this.byNode.get(addrKey(addr));
    if (users === undefined || !users.canPool(login.user)) return then(null);
    users.verify(login.args, (reply) => {
      if (reply === null || !reply.equals(OK) || client.closed || !users.canPool(login.user)) return then(null);
      users.join(login.user, login.args[2], client, then);
    });
  }

  /** A change of rules is on its way through the proxy: no credential is answered from memory meanwhile. */
  accessChanging(): void {
    for (const u of this.byNode.values()) u.credentials.clear();
  }

  /** Rules or passwords changed (through the proxy, or seen by a node's ACL watch): every node forgets and checks its pools again. */
  accessChanged(): void {
    for (const u of this.byNode.values()) u.accessChanged();
  }

  get connectionsUp(): number {
    let n = 0;
    for (const u of this.byNode.values()) n += u.connectionsUp;
    return n;
  }

  /** for /stats: users with a pool (summed over the nodes), AUTHs answered from memory, and checked by a node */
  stats(): { users: number; authFromMemory: number; authChecks: number } {
    let users = 0;
    let authFromMemory = 0;
    let authChecks = 0;
    for (const u of this.byNode.values()) {
      users += u.users;
      authFromMemory += u.answeredFromMemory;
      authChecks += u.verifier.checks;
    }
    return { users, authFromMemory, authChecks };
  }
}
