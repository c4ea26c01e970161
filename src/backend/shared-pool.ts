import type net from 'node:net';
import type { Logger } from 'pino';
import type { BackendAddress } from '../config/config.js';
import { connectToRedis, type TlsClientOptions } from './connect.js';
import { ReplyScanner, ReplyProtocolError } from '../resp/reply-scanner.js';
import { PendingQueue } from '../server/pending-queue.js';
import { trackingRequest, NO_TRACKING_NEEDED, type TrackingTarget } from './invalidation-link.js';

// Multiplexing: clients that hold no connection state (database 0, the default user,
// RESP2, no transaction, no subscription, nothing blocking) share a few pipelined
// connections to Redis, as twemproxy does. Many clients' commands go out in one write
// and come back in one read, which is what makes pass-through traffic cheaper than a
// byte relay. A client that needs state (SELECT, AUTH, HELLO, MULTI, WATCH, SUBSCRIBE,
// CLIENT ..., a blocking command) first lets its shared commands finish, then moves to
// a connection of its own for the rest of its life (see ClientSession).
//
// Pairing is by position, twemproxy's rule: each write appends (client, n replies) to
// the connection's FIFO, and replies are handed out in that order.
//
//   client A ─┐                         ┌─▶ A: 2 replies
//   client B ─┼─▶ [A:2][B:1][A:1] ─▶ Redis ─▶ B: 1 reply
//   client C ─┘        FIFO                └─▶ A: 1 reply
//
// Each shared connection is tracked for the invalidation link (CLIENT TRACKING ON
// REDIRECT, sent before any client's request and again whenever the link comes back),
// so the GETs that fill the cache through it are reported when their keys change.
//
// Sharing is only safe while a fresh connection to Redis is authenticated as the
// default user without a password: a shared connection must never let a client act as
// a user it did not authenticate as. A probe checks that every second with a brand-new
// connection; when Redis starts requiring a password, new clients get connections of
// their own, where Redis asks them to AUTH. Clients already sharing stay, as their own
// connections to Redis would stay authenticated. A change of ACL rules or password made
// through the proxy (or seen by the link's ACL LIST) holds new clients back until a
// fresh probe has answered.

export interface SharedClient {
  readonly closed: boolean;
  /**
   * One reply frame for this client, buf[start, end). inChunk: buf is the read's chunk
   * (adjacent frames may go out as one slice); else buf is the frame alone.
   */
  onSharedReply(buf: Buffer, start: number, end: number, inChunk: boolean): void;
  /** replies of one read were all handed out: write them */
  flushReplies(): void;
  /** the shared connection died with this client's commands in flight */
  onSharedLost(reason: string): void;
  /** the shared connection can take more requests again (after send returned false) */
  onSharedDrain(): void;
}

interface Route {
  client: SharedClient;
  replies: number;
}

const PROBE_INTERVAL_MS = 1000;
const RECONNECT_MS = 250;

/** Takes the reply to the connection's own CLIENT TRACKING (no client is waiting for it). */
class TrackingReply implements SharedClient {
  readonly closed = false;
  constructor(
    private readonly conn: SharedConnection,
    private readonly generation: number,
  ) {}

  onSharedReply(buf: Buffer, start: number, end: number): void {
    if (buf[start] === 0x2d) this.conn.trackingRefused(this.generation, buf.toString('latin1', start + 1, end - 2));
  }

  flushReplies(): void {}
  onSharedLost(): void {}
  onSharedDrain(): void {}
}
export class SharedConnection {
  up = false;
  /** the link generation this connection's CLIENT TRACKING was sent for; -1: not tracked */
  private trackedGen = -1;
  private socket: net.Socket | null = null;
  private scanner = new ReplyScanner();
  private readonly routes = new PendingQueue<Route>();
  private partial: Buffer[] = [];
  private corked = false;
  private touched: SharedClient[] = [];
  private stopped = false;
  private readonly pool: SharedPool;
  /** every client riding this connection, busy or idle: they all go down with it */
  private readonly members = new Set<SharedClient>();
  /** clients that stopped reading because this connection's send buffer was full */
  private readonly waitingDrain = new Set<SharedClient>();

  constructor(pool: SharedPool) {
    this.pool = pool;
  }

