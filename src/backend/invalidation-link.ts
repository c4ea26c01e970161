import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { BackendAddress } from '../config/config.js';
import type { ReplyCache } from '../cache/reply-cache.js';
import { ControlConnection, type RespRequester } from './control-connection.js';
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
//
// The link only links: it connects, says HELLO 3, turns tracking on for itself and learns
// its CLIENT ID, hands the invalidations it receives to the cache, and reconnects with
// backoff. What else rides on its connection is a LinkPart, added with use():
//  - CommandTableLoader (per backend: one table for the deployment, read again at each
//    connect of any link it is added to),
//  - AclWatch (per link: Redis copies ACL rules to no other node, neither to a replica nor
//    across a cluster, so each node's rules are watched over that node's own link; what a
//    change does, emptying the cache, is the backend's and is given to it),
//  - HealthWatchdog (per link: only a PING answered on the link's own connection proves
//    that every invalidation pushed before it has arrived).
//
// Made to be one of many. A link is bound to one address for its life and assumes it is
// not alone:
//  - Redis Cluster: one link per master node, each with its own address, CLIENT ID,
//    state and generation; a router keeps them per node and gives each filling
//    connection the TrackingTarget of the node it talks to (its REDIRECT goes there).
//    Generations are unique across every link of the process, so a connection tracked
//    for one link never passes for tracked by another.
//  - Sentinel: a switch to a new primary stops the old link and starts a new one at the
//    new address. stop() takes the old link down at once: pushes that arrive later are
//    dropped, its cache is set not ready (emptied), and nothing is filled until the new
//    link is tracking (its 'tracking' event, with a generation no connection has yet).
// What a router reads: state, generation, redirectId, addr, and the events 'up',
// 'tracking' and 'down'.

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

// (its home is the watchdog now; re-exported for those who imported it from here)
export { UNRESPONSIVE_MS } from './health-watchdog.js';

export type LinkState = 'connecting' | 'up' | 'down' | 'ttl-only';

/**
 * What the link does to the cache: drops the keys Redis names, and stops it serving while
 * the link is not up. (A cluster router would give each node's link a view of its own.)
 */
export type LinkCache = Pick<ReplyCache, 'invalidate' | 'invalidateAll' | 'setReady' | 'capacity'>;

/**
 * Something that works over the link's connection. A part belongs to one link unless it
 * keeps no per-connection state (CommandTableLoader may serve several).
 */
export interface LinkPart {
  /**
   * A new connection, before the link reports up (parts in the order added). What must be
   * known before anything is filled is read here; the link goes up once this resolves.
   * A rejection drops the connection, which is retried with backoff.
   */
  attach(conn: RespRequester): Promise<void> | void;
  /** The link is up on that connection. */
  up?(): void;
  /** The connection is gone or the link stopped (also after a failed attempt with no attach). */
  detach(): void;
}

export interface InvalidationLinkOptions {
  addr: BackendAddress;
  tls?: TlsClientOptions;
  /** null: no cache, the link only tells whether Redis is reachable (and carries its parts) */
  cache: LinkCache | null;
  coherence: 'tracking' | 'ttl';
  log: Logger;
}

export interface InvalidationLinkEvents {
  /** up on a new connection, under a new generation (tracking or not) */
  up: [generation: number];
  /** tracking is on for a new generation: connections may (re)track now */
  tracking: [generation: number];
  /** the link was up or connecting and is not any more (lost, failed, or stopped) */
  down: [reason: string];
}

const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;

/** every generation ever given, across all links (see the header) */
let lastGeneration = 0;

export class InvalidationLink extends EventEmitter<InvalidationLinkEvents> implements TrackingTarget {
  readonly addr: BackendAddress;
  state: LinkState = 'connecting';
  redirectId: number | null = null;
  generation = 0;
  /** number of times the link was (re)established */
  connects = 0;
  lastError = '';
  private conn: ControlConnection | null = null;
  private readonly parts: LinkPart[] = [];
  private timer: NodeJS.Timeout | null = null;
  private backoff = BACKOFF_MIN_MS;
  private stopped = false;
  private warnedNoTracking = false;
  private warnedTrackingTable = false;
  private loggedDown = false;
  private readonly opts: InvalidationLinkOptions;

  constructor(opts: InvalidationLinkOptions) {
    super();
    this.opts = opts;
    this.addr = opts.addr;
  }

  /** Add a part (before start()); returns it. */
  use<P extends LinkPart>(part: P): P {
    this.parts.push(part);
    return part;
  }

  start(): void {
    void this.connect();
  }

  /** For good: down at once (later pushes are dropped, the cache is not ready), no reconnect. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const conn = this.conn;
    this.takeDown('link stopped');
    conn?.close();
  }

  /** connected and ready: tracking on, or (ttl-only, or without a cache) Redis answered */
  get up(): boolean {
    return this.state === 'up' || this.state === 'ttl-only';
  }

