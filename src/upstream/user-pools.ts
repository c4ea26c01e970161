import type { Logger } from 'pino';
import type { BackendAddress } from '../config/config.js';
import type { TlsClientOptions } from '../backend/connect.js';
import type { TrackingTarget } from '../backend/invalidation-link.js';
import { encodeCommand } from '../resp/encode.js';
import { AuthVerifier } from './auth-verifier.js';
import { CredentialCache } from './credential-cache.js';
import { SharedPool } from './shared-pool.js';
import type { AuthAnswer, Upstream, UpstreamClient } from './upstream.js';

// Sharing for a Redis that requires a password, or for ACL users: clients Redis accepted as
// the same user share a pool of that user's connections, and its cache entries (the cache is
// partitioned by user already). Nothing is decided from the proxy's own reading of the rules:
//
//   new client ──▶ no connection yet (AwaitingAuth): anything but AUTH opens its own
//   AUTH [u] pw ──▶ AuthVerifier (Redis checks it; its reply goes to the client as it came)
//                  ──+OK──▶ a seat on pool[u]: --shared-connections connections that sent
//                           AUTH u pw themselves, first, and took no client before its +OK
//
// A credential Redis accepted is remembered as a salted digest (CredentialCache), so that
// the next client with it within a second is answered +OK without a round trip; any change of rules or
// passwords (through the proxy at once, made directly on Redis at the ACL watch's next
// reading) empties that memory and has each pool's own credentials checked again. A pool
// Redis no longer takes is retired: no client joins it, and it closes once its last client
// leaves, as Redis keeps an authenticated connection after `resetpass` or `off`; what Redis
// does close (ACL DELUSER closes the user's connections) closes the pool's clients with them,
// and its connections do not come back.

/** How long an unused pool stays open. */
const IDLE_POOL_MS = 60_000;
/** How long a client waits for a new pool's first connection before it gets its own. */
const JOIN_TIMEOUT_MS = 2000;
/** Answer a client whose credentials Redis accepted in the last second (and since the last change) without asking again. */
const ANSWER_FROM_MEMORY = true;
const OK = Buffer.from('+OK\r\n');

export interface UserPoolsOptions {
  addr: BackendAddress;
  tls: TlsClientOptions | undefined;
  /** connections per pool (--shared-connections) */
  size: number;
  /** most users with a pool at once (--max-user-pools) */
  maxPools: number;
  log: Logger;
  idleMs?: number;
}

/** A check of some credentials in flight, and the clients with the same credentials that wait for its answer. */
interface CheckInFlight {
  /** the memory's epoch when it was sent */
  epoch: number;
  joined: { args: Buffer[]; then: AuthAnswer }[];
}

export class UserPools {
  /** the invalidation link, once wired (null: nothing to track for) */
  tracking: TrackingTarget | null = null;
  /** a tracked connection of some pool closed: entries filled through it are reported no more */
  onTrackingLost: (() => void) | null = null;
  readonly verifier: AuthVerifier;
  readonly credentials: CredentialCache;
  private readonly pools = new Map<string, SharedPool>();
  /** refused by Redis: closing once their last client leaves */
  private readonly retired = new Set<SharedPool>();
  /** checks in flight, by the credentials' key in the memory (CredentialCache.keyOf) */
  private readonly checking = new Map<string, CheckInFlight>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** AUTHs answered from memory (for /stats) */
  answeredFromMemory = 0;

  constructor(private readonly opts: UserPoolsOptions) {
    this.verifier = new AuthVerifier(opts.addr, opts.tls, opts.log);
    const { username, password } = opts.addr;
    // (a user as a client's AUTH is read: latin1 of the bytes the proxy's own AUTH sends)
    const configured = password === null ? null : { user: Buffer.from(username ?? 'default').toString('latin1'), password: Buffer.from(password) };
    this.credentials = new CredentialCache(undefined, undefined, undefined, configured);
  }

  start(): void {
    const idleMs = this.opts.idleMs ?? IDLE_POOL_MS;
    this.timer = setInterval(() => this.sweep(idleMs), Math.min(1000, idleMs));
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.verifier.stop();
    for (const p of this.pools.values()) p.stop();
    for (const p of this.retired) p.stop();
    this.pools.clear();
    this.retired.clear();
  }

  get connectionsUp(): number {
    let n = this.verifier.connected ? 1 : 0;
    for (const p of this.pools.values()) n += p.connectionsUp;
    for (const p of this.retired) n += p.connectionsUp;
    return n;
  }

  /** users with a pool now */
  get users(): number {
    return this.pools.size;
  }

  /** The link is tracking (again): every pool's connections re-point their tracking at it. */
  onTracking(): void {
    for (const p of this.pools.values()) p.onTracking();
    for (const p of this.retired) p.onTracking();
  }

  /** may a client authenticating as `user` get a seat on its pool (one exists, or there is room for it) */
  canPool(user: string): boolean {
    return !this.stopped && (this.pools.has(user) || this.pools.size < this.opts.maxPools);
  }