  connect(): void {
    if (this.stopped) return;
    const socket = connectToRedis(this.pool.addr, this.pool.tls);
    this.socket = socket;
    this.scanner = new ReplyScanner();
    this.partial = [];
    this.trackedGen = -1;
    socket.on(this.pool.addr.tls ? 'secureConnect' : 'connect', () => {
      this.track(); // ahead of any client's request
      this.up = true;
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      const waiting = [...this.waitingDrain];
      this.waitingDrain.clear();
      for (const c of waiting) if (!c.closed) c.onSharedDrain();
    });
    // Redis stops tracking a connection when it closes: what was filled through it is
    // reported no more (noticed at 'end', ahead of GETs read in the same turn).
    socket.on('end', () => this.trackingLost());
    socket.on('error', () => this.trackingLost());
    socket.on('close', () => this.onClose(socket));
  }

  stop(): void {
    this.stopped = true;
    this.socket?.destroy();
  }

  /** Point this connection's tracking at the link, unless it already is for this generation. */
  track(): void {
    const t = this.pool.tracking;
    const socket = this.socket;
    if (t === null || t.redirectId === null || socket === null || this.trackedGen === t.generation) return;
    this.trackedGen = t.generation;
    this.routes.push({ client: new TrackingReply(this, t.generation), replies: 1 });
    socket.write(trackingRequest(t.redirectId));
  }

  /**
   * May a GET sent now fill the cache? Only if Redis will report its key to the link:
   * the connection's tracking was sent for the link's current generation (requests run
   * in order, so a GET sent after it is tracked), or no tracking is needed (ttl mode).
   * Returns the generation to check again when the reply is in (see stillTracked), or -1.
   */
  fillGeneration(): number {
    const t = this.pool.tracking;
    if (t === null || t.redirectId === null) return NO_TRACKING_NEEDED;
    return this.trackedGen === t.generation ? t.generation : -1;
  }

  /** false if the CLIENT TRACKING that a fill relied on was refused after all */
  stillTracked(generation: number): boolean {
    return generation === NO_TRACKING_NEEDED || this.trackedGen === generation;
  }

  private trackingLost(): void {
    if (this.trackedGen === -1) return;
    this.trackedGen = -1;
    this.pool.onTrackingLost?.();
  }

  trackingRefused(generation: number, message: string): void {
    if (this.trackedGen !== generation) return;
    this.trackedGen = -1;
    this.pool.log.warn({ reason: message }, 'a shared connection could not turn on CLIENT TRACKING: the cache is not filled through it');
  }

  join(client: SharedClient): void {
    this.members.add(client);
  }

  leave(client: SharedClient): void {
    this.members.delete(client);
    this.waitingDrain.delete(client);
  }

  /**
   * Send one client's batch of requests, which will produce `replies` replies. Writes of
   * every client served in this turn of the event loop leave in one system call.
   * Returns false when Redis is not keeping up: the client should stop reading until
   * onSharedDrain, so that clients cannot pile requests up in the proxy.
   */
  send(client: SharedClient, bytes: Buffer, replies: number): boolean {
    const socket = this.socket;
    if (!socket) return true;
    if (replies > 0) {
      const last = this.routes.last();
      if (last !== undefined && last.client === client) last.replies += replies;
      else this.routes.push({ client, replies });
    }
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      setImmediate(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    socket.write(bytes);
    if (!socket.writableNeedDrain) return true;
    this.waitingDrain.add(client);
    return false;
  }

  private onData(chunk: Buffer): void {
    let pos = 0;
    try {
      while (pos < chunk.length) {
        const end = this.scanner.scan(chunk, pos);
        if (end < 0) {
          this.partial.push(pos === 0 ? chunk : chunk.subarray(pos));
          break;
        }
        if (this.partial.length > 0) {
          this.partial.push(chunk.subarray(pos, end));
          const frame = Buffer.concat(this.partial);
          this.partial = [];
          this.dispatch(frame, 0, frame.length, false);
        } else {
          this.dispatch(chunk, pos, end, true);
        }
        pos = end;
      }
    } catch (err) {
      this.pool.log.error({ reason: err instanceof ReplyProtocolError ? err.message : String(err) }, 'bad reply on a shared connection: closing it');
      this.trackingLost();
      this.socket?.destroy();
    } finally {
      for (const c of this.touched) if (!c.closed) c.flushReplies();
      this.touched.length = 0;
    }
  }

  private dispatch(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    const route = this.routes.peek();
    if (route === undefined) throw new ReplyProtocolError('a reply arrived with no request pending');
    if (--route.replies <= 0) this.routes.shift();
    const client = route.client;
    if (client.closed) return; // its client left: the reply has nowhere to go
    if (this.touched.length === 0 || this.touched[this.touched.length - 1] !== client) this.touched.push(client);
    client.onSharedReply(buf, start, end, inChunk);
  }

  private onClose(socket: net.Socket): void {
    if (socket !== this.socket) return;
    this.trackingLost();
    this.up = false;
    this.socket = null;
    // As with a connection of its own, a client whose Redis connection died is told so
    // (an error for each command in flight) and disconnected.
    this.routes.drain();
    const lost = [...this.members];
    this.members.clear();
    for (const c of lost) if (!c.closed) c.onSharedLost('connection to Redis lost');
    if (!this.stopped) setTimeout(() => this.connect(), RECONNECT_MS).unref();
  }
}

export class SharedPool {
  /** true while a fresh connection to Redis needs no password: only then may clients share */
  allowed = false;
  /** the invalidation link, once wired (null: nothing to track for) */
  tracking: TrackingTarget | null = null;
  /** a tracked connection closed: entries filled through it are reported no more */
  onTrackingLost: (() => void) | null = null;
  readonly addr: BackendAddress;
  readonly tls: TlsClientOptions | undefined;
  readonly log: Logger;
  private readonly conns: SharedConnection[] = [];
  private next = 0;
  private probeTimer: NodeJS.Timeout | null = null;
  /** probes started (one at a time) */
  private probes = 0;
  private probing = false;
  /** asked for while one was in flight: start another when it answers */
  private probeAgain = false;
  /** access rules just changed: no new client shares until a probe numbered checkFrom or later answers */
  private checking = false;
  private checkFrom = 0;

