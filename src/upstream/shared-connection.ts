import type net from 'node:net';
import { connectToRedis } from '../backend/connect.js';
import { trackingRequest, NO_TRACKING_NEEDED } from '../backend/invalidation-link.js';
import type { FillOwner } from '../cache/reply-cache.js';
import { ReplyProtocolError } from '../resp/reply-scanner.js';
import { Fifo } from '../io/fifo.js';
import { ReplyReader } from './reply-reader.js';
import type { Upstream, UpstreamClient } from './upstream.js';
import type { SharedPool } from './shared-pool.js';

// One of the pool's pipelined connections. Pairing is by position, twemproxy's rule: each
// write appends (seat, n replies) to the connection's FIFO, and replies are handed out in
// that order.
//
//   client A ─┐                         ┌─▶ A: 2 replies
//   client B ─┼─▶ [A:2][B:1][A:1] ─▶ Redis ─▶ B: 1 reply
//   client C ─┘        FIFO                └─▶ A: 1 reply
//
// It is tracked for the invalidation link (CLIENT TRACKING ON REDIRECT, sent before any
// client's request and again whenever the link comes back), so the GETs that fill the
// cache through it are reported when their keys change.

/** Who a run of replies is for: a client's seat, or the connection's own CLIENT TRACKING. */
interface ReplyRoute {
  readonly gone: boolean;
  deliver(buf: Buffer, start: number, end: number, inChunk: boolean): void;
}

interface Route {
  to: ReplyRoute;
  replies: number;
}

/** Takes the reply to the connection's own CLIENT TRACKING (no client is waiting for it). */
class TrackingReply implements ReplyRoute {
  readonly gone = false;
  constructor(
    private readonly conn: SharedConnection,
    private readonly generation: number,
  ) {}

  deliver(buf: Buffer, start: number, end: number): void {
    if (buf[start] === 0x2d) this.conn.trackingRefused(this.generation, buf.toString('latin1', start + 1, end - 2));
  }
}

/** Takes the reply to the pool's login (AUTH): the connection takes clients only after it. */
class LoginReply implements ReplyRoute {
  readonly gone = false;
  constructor(private readonly conn: SharedConnection) {}

  deliver(buf: Buffer, start: number, end: number): void {
    this.conn.loginAnswered(buf.toString('latin1', start, end - 2));
  }
}

const RECONNECT_MS = 250;
/** the first size of the buffer requests gather in until the turn's one write */
const OUT_START = 16 * 1024;

export class SharedConnection {
  up = false;
  /** the link generation this connection's CLIENT TRACKING was sent for; -1: not tracked */
  private trackedGen = -1;
  private socket: net.Socket | null = null;
  private readonly reader = new ReplyReader((buf, start, end, inChunk) => this.dispatch(buf, start, end, inChunk));
  private readonly routes = new Fifo<Route>();
  /**
   * Requests of every client served in this turn of the event loop, copied side by side and
   * written with one call at its end (no stream bookkeeping per client batch).
   */
  private out = Buffer.allocUnsafeSlow(OUT_START);
  private outLen = 0;
  private flushQueued = false;
  private readonly flushOut = (): void => this.writeOut();
  private touched: SharedSeat[] = [];
  /** reads so far: a seat marked with the current one is in touched already */
  private reads = 0;
  private stopped = false;
  /** every client riding this connection, busy or idle: they all go down with it */
  private readonly members = new Set<SharedSeat>();
  /** seats whose clients stopped reading because the send buffer was full */
  private readonly waitingDrain = new Set<SharedSeat>();

  constructor(private readonly pool: SharedPool) {}