  /** AUTH [user] password, as the client sent it: Redis's reply, or +OK for a credential it accepted within the last second. */
  verify(args: Buffer[], then: AuthAnswer): void {
    const user = args.length === 3 ? args[1].toString('latin1') : 'default';
    const creds = this.credentials;
    const d = creds.keyOf(user, args[args.length - 1]);
    if (ANSWER_FROM_MEMORY) {
      if (creds.hasKey(d)) {
        this.answeredFromMemory++;
        then(OK);
        return;
      }
      // The same credentials are being checked already (the entry just ran out, and the
      // clients connecting meanwhile all missed it): Redis's +OK to that check answers them
      // too, as the memory would have, instead of one check each.
      const w = this.checking.get(d);
      if (w !== undefined && w.epoch === creds.epoch) {
        w.joined.push({ args, then });
        return;
      }
    }
    const w = this.check(args, d, then);
    if (ANSWER_FROM_MEMORY) this.checking.set(d, w);
  }

  /**
   * A seat on `user`'s pool, now, for a client whose AUTH carries a credential the memory
   * holds (the password is password[off, off + len), where it arrived): what verify's +OK
   * from memory and join would give at once, without either's closure. null when they
   * would not answer at once (not remembered, no pool yet, no connection up): the client's
   * AUTH then takes verify's road.
   */
  seatFromMemory(user: string, password: Buffer, off: number, len: number, client: UpstreamClient): Upstream | null {
    if (!ANSWER_FROM_MEMORY || this.stopped) return null;
    const pool = this.pools.get(user);
    if (pool === undefined) return null;
    const creds = this.credentials;
    if (!creds.hasKey(creds.keyOf(user, password, off, len))) return null;
    const conn = pool.pick();
    if (conn === null) return null;
    this.answeredFromMemory++;
    return conn.seat(client);
  }

  /** Ask Redis (the verifier); an +OK is remembered unless the rules changed since the check was sent. */
  private check(args: Buffer[], d: string, then: AuthAnswer): CheckInFlight {
    const creds = this.credentials;
    const w: CheckInFlight = { epoch: creds.epoch, joined: [] };
    this.verifier.check(encodeCommand(args), (reply) => {
      if (this.checking.get(d) === w) this.checking.delete(d);
      const ok = reply !== null && reply.equals(OK);
      if (ok) creds.addKey(d, w.epoch);
      then(reply);
      for (const j of w.joined) {
        if (ok && w.epoch === creds.epoch) {
          this.answeredFromMemory++;
          j.then(OK);
        } else {
          // anything but a still-valid +OK: each asks Redis itself, so that every refusal is
          // Redis's own, counted and logged by it as for a direct client
          this.check(j.args, d, j.then);
        }
      }
    });
    return w;
  }

  /** A seat on `user`'s pool for a client Redis accepted with `password`; null when there is none to be had. */
  join(user: string, password: Buffer, client: UpstreamClient, then: (seat: Upstream | null) => void): void {
    let pool = this.pools.get(user);
    if (pool === undefined) {
      if (this.stopped || this.pools.size >= this.opts.maxPools) {
        then(null);
        return;
      }
      pool = this.open(user, password);
    }
    const p = pool;
    const now = p.pick();
    if (now !== null) {
      then(now.seat(client));
      return;
    }
    let done = false;
    const timer = setTimeout(() => finish(false), JOIN_TIMEOUT_MS);
    timer.unref();
    const finish = (up: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const conn = up && !client.closed && this.pools.get(user) === p ? p.pick() : null;
      then(conn === null ? null : conn.seat(client));
    };
    p.whenUp(finish);
  }

  /** Rules or passwords changed: forget what was accepted, and have Redis check each pool's credentials again. */
  accessChanged(): void {
    this.credentials.clear();
    for (const [user, pool] of this.pools) {
      const login = pool.login?.command;
      if (login === undefined) continue;
      this.verifier.check(login, (reply) => {
        // (null: the check's connection was lost twice; the pool's own connections will tell)
        if (reply !== null && !reply.equals(OK)) this.retire(user, pool, reply.toString('latin1', 1, reply.length - 2));
      });
    }
  }

  private open(user: string, password: Buffer): SharedPool {
    const { addr, tls, size, log } = this.opts;
    const pool = new SharedPool(addr, tls, size, log, { user, command: encodeCommand(['AUTH', user, password]) });
    pool.tracking = this.tracking;
    pool.onTrackingLost = () => this.onTrackingLost?.();
    pool.onLoginRefused = (why) => this.retire(user, pool, why);
    this.pools.set(user, pool);
    pool.start();
    log.info({ user, pools: this.pools.size }, `clients authenticated as ${JSON.stringify(user)} now share a pool of connections`);
    return pool;
  }

  /** Redis no longer accepts the pool's credentials: nobody joins it, and it closes when its last client is gone. */
  private retire(user: string, pool: SharedPool, why: string): void {
    if (this.pools.get(user) === pool) this.pools.delete(user);
    if (this.retired.has(pool)) return;
    // (the rules changed, whether the ACL watch saw it yet or not: nothing accepted before is answered from memory)
    this.credentials.clear();
    this.retired.add(pool);
    // (Redis's message names the user at most)
    this.opts.log.info({ user, reason: why }, `Redis no longer accepts the credentials of ${JSON.stringify(user)}'s pool: no new client joins it`);
    this.sweep(this.opts.idleMs ?? IDLE_POOL_MS);
  }

  /** Close retired pools without clients, and pools unused for idleMs. */
  private sweep(idleMs: number): void {
    for (const p of this.retired) {
      if (p.seats > 0) continue;
      p.stop();
      this.retired.delete(p);
    }
    const now = Date.now();
    for (const [user, p] of this.pools) {
      if (p.seats > 0 || now - p.lastUsed < idleMs) continue;
      p.stop();
      this.pools.delete(user);
      this.opts.log.debug({ user }, 'an unused pool of connections closed');
    }
  }
}