  /** why the link is not up, for /readyz; null when it is */
  get trouble(): string | null {
    if (this.up) return null;
    return this.opts.cache ? `invalidation link to Redis is ${this.state}` : 'Redis is unreachable';
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { addr, cache } = this.opts;
    let conn: ControlConnection | null = null;
    try {
      conn = await ControlConnection.open(addr, this.opts.tls);
      if (this.stopped) {
        conn.close();
        return;
      }
      const c = conn;
      this.conn = c;
      c.on('invalidate', (keys: string[] | null) => {
        if (this.conn === c) this.onInvalidate(keys);
      });
      c.on('close', (err: Error) => this.onClose(c, err));
      const resp3 = await this.handshake(c);
      // Without a cache this connection only tells whether Redis is reachable (/readyz, logs).
      await c.send(['CLIENT', 'SETNAME', cache ? 'redisproxy-invalidation' : 'redisproxy-health']).catch(() => undefined);
      const id = cache ? await this.trackItself(c, resp3) : null;
      for (const part of this.parts) await part.attach(c);
      // stopped, or lost, while the parts read
      if (this.conn !== c) return;
      this.goUp(c, id);
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

  /** Turns tracking on for the link itself; its CLIENT ID, or null when Redis cannot track (then TTL-only). */
  private async trackItself(conn: ControlConnection, resp3: boolean): Promise<number | null> {
    if (this.opts.coherence !== 'tracking') return null;
    if (!resp3) {
      this.warnNoTracking('Redis does not speak RESP3 (before 6.0)');
      return null;
    }
    // The link reads no key itself; turning tracking on here proves that this user
    // may, and that Redis can, before any connection is redirected to it.
    const idReply = await conn.send(['CLIENT', 'ID']);
    const r = typeof idReply === 'number' ? await conn.send(['CLIENT', 'TRACKING', 'ON']) : idReply;
    if (r instanceof RedisErrorReply) {
      this.warnNoTracking(`CLIENT TRACKING failed: ${r.message}`);
      return null;
    }
    if (typeof idReply !== 'number') {
      this.warnNoTracking('CLIENT ID gave no id');
      return null;
    }
    return idReply;
  }

  private goUp(conn: ControlConnection, id: number | null): void {
    const { addr, cache, log } = this.opts;
    this.state = id !== null || !cache ? 'up' : 'ttl-only';
    this.redirectId = id;
    this.generation = ++lastGeneration;
    this.connects++;
    this.backoff = BACKOFF_MIN_MS;
    this.loggedDown = false;
    this.lastError = '';
    cache?.setReady(true);
    if (!cache) log.info({ redis: addr.display }, 'Redis is reachable');
    else if (id !== null) log.info({ redis: addr.display, coherence: 'tracking' }, 'invalidation link up: tracking on');
    else log.info({ redis: addr.display, coherence: 'ttl' }, 'link to Redis up (TTL-only coherence)');
    for (const part of this.parts) part.up?.();
    this.emit('up', this.generation);
    if (id !== null) {
      this.emit('tracking', this.generation);
      void this.checkTrackingTable(conn, cache as LinkCache);
    }
  }

  /**
   * Redis forgets (and reports as invalidated) the oldest tracked keys past
   * tracking-table-max-keys: a cache that may hold more keys than that keeps losing
   * entries. Safe, but worth a warning. (CONFIG may be refused to the proxy's user: then
   * nothing is said.)
   */
  private async checkTrackingTable(conn: ControlConnection, cache: LinkCache): Promise<void> {
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

  private onInvalidate(keys: string[] | null): void {
    const cache = this.opts.cache;
    if (!cache) return;
    if (keys === null) cache.invalidateAll(); // FLUSHALL / FLUSHDB
    else for (const k of keys) cache.invalidate(k);
  }

  private onClose(conn: ControlConnection | null, err: Error): void {
    if (this.stopped || (conn !== null && conn !== this.conn)) return;
    const wasUp = this.takeDown(err.message);
    const { addr, cache, log } = this.opts;
    if (wasUp && !cache) {
      log.warn({ redis: addr.display, reason: this.lastError }, 'lost the connection to Redis; retrying');
    } else if (wasUp) {
      log.warn({ redis: addr.display, reason: this.lastError }, 'invalidation link lost: cache emptied and bypassed until it is back');
    } else if (!this.loggedDown) {
      log.warn({ redis: addr.display, reason: this.lastError }, 'cannot reach Redis; retrying');
    }
    this.loggedDown = true;
    // capped exponential backoff with jitter
    const delay = Math.min(BACKOFF_MAX_MS, this.backoff) * (0.5 + Math.random() / 2);
    this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
    this.timer = setTimeout(() => void this.connect(), delay);
    this.timer.unref();
  }

  /** The connection is no longer the link's: parts let go, the cache stops serving. Returns whether it was up. */
  private takeDown(reason: string): boolean {
    const wasUp = this.up;
    const wasDown = this.state === 'down';
    this.conn = null;
    for (const part of this.parts) part.detach();
    this.state = 'down';
    this.redirectId = null;
    this.opts.cache?.setReady(false);
    this.lastError = redact(reason, this.opts.addr);
    if (!wasDown) this.emit('down', this.lastError);
    return wasUp;
  }
}

function redact(message: string, addr: BackendAddress): string {
  return addr.password ? message.split(addr.password).join('***') : message;
}
