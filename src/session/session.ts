import type net from 'node:net';
import { NIL_RESP2, NIL_RESP3 } from '../resp/encode.js';
import type { CachedReply } from '../cache/reply-cache.js';
import type { SessionObserver } from '../metrics/session-observer.js';
import type { SessionContext } from './context.js';
import { RequestBatch } from './request-batch.js';
import { WriteBatch, type OutBytes } from '../io/write-batch.js';
import type { Upstream, UpstreamClient } from '../upstream/upstream.js';
import { ConnState } from './conn-state.js';
import { Kind, Pending, PendingQueue } from './pending.js';
import { RequestRouter } from './requests.js';
import { RequestReader } from './request-reader.js';
import { ReplyPairer } from './replies.js';
import { OutputLimiter } from './output-limit.js';
import { SeatMoves } from './seat-moves.js';

// One client of the proxy: its socket, its request decoder, its pending queue, and the
// upstream its requests go to (upstream/upstream.ts). The request side (requests.ts)
// routes each decoded command; the reply side (replies.ts) pairs each reply with its
// record; what the connection's state is (conn-state.ts) is learnt from the replies.
//
//   client ──bytes──▶ RequestDecoder ──▶ RequestRouter ──┬─ forwarded bytes ──▶ Upstream ──▶ Redis
//                                                       └─ cache hit (no Redis)
//   client ◀── replies in request order ◀── ReplyPairer ◀── pending queue ◀── Upstream
//
// A session starts on a seat of a shared connection when it may (no connection state
// yet); the first command that needs connection state waits until its shared commands
// are answered, then the session moves to a connection of its own for the rest of its life
// (seat-moves.ts; an AUTH Redis accepts moves it to a seat on its user's pool instead).
//
// Its life, one phase at a time:
//
//   Open ──QUIT, protocol error, shutdown──▶ InputStopped ─┐
//    │ ──client half-closes──▶ HalfClosed ─────────────────┼─▶ Finishing ──▶ Closed
//    └──its Redis connection lost (or never made) ─────────┘   (last reply out, linger)
//
// The proxy never answers a forwarded command itself: when the connection serving a client
// is lost, the client's connection is closed behind the replies that did arrive, as Redis
// would have closed it, so the client's own reconnect-and-resend applies.

export type { SessionContext, SessionLimits } from './context.js';

export const enum Phase {
  Open,
  /** no more requests are read (QUIT, a protocol error, shutdown); replies still go out */
  InputStopped,
  /** the client half-closed: close once everything it sent is answered */
  HalfClosed,
  /** the last reply is on its way; the socket closes after it */
  Finishing,
  Closed,
}

const HALF_CLOSE_GRACE_MS = 10_000;
/** after its last reply is out, how long a finished session waits for the client to close before closing itself */
const FINISH_LINGER_MS = 1000;

export class ClientSession implements UpstreamClient {
  readonly client: net.Socket;
  readonly remote: string;
  readonly ctx: SessionContext;
  readonly observer: SessionObserver | undefined;
  /** request bytes for the upstream, sent in one write per client read */
  private readonly batch = new RequestBatch();
  readonly pending: PendingQueue;
  readonly state = new ConnState();
  /** replies gathered while one read is handled, written at its end */
  readonly out = new WriteBatch();
  upstream: Upstream | null = null;
  phase = Phase.Open;
  outputLimitHits = 0;
  /** when the client last sent bytes (ms since epoch) */
  lastInput = Date.now();
  private readonly reader: RequestReader;
  private readonly requests: RequestRouter;
  /** leaving the shared seat: the request held meanwhile, and AUTH's check */
  readonly moves: SeatMoves;
  private readonly replies: ReplyPairer;
  private readonly limiter = new OutputLimiter();
  /** requests (and, once the Raw record is reached, replies) are relayed without pairing */
  private rawRequests = false;
  private rawReplies = false;
  private hasSent = false;
  private finishTimer: NodeJS.Timeout | null = null;
  /** closes a half-closed client whose replies never come (cleared at close: it would hold the session for its 10 s) */
  private graceTimer: NodeJS.Timeout | null = null;