  connect(): void {
    if (this.stopped) return;
    const socket = connectToRedis(this.pool.addr, this.pool.tls, (n, buf) => this.onData(buf.subarray(0, n)));
    this.socket = socket;
    this.reader.reset();
    this.trackedGen = -1;
    this.outLen = 0;
    socket.on(this.pool.addr.tls ? 'secureConnect' : 'connect', () => {
      const login = this.pool.login;
      if (login !== null) {
        this.routes.push({ to: new LoginReply(this), replies: 1 });
        socket.write(login.command);
      }
      this.track(); // ahead of any client's request
      if (login === null) this.up = true;
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk)); // (TLS: plain sockets read in place)
    socket.on('drain', () => {
      const waiting = [...this.waitingDrain];
      this.waitingDrain.clear();
      for (const s of waiting) s.drained();
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

  /** the ACL user Redis knows it as: its pool's login's, 'default' without one */
  get user(): string {
    return this.pool.login?.user ?? 'default';
  }

  /** the AUTH that makes another connection this one's user (null: no login) */
  get loginCommand(): Buffer | null {
    return this.pool.login?.command ?? null;
  }

  /** clients riding it now */
  get seats(): number {
    return this.members.size;
  }

  /**
   * The pool's AUTH was answered (`reply`: the frame without its CRLF). Anything but +OK
   * means Redis no longer takes the pool's credentials: the connection closes for good and
   * the pool is told.
   */
  loginAnswered(reply: string): void {
    if (reply !== '+OK') {
      this.stopped = true;
      // (nothing was filled through it: it never took a client)
      this.trackedGen = -1;
      this.socket?.destroy();
      // (Redis's message names no password)
      this.pool.loggedIn(false, reply.slice(1));
      return;
    }
    this.up = true;
    this.pool.loggedIn(true);
  }

  /** A place on this connection for a client. */
  seat(client: UpstreamClient): SharedSeat {
    const seat = new SharedSeat(this, client);
    this.members.add(seat);
    return seat;
  }

  leave(seat: SharedSeat): void {
    this.members.delete(seat);
    this.waitingDrain.delete(seat);
  }

  /** Point this connection's tracking at the link, unless it already is for this generation. */
  track(): void {
    const t = this.pool.tracking;
    const socket = this.socket;
    if (t === null || t.redirectId === null || socket === null || this.trackedGen === t.generation) return;
    this.trackedGen = t.generation;
    this.routes.push({ to: new TrackingReply(this, t.generation), replies: 1 });
    // (behind whatever requests this turn gathered: replies come back in this order)
    this.append(trackingRequest(t.redirectId));
  }

  /**
   * May a GET sent now fill the cache? Only if Redis will report its key to the link: the
   * connection's tracking was sent for the link's current generation (requests run in
   * order, so a GET sent after it is tracked), or no tracking is needed (ttl mode).
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
    // NOAUTH: Redis wants a password, so no client shares this connection (the probe says
    // so) and nothing is filled through it: nothing for an operator to act on
    const expected = message.startsWith('NOAUTH');
    this.pool.log[expected ? 'debug' : 'warn']({ reason: message }, 'a shared connection could not turn on CLIENT TRACKING: the cache is not filled through it');
  }

  /**
   * Send one client's batch of requests, which will produce `replies` replies. Writes of
   * every client served in this turn of the event loop leave in one system call.
   * Returns false when Redis is not keeping up: the client should stop reading until its
   * seat is drained, so that clients cannot pile requests up in the proxy.
   */
  send(seat: SharedSeat, parts: Buffer[], replies: number): boolean {
    const socket = this.socket;
    if (!socket) return true;
    if (replies > 0) {
      const last = this.routes.last();
      if (last !== undefined && last.to === seat) last.replies += replies;
      else this.routes.push({ to: seat, replies });
    }
    for (const part of parts) this.append(part);
    if (!socket.writableNeedDrain) return true;
    this.waitingDrain.add(seat);
    return false;
  }

  /** Copy bytes behind the turn's gathered requests; the turn's end writes them. */
  private append(bytes: Buffer): void {
    const need = this.outLen + bytes.length;
    if (need > this.out.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, this.out.length * 2));
      this.out.copy(grown, 0, 0, this.outLen);
      this.out = grown;
    }
    this.outLen += bytes.copy(this.out, this.outLen);
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(this.flushOut);
    }
  }

