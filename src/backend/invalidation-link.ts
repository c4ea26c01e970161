import type { Logger } from 'pino';
import type { BackendAddress } from '../config/config.js';
import type { ReplyCache } from '../cache/reply-cache.js';
import { CommandTable } from '../commands/command-table.js';
import { ControlConnection } from './control-connection.js';
import type { TlsClientOptions } from './connect.js';
import { RedisErrorReply, asString } from '../resp/reply-value.js';
import { encodeCommand } from '../resp/encode.js';

// The proxy's own connection to Redis that keeps the cache coherent with writes
// made by anyone (other applications, other proxies, scripts, expiry, eviction).
//
// Mode: Redis's default tracking, redirected here. Every connection the cache is filled
// from turns on `CLIENT TRACKING ON REDIRECT <this link's id>` before its first filling
// GET (see TrackingTarget), so Redis remembers which keys were read through the proxy and
// pushes their names to this one RESP3 connection when anyone changes them.
//
// Why not BCAST (which the first version used): BCAST reports every key written by
// anyone, cached or not, so each SET anywhere cost Redis a push and this process a key
// to parse; measured on SET -P 16 it added ~45% to Redis's CPU and took a quarter of
// the throughput. Default mode reports only keys read through the proxy, once per
// read. What it asks in return, and how the sessions pay it:
//  - a filling connection must be tracked for *this* link: a redirect to a link that
//    died reports nothing, so a new link (new id, new generation) means every
//    connection re-issues its CLIENT TRACKING before it may fill again;
//  - a client that uses CLIENT TRACKING itself replaces ours on its connection, and a
//    closed connection is tracked no more: the keys read through it are then reported
//    to nobody, so the entries filled through it die with its tracking (FillOwner);
//  - Redis keeps a table of the keys read (up to tracking-table-max-keys, then it
//    forgets keys and reports them as invalidated: safe).
// The fill race (a reply that arrives after its key was invalidated) is handled by the
// cache; losing this link empties the cache and stops serving from it until the link
// is back.

/** What a connection needs to track keys for this link. */
export interface TrackingTarget {
  /** id of the link's connection while tracking is on, else null */
  readonly redirectId: number | null;
  /** changes every time the link is (re)established: a connection tracked for another is not tracked */
  readonly generation: number;
}