  constructor(addr: BackendAddress, tls: TlsClientOptions | undefined, size: number, log: Logger) {
    this.addr = addr;
    this.tls = tls;
    this.log = log;
    for (let i = 0; i < size; i++) this.conns.push(new SharedConnection(this));
  }

  start(): void {
    for (const c of this.conns) c.connect();
    void this.probe();
    this.probeTimer = setInterval(() => {
      if (!this.probing) void this.probe();
    }, PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  stop(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
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
    if (!this.allowed || this.checking) return null;
    for (let i = 0; i < this.conns.length; i++) {
      const c = this.conns[this.next++ % this.conns.length];
      if (c.up) return c;
    }
    return null;
  }

  /**
   * A command that may change who needs a password is on its way to Redis: no new client
   * shares a connection until a probe started after its reply (see probeNow) answers.
   */
  hold(): void {
    this.checking = true;
    this.checkFrom = this.probes + 1;
  }

  /**
   * Probe at once, not at the next tick of the interval: a client just changed ACL rules
   * or a password through the proxy (a change made directly on Redis waits for the tick).
   * Many at once make one probe, and one more after it.
   */
  probeNow(): void {
    this.hold();
    if (this.probing) this.probeAgain = true;
    else void this.probe();
  }

  /** Does a brand-new, unauthenticated connection get answered? */
  private probe(): Promise<void> {
    const seq = ++this.probes;
    this.probing = true;
    return new Promise((resolve) => {
      const s = connectToRedis(this.addr, this.tls);
      let reply = '';
      let answered = false;
      const done = (ok: boolean, why: string) => {
        if (answered) return;
        answered = true;
        s.destroy();
        resolve();
        this.probing = false;
        if (seq >= this.checkFrom) this.checking = false;
        if (this.probeAgain) {
          this.probeAgain = false;
          void this.probe();
        }
        if (this.allowed !== ok) this.log.info({ sharing: ok, reason: ok ? undefined : why }, ok ? 'clients share connections to Redis' : 'new clients no longer share connections to Redis: each gets its own');
        this.allowed = ok;
      };
      const timer = setTimeout(() => done(false, 'a new connection got no answer within 2 s'), 2000);
      timer.unref();
      s.on(this.addr.tls ? 'secureConnect' : 'connect', () => s.write('PING\r\n'));
      s.on('data', (d) => {
        reply += d.toString('latin1');
        if (reply.includes('\r\n')) {
          clearTimeout(timer);
          done(reply.startsWith('+PONG'), reply.startsWith('-NOAUTH') ? 'Redis requires authentication' : `a new connection got ${JSON.stringify(reply.trim())}`);
        }
      });
      s.on('error', (err) => {
        clearTimeout(timer);
        done(false, `Redis is unreachable (${err.message})`);
      });
    });
  }
}