  /** remote: the client's address as the listener read it (a getpeername each time it is read off a socket) */
  constructor(client: net.Socket, ctx: SessionContext, remote: string) {
    this.client = client;
    this.ctx = ctx;
    this.observer = ctx.observer;
    this.remote = remote;
    this.pending = new PendingQueue(this.batch, ctx.observer !== undefined);
    this.requests = new RequestRouter(this);
    this.replies = new ReplyPairer(this);
    this.reader = new RequestReader(this, this.requests);
    this.moves = new SeatMoves(this, this.requests, this.reader);
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => {
      if (this.reading) this.reader.onData(chunk);
    });
    client.on('drain', () => {
      // the client caught up: let both directions flow again
      this.upstream?.resume();
      if (this.reading && this.moves.held === null && !this.upstream?.congested) this.client.resume();
      this.limiter.reset();
    });
    client.on('error', () => this.close());
    client.on('close', () => this.close());
    // A client that half-closes after sending (`printf 'PING\r\n' | nc`) still gets its
    // replies, as Redis, which answers what it read before it sees the end, would give them.
    client.on('end', () => this.onClientEnd());
    const seat = ctx.upstreams.share(this);
    if (seat) {
      // a fresh connection: the default user (or none, where Redis wants a password), db 0, RESP2
      this.upstream = seat;
      this.state.user = seat.seatUser;
    } else {
      this.openUpstream();
    }
  }

  get closed(): boolean {
    return this.phase === Phase.Closed;
  }

  /** (UpstreamClient.socket: the proxy's address as this client reached it) */
  get socket(): net.Socket {
    return this.client;
  }

  /** are requests read and handled */
  get reading(): boolean {
    return this.phase === Phase.Open;
  }

  get relaysRequests(): boolean {
    return this.rawRequests;
  }

  get relaysReplies(): boolean {
    return this.rawReplies;
  }

  /** (writes before it connects are buffered) */
  openUpstream(): void {
    this.upstream = this.ctx.upstreams.open(this);
  }

  // ───────────────────────────── requests ─────────────────────────────

  /** A read into the listener's shared buffer (see RequestReader.onRead). */
  onClientRead(n: number, buf: Buffer): void {
    if (this.reading) this.reader.onRead(n, buf);
  }

  /** The client sent bytes: for the idle timeout, and the rules at a lost connection. */
  noteInput(): void {
    this.lastInput = Date.now();
    this.hasSent = true;
  }

  /** bytes of an unfinished request already sent on (see RequestReader.streamPartial) */
  get streamed(): number {
    return this.reader.streamed;
  }

  /** is a request waiting for the session to leave its shared connection */
  get holding(): boolean {
    return this.moves.held !== null;
  }

  /** After a read's requests were taken: apply backpressure. */
  afterInput(): void {
    // Backpressure: stop reading requests while Redis or this client cannot keep up
    // (cache hits are produced without Redis, so the client's own buffer counts too).
    if (this.reading && (this.upstream?.congested === true || this.client.writableNeedDrain)) this.client.pause();
    this.checkOutputLimit();
  }

  /** Disconnect a client whose unread replies pass its class's limit, as Redis does. */
  private checkOutputLimit(): void {
    const len = this.client.writableLength;
    if (len === 0) return;
    const pubsub = this.state.subCount > 0;
    const lim = pubsub ? this.ctx.limits.outputPubsub : this.ctx.limits.outputNormal;
    if (!this.limiter.over(len, lim, this.upstream?.shared === true, Date.now())) return;
    this.ctx.log.warn({ client: this.remote, bytes: len, class: pubsub ? 'pubsub' : 'normal' }, 'closing client over its output buffer limit');
    this.outputLimitHits++;
    this.client.destroy();
    this.close();
  }

  /** Forward request bytes [start, end) of `buf`, merging adjacent requests into one write. */
  forward(buf: Buffer, start: number, end: number): void {
    this.batch.forward(buf, start, end);
  }

  flushForward(): void {
    this.batch.cut();
  }

  /** Bytes of the proxy's own for the upstream, in order with the forwarded ones. */
  toUpstream(bytes: Buffer): void {
    this.batch.add(bytes);
  }

  flushUpstream(): void {
    const upstream = this.upstream;
    if (!this.batch.sendTo(upstream) && upstream?.shared === true) this.client.pause(); // (resumed by onUpstreamDrain)
  }

  // ── the pending queue ──

  /** A reply the proxy already has: written now if nothing is ahead of it, else queued. */
  enqueueReady(reply: OutBytes, closeAfter: boolean, fromCache = false): void {
    if (this.pending.length === 0) {
      this.out.add(reply);
      this.observer?.onReply(0, fromCache);
      if (closeAfter) this.finish();
      return;
    }
    const p = new Pending(Kind.Ready);
    p.reply = reply;
    p.closeAfter = closeAfter;
    p.fromCache = fromCache;
    this.pending.push(p);
  }

  /** A cache hit: the stored bulk reply, or nil in this client's protocol. */
  serveCached(hit: CachedReply | null): void {
    this.enqueueReady(hit ?? (this.state.proto === 3 ? NIL_RESP3 : NIL_RESP2), false, true);
  }

  observeDone(p: Pending): void {
    this.observer?.onReply((performance.now() - p.t0) / 1000, p.fromCache);
  }

  /** From here on requests are relayed unpaired (MONITOR, CLIENT REPLY, ...). */
  relayRequests(): void {
    this.rawRequests = true;
  }

  /** ... and, once every earlier reply is paired, replies too. */
  relayReplies(): void {
    this.rawReplies = true;
    this.upstream?.relayRaw();
  }

  // ── what the upstream tells (UpstreamClient) ──

  onUpstreamReply(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    this.replies.onReply(buf, start, end, inChunk);
  }

  onUpstreamFlush(): void {
    this.flushOut();
    // A client that cannot keep up slows its own Redis connection, except a subscriber:
    // messages are not requested, so like Redis the proxy buffers them and lets the
    // pub/sub output limit cut a subscriber that falls too far behind.
    if (this.client.writableNeedDrain && this.state.subCount === 0) this.upstream?.pause();
    this.pending.waitSince = Date.now();
    this.checkOutputLimit();
  }

  onUpstreamDrain(): void {
    if (this.reading && this.moves.held === null && !this.client.writableNeedDrain) this.client.resume();
  }

  onUpstreamLost(reason: string): void {
    if (this.phase === Phase.Finishing || this.closed) return;
    if (this.upstream?.shared === true && this.pending.length === 0 && this.moves.held === null && !this.hasSent) {
      // A client that has sent nothing yet has never been a client of that connection in
      // Redis's eyes: it moves on, to another shared connection or one of its own.
      this.upstream = this.ctx.upstreams.share(this);
      if (this.upstream === null) {
        this.state.unprove();
        this.openUpstream();
      } else {
        this.state.user = this.upstream.seatUser;
      }
      return;
    }
    this.lose(reason);
  }

  onUpstreamFault(reason: string): void {
    this.fault(reason);
  }

  sendInternal(bytes: Buffer, onReply: (frame: Buffer) => void): void {
    this.flushForward();
    this.toUpstream(bytes);
    const p = new Pending(Kind.Internal);
    p.onInternal = onReply;
    this.pending.push(p);
  }

  /** A record was answered (and every Ready one behind it written). */
  onAnswered(): void {
    const head = this.pending.peek();
    if (head === undefined) {
      if (this.phase === Phase.HalfClosed) this.finish();
      else if (this.moves.held !== null) this.moves.resumeHeld();
    } else if (this.phase === Phase.HalfClosed && head.blocking) {
      // Redis frees a client that half-closes while blocked, and its blocked command with
      // it: closing its connection does the same (nothing is consumed by it later)
      this.finish();
    }
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  private onClientEnd(): void {
    if (this.phase === Phase.Open || this.phase === Phase.InputStopped) this.phase = Phase.HalfClosed;
    if (this.phase !== Phase.HalfClosed) return;
    // what it sent before the end is answered (up to a blocked command: see onAnswered)
    this.onAnswered();
    // a Redis that never answers must not keep the session
    if (!this.closed) {
      this.graceTimer = setTimeout(() => this.close(), HALF_CLOSE_GRACE_MS);
      this.graceTimer.unref();
    }
  }

  stopInput(): void {
    if (this.phase === Phase.Open) this.phase = Phase.InputStopped;
    this.client.pause();
  }

  /**
   * Called about every quarter second by the listener, only when a timeout is set.
   * idleMs: close a client silent for that long (not while subscribed or waiting for
   * Redis, as Redis's `timeout` spares pub/sub and blocked clients).
   * backendMs: a client whose command Redis has not answered in that long (blocking ones
   * excepted) is closed, as if its connection were lost: its reply stream can no longer be
   * paired, and a reply the proxy made up would be taken for Redis's.
   */
  sweep(now: number, idleMs: number, backendMs: number): void {
    if (this.closed) return;
    const waiting = this.pending.length > 0;
    if (idleMs > 0 && !waiting && this.state.subCount === 0 && !this.rawRequests && now - this.lastInput > idleMs) {
      this.ctx.log.debug({ client: this.remote }, 'closing idle client');
      this.close();
      return;
    }
    if (backendMs > 0 && waiting && !this.rawReplies && this.phase !== Phase.Finishing && now - this.pending.waitSince > backendMs) {
      const head = this.pending.peek() as Pending;
      if (head.blocking || head.kind === Kind.Subscribe) return;
      this.ctx.log.warn({ client: this.remote, timeoutMs: backendMs }, 'backend timeout: closing the client');
      this.observer?.onError('backend-timeout');
      this.lose(`Redis did not answer within ${backendMs} ms (--backend-timeout)`);
    }
  }

  /**
   * The connection serving this client is lost (or given up on): what is still in flight
   * will never be answered, so the client's connection closes behind the replies that did
   * arrive, as Redis would have closed it. A shared connection stays for the others.
   */
  lose(reason: string): void {
    this.ctx.log.debug({ client: this.remote, reason }, 'closing client: its connection to Redis is gone');
    if (this.pending.length > 0) this.observer?.onError('backend-lost');
    for (const p of this.pending.drain()) p.releaseHold();
    this.finish();
  }

  fault(reason: string): void {
    this.observer?.onError('reply-fault');
    this.ctx.log.warn({ client: this.remote, reason }, 'closing client after a protocol fault');
    this.client.destroy();
    this.close();
  }

  flushOut(): void {
    this.out.writeTo(this.client);
  }

  /** Flush what was written, then close both sides. */
  finish(): void {
    if (this.closed) return;
    const already = this.phase === Phase.Finishing;
    this.phase = Phase.Finishing;
    this.flushOut();
    this.client.end();
    this.upstream?.close();
    // Like Redis, close once the last reply is out, without waiting long for the client to
    // close its side: one that keeps sending would keep its slot forever. What it still
    // sends is read and dropped, since bytes left unread would turn the close into a reset,
    // which can destroy the last reply before the client reads it.
    if (already) return;
    const client = this.client;
    client.removeAllListeners('data');
    client.on('data', () => undefined);
    client.resume();
    client.once('finish', () => {
      this.finishTimer = setTimeout(() => this.close(), FINISH_LINGER_MS);
      this.finishTimer.unref();
    });
  }

  close(): void {
    if (this.closed) return;
    this.phase = Phase.Closed;
    if (this.finishTimer) clearTimeout(this.finishTimer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.upstream?.close();
    for (const p of this.pending.drain()) p.releaseHold();
    if (!this.client.destroyed) this.client.destroy();
    this.ctx.onClose(this);
  }

  /** false while the client rides a shared connection */
  get ownsConnection(): boolean {
    return this.upstream !== null && !this.upstream.shared;
  }

  /** Graceful shutdown: stop reading new requests; resolve once nothing is in flight. */
  get idle(): boolean {
    return this.pending.length === 0;
  }

  stopReading(): void {
    this.stopInput();
  }
}