/** The request that points a connection's tracking at the link with this id. */
export function trackingRequest(redirectId: number): Buffer {
  return encodeCommand(['CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(redirectId)]);
}

/** Turns a connection's tracking off (before a client turns on its own, with its own options). */
export const TRACKING_OFF = encodeCommand(['CLIENT', 'TRACKING', 'OFF']);

/** fillGeneration's answer when coherence needs no tracking (ttl mode) */
export const NO_TRACKING_NEEDED = -2;

export type LinkState = 'connecting' | 'up' | 'down' | 'ttl-only';

export interface InvalidationLinkOptions {
  addr: BackendAddress;
  tls?: TlsClientOptions;
  cache: ReplyCache | null;
  coherence: 'tracking' | 'ttl';
  /** tracking is on (again), for a new generation: connections may re-track now */
  onTracking?(): void;
  /** ACL rules (or the default user's password) changed on Redis: sharing must be checked again */
  onAccessChange?(): void;
  /** read COMMAND even without a cache (connection sharing needs command flags) */
  needCommands?: boolean;
  log: Logger;
  onCommands(table: CommandTable): void;
}

const PING_INTERVAL_MS = 1000;
/**
 * A PING unanswered this long: Redis is frozen, stuck in a long command, or cut off
 * without a reset. Invalidations may be held up as long, so the cache stops serving
 * (and /readyz says why) until the answer comes; everything before it has arrived then.
 */
export const UNRESPONSIVE_MS = 3000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

export class InvalidationLink implements TrackingTarget {
  state: LinkState = 'connecting';
  redirectId: number | null = null;
  generation = 0;
  /** number of times the link was (re)established */
  connects = 0;
  lastError = '';
  /** a PING has waited longer than UNRESPONSIVE_MS for its answer */
  unresponsive = false;
  private conn: ControlConnection | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  /** ACL LIST as last seen on this connection ('' before the first; null: not allowed, not polled) */
  private aclSeen: string | null = '';
  private timer: NodeJS.Timeout | null = null;
  private backoff = BACKOFF_MIN_MS;
  private stopped = false;
  private warnedNoTracking = false;
  private warnedTrackingTable = false;
  private loggedDown = false;
  private readonly opts: InvalidationLinkOptions;

  constructor(opts: InvalidationLinkOptions) {
    this.opts = opts;
  }

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.conn?.close();
  }

  /** true when the backing Redis answered on this link and (if tracking) tracking is on */
  get healthy(): boolean {
    return (this.state === 'up' || this.state === 'ttl-only') && !this.unresponsive;
  }

  /** why the link is not healthy, for /readyz; null when it is */
  get trouble(): string | null {
    if (this.healthy) return null;
    if (this.unresponsive) return `Redis has not answered the link's PING for over ${UNRESPONSIVE_MS / 1000} s`;
    return this.opts.cache ? `invalidation link to Redis is ${this.state}` : 'Redis is unreachable';
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { addr, log } = this.opts;
    let conn: ControlConnection | null = null;
    try {
      conn = await ControlConnection.open(addr, this.opts.tls);
      this.conn = conn;
      conn.on('invalidate', (keys: string[] | null) => this.onInvalidate(keys));
      conn.on('close', (err: Error) => this.onClose(conn as ControlConnection, err));
      const resp3 = await this.handshake(conn);
      const cache = this.opts.cache;
      // Without a cache this connection only tells whether Redis is reachable (/readyz, logs).
      await conn.send(['CLIENT', 'SETNAME', cache ? 'redisproxy-invalidation' : 'redisproxy-health']).catch(() => undefined);
      if (cache || this.opts.needCommands) {
        const reply = await conn.send(['COMMAND']);
        this.opts.onCommands(CommandTable.fromCommandReply(reply));
      }
      let tracking = false;
      let id: number | null = null;
      if (!cache) {
        tracking = false;
      } else if (this.opts.coherence === 'tracking' && resp3) {
        // The link reads no key itself; turning tracking on here proves that this user
        // may, and that Redis can, before any connection is redirected to it.
        const idReply = await conn.send(['CLIENT', 'ID']);
        const r = typeof idReply === 'number' ? await conn.send(['CLIENT', 'TRACKING', 'ON']) : idReply;
        if (r instanceof RedisErrorReply) {
          this.warnNoTracking(`CLIENT TRACKING failed: ${r.message}`);
        } else if (typeof idReply !== 'number') {
          this.warnNoTracking('CLIENT ID gave no id');
        } else {
          tracking = true;
          id = idReply;
        }
      } else if (this.opts.coherence === 'tracking') {
        this.warnNoTracking('Redis does not speak RESP3 (before 6.0)');
      }
      // the rules the cache's first entries are filled under (see onAclList)
      if (cache && this.aclSeen !== null) this.onAclList(conn, await conn.send(['ACL', 'LIST']).catch(() => null));
      this.state = tracking || !cache ? 'up' : 'ttl-only';
      this.redirectId = id;
      this.generation++;
      this.connects++;
      this.backoff = BACKOFF_MIN_MS;
      this.loggedDown = false;
      this.lastError = '';
      this.opts.cache?.setReady(true);
      if (!cache) log.info({ redis: addr.display }, 'Redis is reachable');
      else log.info({ redis: addr.display, coherence: tracking ? 'tracking' : 'ttl' }, tracking ? 'invalidation link up: tracking on' : 'link to Redis up (TTL-only coherence)');
      if (tracking) {
        this.opts.onTracking?.();
        void this.checkTrackingTable(conn, cache as ReplyCache);
      }
      this.schedulePing(conn);
    } catch (err) {
      conn?.close();
      this.onClose(conn, err as Error);
    }
  }

  private async handshake(conn: ControlConnection): Promise<boolean> {
    const { addr } = this.opts;
    const hello: string[] = ['HELLO', '3'];
    if (addr.password !== null) hello.push('AUTH', addr.username ?? 'default', addr.password);
    const r = await conn.send(hello);
    if (!(r instanceof RedisErrorReply)) return true;
    if (!/unknown command/i.test(r.message)) throw new Error(`HELLO failed: ${redact(r.message, addr)}`);
    // Redis before 6: RESP2 only, no tracking
    if (addr.password !== null) {
      const a = await conn.send(addr.username ? ['AUTH', addr.username, addr.password] : ['AUTH', addr.password]);
      if (a instanceof RedisErrorReply) throw new Error(`AUTH failed: ${a.message}`);
    }
    return false;
  }

  /**
   * Redis forgets (and reports as invalidated) the oldest tracked keys past
   * tracking-table-max-keys: a cache that may hold more keys than that keeps losing
   * entries. Safe, but worth a warning. (CONFIG may be refused to the proxy's user: then
   * nothing is said.)
   */
  private async checkTrackingTable(conn: ControlConnection, cache: ReplyCache): Promise<void> {
    if (this.warnedTrackingTable) return;
    const r = await conn.send(['CONFIG', 'GET', 'tracking-table-max-keys']).catch(() => null);
    const max = Array.isArray(r) ? Number(asString(r[1] ?? '')) : NaN;
    if (!(max > 0) || cache.capacity <= max) return;
    this.warnedTrackingTable = true;
    this.opts.log.warn(
      { capacity: cache.capacity, trackingTableMaxKeys: max },
      'Redis tracks at most tracking-table-max-keys keys and drops the oldest past it: raise it to at least --capacity (CONFIG SET tracking-table-max-keys), or the cache keeps losing entries',
    );
  }

  private warnNoTracking(why: string): void {
    if (this.warnedNoTracking) return;
    this.warnedNoTracking = true;
    this.opts.log.warn(
      { reason: why },
      'Redis cannot track keys for the proxy: falling back to TTL-only coherence (writes made directly on Redis are seen only after --ttl)',
    );
  }

  private schedulePing(conn: ControlConnection): void {
    // Keeps the link alive through Redis's `timeout` and notices a dead or frozen peer.
    this.timer = setTimeout(() => {
      if (this.conn !== conn || this.stopped) return;
      this.watchdog = setTimeout(() => this.onUnresponsive(conn), UNRESPONSIVE_MS);
      this.watchdog.unref();
      if (this.aclSeen !== null && this.opts.cache) conn.send(['ACL', 'LIST']).then((r) => this.onAclList(conn, r), () => undefined);
      conn.send(['PING']).then(
        () => {
          if (this.watchdog) clearTimeout(this.watchdog);
          this.watchdog = null;
          if (this.conn !== conn) return;
          if (this.unresponsive) this.onResponsive();
          this.schedulePing(conn);
        },
        () => undefined,
      );
    }, PING_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * Entries belong to a user and were filled with the permissions it had then: Redis says
   * nothing when the rules change, so the link reads them every second, and a change
   * (made anywhere: ACL SETUSER, ACL LOAD, CONFIG SET requirepass) empties the cache.
   * Changes made through the proxy empty it at once (see ClientSession).
   */
  private onAclList(conn: ControlConnection, reply: unknown): void {
    if (this.conn !== conn) return;
    if (!Array.isArray(reply)) {
      const why = reply instanceof RedisErrorReply ? reply.message : '';
      // A user without +acl, or a Redis before 6: only changes through the proxy are seen.
      // Anything else (BUSY, LOADING...) passes: the next tick asks again.
      if (!/^(NOPERM|ERR unknown command)/.test(why)) return;
      this.aclSeen = null;
      this.opts.log.info({ reason: why }, 'ACL LIST is refused to the proxy: ACL changes made directly on Redis are not noticed (those made through the proxy are)');
      return;
    }
    const rules = reply.map((r) => asString(r)).join('\n');
    const before = this.aclSeen;
    this.aclSeen = rules;
    if (before === '' || before === rules) return;
    this.opts.cache?.invalidateAll();
    this.opts.log.info('ACL rules changed on Redis: cache emptied, sharing checked again');
    this.opts.onAccessChange?.();
  }

  private onUnresponsive(conn: ControlConnection): void {
    if (this.conn !== conn || this.stopped || this.unresponsive) return;
    this.unresponsive = true;
    this.opts.cache?.setReady(false);
    this.opts.log.warn(
      { redis: this.opts.addr.display, waitedMs: UNRESPONSIVE_MS },
      this.opts.cache ? 'Redis stopped answering the invalidation link: cache emptied and bypassed until it answers' : 'Redis stopped answering',
    );
  }

  private onResponsive(): void {
    this.unresponsive = false;
    // every invalidation Redis sent before its answer has arrived: coherent again
    this.opts.cache?.setReady(true);
    this.opts.log.info({ redis: this.opts.addr.display }, 'Redis answers the invalidation link again');
  }

  private onInvalidate(keys: string[] | null): void {
    const cache = this.opts.cache;
    if (!cache) return;
    if (keys === null) cache.invalidateAll(); // FLUSHALL / FLUSHDB
    else for (const k of keys) cache.invalidate(k);
  }


  private onClose(conn: ControlConnection | null, err: Error): void {
    if (conn !== null && conn !== this.conn) return;
    this.conn = null;
    if (this.timer) clearTimeout(this.timer);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    this.unresponsive = false;
    if (this.aclSeen !== null) this.aclSeen = '';
    const wasUp = this.state === 'up' || this.state === 'ttl-only';
    this.state = 'down';
    this.redirectId = null;
    this.opts.cache?.setReady(false);
    this.lastError = redact(err.message, this.opts.addr);
    if (this.stopped) return;
    if (wasUp && !this.opts.cache) {
      this.opts.log.warn({ redis: this.opts.addr.display, reason: this.lastError }, 'lost the connection to Redis; retrying');
    } else if (wasUp) {
      this.opts.log.warn({ redis: this.opts.addr.display, reason: this.lastError }, 'invalidation link lost: cache emptied and bypassed until it is back');
    } else if (!this.loggedDown) {
      this.opts.log.warn({ redis: this.opts.addr.display, reason: this.lastError }, 'cannot reach Redis; retrying');
    }
    this.loggedDown = true;
    // capped exponential backoff with jitter
    const delay = Math.min(BACKOFF_MAX_MS, this.backoff) * (0.5 + Math.random() / 2);
    this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
    this.timer = setTimeout(() => void this.connect(), delay);
    this.timer.unref();
  }
}

function redact(message: string, addr: BackendAddress): string {
  return addr.password ? message.split(addr.password).join('***') : message;
}