  private writeOut(): void {
    this.flushQueued = false;
    const socket = this.socket;
    const n = this.outLen;
    if (socket === null || socket.destroyed || n === 0) return;
    this.outLen = 0;
    socket.write(this.out.subarray(0, n));
    // a write the kernel did not take whole keeps its buffer: gather the next turn elsewhere
    if (socket.writableLength > 0) this.out = Buffer.allocUnsafeSlow(Math.max(OUT_START, n));
  }

  private onData(chunk: Buffer): void {
    this.reads++;
    try {
      this.reader.read(chunk);
    } catch (err) {
      this.pool.log.error({ reason: err instanceof ReplyProtocolError ? err.message : String(err) }, 'bad reply on a shared connection: closing it');
      this.trackingLost();
      this.socket?.destroy();
    } finally {
      for (const s of this.touched) s.flush();
      this.touched.length = 0;
    }
  }

  private dispatch(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    const route = this.routes.peek();
    if (route === undefined) throw new ReplyProtocolError('a reply arrived with no request pending');
    if (--route.replies <= 0) this.routes.shift();
    const to = route.to;
    if (to.gone) return; // its client left: the reply has nowhere to go
    // (each seat flushed once per read, however its replies interleave with others')
    if (to instanceof SharedSeat && to.readMark !== this.reads) {
      to.readMark = this.reads;
      this.touched.push(to);
    }
    to.deliver(buf, start, end, inChunk);
  }

  private onClose(socket: net.Socket): void {
    if (socket !== this.socket) return;
    this.trackingLost();
    this.up = false;
    this.socket = null;
    this.routes.drain();
    const lost = [...this.members];
    this.members.clear();
    for (const s of lost) s.lost('connection to Redis lost');
    if (!this.stopped) setTimeout(() => this.connect(), RECONNECT_MS).unref();
  }
}

/**
 * A client's place on a shared connection. A client only rides one while it holds no
 * connection state, so the seat has no tracking of its own to give up, and never relays raw.
 */
export class SharedSeat implements Upstream, ReplyRoute {
  readonly shared = true;
  readonly streams = false;
  readonly answered = true;
  readonly congested = false;
  readonly fillOwner: FillOwner | null = null;
  /** the client left it: replies still arriving for it are dropped */
  gone = false;
  /** the connection's read that last delivered to it (see SharedConnection.dispatch) */
  readMark = -1;

  constructor(
    private readonly conn: SharedConnection,
    private readonly client: UpstreamClient,
  ) {}

  get seatUser(): string {
    return this.conn.user;
  }

  get seatLogin(): Buffer | null {
    return this.conn.loginCommand;
  }

  send(parts: Buffer[], _bytes: number, replies: number): boolean {
    return this.conn.send(this, parts, replies);
  }

  fillGeneration(): number {
    return this.conn.fillGeneration();
  }

  stillTracked(generation: number): boolean {
    return this.conn.stillTracked(generation);
  }

  deliver(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    if (!this.client.closed) this.client.onUpstreamReply(buf, start, end, inChunk);
  }

  flush(): void {
    // (also when it left during this read: what it was handed lies in the shared read buffer)
    if (!this.client.closed) this.client.onUpstreamFlush();
  }

  drained(): void {
    if (!this.gone && !this.client.closed) this.client.onUpstreamDrain();
  }

  lost(reason: string): void {
    if (!this.gone && !this.client.closed) this.client.onUpstreamLost(reason);
  }

  yieldTracking(): void {}
  userChanged(): void {}
  relayRaw(): void {}
  pause(): void {}
  resume(): void {}

  close(): void {
    this.gone = true;
    this.conn.leave(this);
  }
}
