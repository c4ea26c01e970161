import type net from 'node:net';
import type { Logger } from 'pino';
import { RequestDecoder, DecodeStatus } from '../resp/request-decoder.js';
import { ReplyScanner, ReplyProtocolError } from '../resp/reply-scanner.js';
import { encodeCommand, encodeError, NIL_RESP2, NIL_RESP3 } from '../resp/encode.js';
import { parseRedisInt } from '../resp/redis-int.js';
import { CommandTable, type CommandInfo } from '../commands/command-table.js';
import {
  StateCommand,
  SubscriptionKind,
  stateCommandOf,
  subscriptionKindOf,
  CONFIRMATIONS,
  MESSAGES,
} from '../commands/session-commands.js';
import { NO_FILL, FillOwner, type ReplyCache, type CachedReply } from '../cache/reply-cache.js';
import { PendingQueue } from './pending-queue.js';
import type { BackendAddress } from '../config/config.js';
import { connectToRedis, describeConnectError, type TlsClientOptions } from '../backend/connect.js';
import type { SessionObserver } from '../metrics/session-observer.js';
import type { SharedPool, SharedConnection, SharedClient } from '../backend/shared-pool.js';
import { trackingRequest, TRACKING_OFF, NO_TRACKING_NEEDED, type TrackingTarget } from '../backend/invalidation-link.js';

// One client of the proxy. Each session owns one connection to Redis, opened when the
// client connects and closed when it leaves, so SELECT, AUTH, MULTI, subscriptions and
// every other piece of connection state stay the client's own.
//
//   client ──bytes──▶ RequestDecoder ──▶ route ──┬─ forwarded bytes ──▶ Redis
//                                               └─ cache hit (no Redis)
//   client ◀── replies in request order ◀── pending queue ◀── ReplyScanner ◀── Redis
//
// The pending queue pairs each reply with its request by position (twemproxy's rule):
// a cache hit waits in the queue behind earlier requests so it can never overtake them.
// A reply that arrives with nothing pending is a protocol fault and ends the session.
//
// Connection state (user, database, protocol, transaction, subscriptions) is learnt
// from what Redis *replied*, never from what the client asked. GETs are served from
// or filled into the cache only while that state is known: no state-changing command
// in flight, not in MULTI, not watching, no own CLIENT TRACKING, no subscriptions.
// A client that does something whose replies cannot be paired any more (MONITOR,
// CLIENT REPLY OFF/SKIP, state changes queued inside MULTI) turns its session into a
// plain byte relay for the rest of its life: always correct, just never cached.

/** Like Redis's client-output-buffer-limit: 0 turns a bound off. */
export interface OutputLimit {
  hardBytes: number;
  softBytes: number;
  softSeconds: number;
}

export interface SessionLimits {
  /** proto-max-bulk-len: a longer bulk is a protocol error */
  maxBulkLen: number;
  /** client-query-buffer-limit: bytes held for one unfinished request before the client is dropped */
  queryBufferLimit: number;
  outputNormal: OutputLimit;
  outputPubsub: OutputLimit;
}

export interface SessionContext {
  addr: BackendAddress;
  tls?: TlsClientOptions;
  cache: ReplyCache | null;
  /** loaded from the backing Redis's COMMAND reply; null until then */
  commands(): CommandTable | null;
  limits: SessionLimits;
  log: Logger;
  /** metrics hook; absent when metrics are off, so the hot path pays one check */
  observer?: SessionObserver;
  /** connections shared by stateless clients; absent when multiplexing is off */
  pool?: SharedPool | null;
  /** the invalidation link that filling connections must be tracked for; absent without a cache */
  tracking?: TrackingTarget | null;
  onClose(session: ClientSession): void;
}

const enum Kind {
  /** `count` replies to forward as they are */
  Pass,
  /** a write: forward, then release its keys in the cache */
  Write,
  /** a write that may touch any key: forward, then release the whole cache */
  WriteAll,
  /** a GET that may fill the cache, followed by the PTTL the proxy added */
  Fill,
  /** a command whose success changes connection state */
  State,
  /** (un)subscribe: one confirmation per channel */
  Subscribe,
  /** a reply the proxy already has (cache hit, or its own error); needs no Redis reply */
  Ready,
  /** from here on the replies cannot be paired: relay bytes */
  Raw,
  /** the proxy's own CLIENT TRACKING on the client's connection: its reply is not the client's */
  Internal,
}

class Pending {
  kind: Kind;
  count = 1;
  /** a non-error reply proves the connection is authenticated (as "default" if no AUTH) */
  proves = true;
  /** a write's keys' slots in the cache, held until its reply (see ReplyCache.beginWrite) */
  slots: number[] | null = null;
  /** the same for a write of one key (routeSimple), or a fill's slot; -1 for none */
  slot = -1;
  reply: OutBytes | null = null;
  closeAfter = false;
  state = StateCommand.None;
  num = 0;
  flag = false;
  user: string | null = null;
  // Fill
  key = '';
  gen = 0;
  epoch = 0;
  sentAt = 0;
  /** Fill: the tracking generation its connection was tracked for when it was sent (Internal: the one it sets) */
  trackGen = NO_TRACKING_NEEDED;
  gotValue = false;
  value: CachedReply | null = null;
  valueOk = false;
  // Subscribe
  subKind = SubscriptionKind.Channel;
  /** BLPOP, XREAD BLOCK, WAIT...: may legitimately wait for a long time */
  blocking = false;
  /** ACL or password change: at its reply the shared pool checks again whether sharing is safe */
  accessChange = false;
  /** when the request was decoded (performance.now), kept only when metrics are on */
  t0 = 0;
  fromCache = false;

  constructor(kind: Kind) {
    this.kind = kind;
  }
}

const OK = Buffer.from('+OK\r\n');
/** a PTTL request up to its key's bulk */
const PTTL_HEAD = Buffer.from('*2\r\n$4\r\nPTTL\r\n');
const RESET_REPLY = Buffer.from('+RESET\r\n');
const MAX_BULK_CACHED = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
const HALF_CLOSE_GRACE_MS = 10_000;
/** after its last reply is out, how long a finished session waits for the client to close before closing itself */
const FINISH_LINGER_MS = 1000;
/** after its Redis connection died, how long a client's commands still get an error before it is closed */
const FAIL_GRACE_MS = 100;
/** up to this many bytes of small replies are copied into one buffer rather than written one by one */
const COALESCE_MAX = 64 * 1024;

/** Is `t`, a reply's first byte, an error's (`-`, or RESP3's blob error `!`)? */
function isErrorType(t: number): boolean {
  return t === 0x2d || t === 0x21;
}

function isError(frame: Buffer): boolean {
  return isErrorType(frame[0]);
}

/** The frame buf[start, end) as a Buffer of its own (see onReply). */
function frameOf(buf: Buffer, start: number, end: number, inChunk: boolean): Buffer {
  return inChunk ? buf.subarray(start, end) : buf;
}

/** Lower-cased name of an aggregate's first element when it is a short bulk string ("message", "subscribe"). */
function firstName(frame: Buffer): string {
  let p = frame.indexOf(0x0a) + 1;
  if (p <= 0 || frame[p] !== 0x24) return '';
  const cr = frame.indexOf(0x0d, p);
  const len = parseRedisInt(frame, p + 1, cr);
  if (!(len > 0 && len <= 24)) return '';
  p = cr + 2;
  return frame.toString('latin1', p, p + len).toLowerCase();
}

/** The bulk payload of a 3-element (un)subscribe confirmation's second element, or null. */
function confirmationChannel(frame: Buffer): string | null {
  let p = frame.indexOf(0x0a) + 1; // after "*3"
  p = frame.indexOf(0x0a, p) + 1; // after "$n" of the kind
  p = frame.indexOf(0x0a, p) + 1; // after the kind
  if (frame[p] !== 0x24) return null; // null channel ("_" or not a bulk)
  const cr = frame.indexOf(0x0d, p);
  const len = parseRedisInt(frame, p + 1, cr);
  if (!(len >= 0)) return null;
  return frame.toString('latin1', cr + 2, cr + 2 + len);
}

/**
 * Buffer's own latin1 encoder (what buf.write(s, at, 'latin1') ends in), called without
 * write()'s argument juggling: it was a tenth of a cached GET's cost at -P 16.
 */
interface Latin1Writable {
  latin1Write(s: string, offset: number): number;
}

/** Bytes to write: a Buffer, or a latin1 string (how the cache keeps replies). */
type OutBytes = Buffer | CachedReply;

function writeOne(socket: net.Socket, part: OutBytes): void {
  if (typeof part === 'string') socket.write(part, 'latin1');
  else socket.write(part);
}

/** Write `parts` (`bytes` in all) with one call: small ones copied into one buffer, large ones corked. */
function writeAll(socket: net.Socket, parts: OutBytes[], bytes: number): void {
  if (parts.length === 1) writeOne(socket, parts[0]);
  else if (bytes <= COALESCE_MAX) {
    const out = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const part of parts) at += typeof part === 'string' ? (out as unknown as Latin1Writable).latin1Write(part, at) : part.copy(out, at);
    socket.write(out);
  } else {
    socket.cork();
    for (const part of parts) writeOne(socket, part);
    socket.uncork();
  }
}

/** Does this command change what users may do (ACL rules, the default user's password)? */
function changesAccess(name: string, args: Buffer[]): boolean {
  if (args.length < 2) return false;
  if (name === 'acl') {
    const sub = lower(args[1]);
    return sub === 'setuser' || sub === 'deluser' || sub === 'load';
  }
  if (name !== 'config' || lower(args[1]) !== 'set') return false;
  for (let i = 2; i < args.length; i += 2) if (lower(args[i]) === 'requirepass') return true;
  return false;
}

/** For SCRIPT DEBUG: its mode argument in lower case ('' when there is not exactly one); null for any other command. */
function scriptDebugMode(name: string, args: Buffer[]): string | null {
  if (name !== 'script' || args.length < 2 || lower(args[1]) !== 'debug') return null;
  return args.length === 3 ? lower(args[2]) : '';
}

/** Is buf[off, off + len) "GET" in any case? (without making a string) */
function isGet(buf: Buffer, off: number, len: number): boolean {
  return len === 3 && (buf[off] | 0x20) === 0x67 && (buf[off + 1] | 0x20) === 0x65 && (buf[off + 2] | 0x20) === 0x74;
}

function lower(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
}

/** a client on a shared connection cannot be slowed by pausing Redis: this much unread output ends it */
const SHARED_OUTPUT_CAP = 256 * 1024 * 1024;
const QUIT_OK = Buffer.from('+OK\r\n');
/** commands that may turn the proxy's tracking on a client's connection off first */
const TRACKING_SENSITIVE = new Set(['client', 'monitor']);

export class ClientSession implements SharedClient {
  readonly client: net.Socket;
  readonly remote: string;
  private readonly ctx: SessionContext;
  private readonly observer: SessionObserver | undefined;
  private readonly decoder: RequestDecoder;
  private readonly scanner = new ReplyScanner();
  private readonly pending = new PendingQueue<Pending>();
  private backend: net.Socket | null = null;
  /** the shared connection this client uses while it holds no connection state */
  private shared: SharedConnection | null = null;
  /** replies the requests batched for the shared connection will produce */
  private sharedReplies = 0;
  /** a request that needs the client's own connection, waiting for its shared ones to finish */
  private held: { args: Buffer[]; buf: Buffer; start: number; end: number } | null = null;
  private backendUp = false;
  private backendEverUp = false;
  /** its own connection has answered once: past Redis's connection-level refusals (maxclients) */
  private backendAnswered = false;
  private backendError = '';
  private reconnectAt = 0;
  closed = false;

  // connection state, as Redis confirmed it
  private user: string | null = null;
  private db = 0;
  private proto = 2;
  private watching = false;
  private tracking = false;
  /**
   * The proxy's own tracking on the client's connection (a connection of its own; a
   * shared one tracks itself): the link generation its CLIENT TRACKING was sent for, or
   * -1; and whether Redis refused it for this user (no more tries until the user changes).
   */
  private trackedGen = -1;
  private trackingRefused = false;
  /** the entries filled under that tracking: they die with it (see FillOwner) */
  private fillOwner: FillOwner | null = null;
  private readonly subs: [Set<string>, Set<string>, Set<string>] = [new Set(), new Set(), new Set()];
  private subCount = 0;
  /** state-changing commands sent whose replies have not come back yet */
  private stateInFlight = 0;
  // transaction as predicted from what was sent (a superset of the real one)
  private inMulti = false;
  private multiKeys: string[] = [];
  private multiAllKeys = false;
  private multiChangesState = false;
  /** an ACL or password change is queued: EXEC's reply has the pool probe again */
  private multiAccessChange = false;
  /** finish() has run: the connection closes once its last reply is out */
  private finishing = false;
  private finishTimer: NodeJS.Timeout | null = null;
  /** requests are relayed without pairing (see above) */
  private rawRequests = false;
  private rawReplies = false;
  private inputStopped = false;
  private clientEnded = false;
  /** given up on its shared connection: replies still arriving there are dropped */
  private detached = false;
  /** its Redis connection died: every command gets an error until the client is closed */
  private dying = false;
  private softSince = 0;
  outputLimitHits = 0;
  /** when the client last sent bytes, and when Redis last answered (ms since epoch) */
  lastInput = Date.now();
  /** the client has sent at least one byte */
  private hasSent = false;
  private lastReply = Date.now();
  /** bytes of the unfinished request already forwarded */
  private streamed = 0;

  // reply assembly
  private partial: Buffer[] = [];
  private runBuf: Buffer = EMPTY;
  private runStart = 0;
  private runEnd = 0;
  // request forwarding
  private fwdBuf: Buffer = EMPTY;
  private fwdStart = 0;
  private fwdEnd = 0;
  private fwdOut: Buffer[] = [];
  private fwdOutBytes = 0;
  private out: OutBytes[] = [];
  private outBytes = 0;

  constructor(client: net.Socket, ctx: SessionContext) {
    this.client = client;
    this.ctx = ctx;
    this.observer = ctx.observer;
    this.remote = `${client.remoteAddress}:${client.remotePort}`;
    this.decoder = new RequestDecoder({ maxBulkLen: ctx.limits.maxBulkLen });
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.onClientData(chunk));
    client.on('drain', () => {
      // the client caught up: let both directions flow again
      this.backend?.resume();
      if (!this.inputStopped && this.held === null && !this.backend?.writableNeedDrain) this.client.resume();
      this.softSince = 0;
    });
    client.on('error', () => this.close());
    client.on('close', () => this.close());
    // A client that half-closes after sending (`printf 'PING\r\n' | nc`) still gets its
    // replies, as Redis, which answers what it read before it sees the end, would give them.
    client.on('end', () => this.onClientEnd());
    const shared = ctx.pool && ctx.commands() ? ctx.pool.pick() : null;
    if (shared) {
      // a fresh connection of a pool that needs no password: the default user, db 0, RESP2
      this.shared = shared;
      shared.join(this);
      this.backendUp = true;
      this.backendEverUp = true;
      this.user = 'default';
    } else {
      this.openBackend();
    }
  }

  private openBackend(): void {
    const socket = connectToRedis(this.ctx.addr, this.ctx.tls);
    this.backend = socket;
    this.backendUp = true; // writes before 'connect' are buffered by the socket
    socket.on(this.ctx.addr.tls ? 'secureConnect' : 'connect', () => {
      this.backendEverUp = true;
    });
    socket.on('data', (chunk: Buffer) => this.onBackendData(chunk));
    socket.on('drain', () => {
      if (!this.inputStopped) this.client.resume();
    });
    // Redis stopped tracking this connection the moment it closed it: its entries die now,
    // not a loop phase later at 'close', after GETs read in the same turn were served.
    socket.on('end', () => this.untrack());
    socket.on('error', (err: Error & { code?: string }) => {
      this.untrack();
      this.backendError = this.backendEverUp
        ? `connection to Redis lost (${err.code ?? err.message})`
        : describeConnectError(this.ctx.addr, err);
    });
    socket.on('close', () => this.onBackendClose(socket));
  }

  // ───────────────────────────── requests ─────────────────────────────

  /**
   * A read into the listener's buffer, which the next read (of any client) overwrites: the
   * cache hits at its head are answered straight from it, and only the rest is copied
   * and taken as a chunk. A hit thus costs no allocation, and nothing of the buffer is
   * kept past this call.
   */
  onClientRead(n: number, buf: Buffer): void {
    if (this.inputStopped || this.closed) return; // (read and dropped: see finish)
    this.noteInput();
    const served = this.decoder.buffered === 0 ? this.serveHitsInPlace(buf, n) : 0;
    if (served === n) {
      this.flushOut();
      this.afterInput();
      return;
    }
    // (a buffer of its own, not a slice of Node's shared pool: the decoder keeps its last
    // chunk, and an idle client would pin a whole pool slab with it)
    const chunk = Buffer.allocUnsafeSlow(n - served);
    buf.copy(chunk, 0, served, n);
    this.takeChunk(chunk);
  }

  /**
   * Answers the GETs at the head of buf[0, n) that are cache hits, as serveGet would, up to
   * the first request that is anything else (or incomplete, or not in the canonical
   * `*2\r\n$3\r\nGET\r\n$<len>\r\n<key>\r\n` form). Returns where that request starts.
   */
  private serveHitsInPlace(buf: Buffer, n: number): number {
    const cache = this.ctx.cache;
    if (this.held !== null || this.streamed > 0 || !this.canServeHit(cache)) return 0;
    const user = this.user as string; // (canServeHit: proven)
    let pos = 0;
    // the shortest request, GET of the empty key, is 19 bytes
    while (pos + 19 <= n) {
      if (
        buf[pos] !== 0x2a || buf[pos + 1] !== 0x32 || buf[pos + 2] !== 13 || buf[pos + 3] !== 10 ||
        buf[pos + 4] !== 0x24 || buf[pos + 5] !== 0x33 || buf[pos + 6] !== 13 || buf[pos + 7] !== 10 ||
        !isGet(buf, pos + 8, 3) || buf[pos + 11] !== 13 || buf[pos + 12] !== 10 || buf[pos + 13] !== 0x24
      ) {
        break;
      }
      const digits = pos + 14;
      let i = digits;
      let kl = 0;
      while (i < n && i - digits < 10 && buf[i] >= 0x30 && buf[i] <= 0x39) kl = kl * 10 + buf[i++] - 0x30;
      // (no digits or a leading zero: the decoder says what Redis would; a key within one
      // read is far below --proto-max-bulk-len, which is at least 1mb)
      if (i === digits || (buf[digits] === 0x30 && i - digits > 1)) break;
      const ko = i + 2;
      const end = ko + kl + 2;
      if (end > n || buf[i] !== 13 || buf[i + 1] !== 10 || buf[end - 2] !== 13 || buf[end - 1] !== 10) break;
      const hit = cache.lookupBytes(buf, ko, kl, user, this.db, false);
      if (hit === undefined) break; // (looked up again, and counted, by the general path)
      this.observer?.onCommand('get');
      this.serveCached(hit);
      pos = end;
    }
    return pos;
  }

  /** A read as 'data' (TLS clients, and a socket that could not be re-wrapped). */
  private onClientData(chunk: Buffer): void {
    if (this.inputStopped || this.closed) return;
    this.noteInput();
    this.takeChunk(chunk);
  }

  private noteInput(): void {
    this.lastInput = Date.now();
    this.hasSent = true;
    if (!this.backendUp) this.maybeReconnect();
  }

  /** Request bytes from the client: complete requests are taken now, the decoder keeps the unfinished rest. */
  private takeChunk(chunk: Buffer): void {
    const d = this.decoder;
    d.push(chunk);
    if (d.buffered > this.ctx.limits.queryBufferLimit) {
      this.ctx.log.warn({ client: this.remote, bytes: d.buffered }, 'closing client that reached the query buffer limit');
      this.observer?.onError('query-buffer');
      this.close();
      return;
    }
    if (this.held === null) this.processInput();
  }

  private processInput(): void {
    const d = this.decoder;
    try {
      for (;;) {
        const st = d.next();
        if (st === DecodeStatus.Incomplete) break;
        if (st === DecodeStatus.ProtocolError) {
          this.flushForward();
          this.observer?.onError('protocol');
          this.enqueueReady(encodeError(`ERR Protocol error: ${d.error}`), true);
          this.stopInput();
          break;
        }
        let start = d.requestStart;
        if (this.streamed > 0) {
          // the head of this request already went out (see streamPartial)
          start += this.streamed;
          this.streamed = 0;
        } else if (!d.inline && ((d.argc === 2 && this.serveGet(d, start)) || this.routeSimple(d, start))) {
          continue;
        }
        // Inline requests go to a connection of the client's own: Redis checks an inline
        // line's length while it is still arriving, and a refusal closes the connection.
        if (d.inline && this.shared !== null && !this.leaveShared(d.args, d.buffer, start, d.end)) break;
        this.route(d.args, d.buffer, start, d.end);
        if (this.inputStopped || this.held !== null) break;
      }
      this.flushForward();
      if (!this.inputStopped && this.held === null) this.streamPartial();
    } finally {
      this.flushBackend();
      this.flushOut();
    }
    this.afterInput();
  }

  /** After a read's requests were taken: close a dying session, or apply backpressure. */
  private afterInput(): void {
    if (this.dying) {
      // Redis is gone and every command just read got its error: close now, right behind
      // those replies, so a client that waits for them before sending more loses nothing.
      this.finish();
      return;
    }
    // Backpressure: stop reading requests while Redis or this client cannot keep up
    // (cache hits are produced without Redis, so the client's own buffer counts too).
    const backend = this.backend;
    if (!this.inputStopped && ((backend && backend.writableNeedDrain) || this.client.writableNeedDrain)) this.client.pause();
    this.checkOutputLimit();
  }

  /**
   * May this command go over a shared connection? Not if it changes or reads connection
   * state, or may block the connection. Unknown commands may: Redis only refuses them.
   */
  private shareable(name: string, args: Buffer[]): boolean {
    const table = this.ctx.commands();
    // (a session shares only once the table is loaded: see the constructor)
    // (not asked again when Redis starts requiring a password: like a connection to Redis, a
    // client that was let in without one stays in; only new clients must AUTH)
    if (table === null) return false;
    // (SCRIPT DEBUG puts the connection itself into a debugging session)
    if (scriptDebugMode(name, args) !== null) return false;
    // the route's answer, with blocking read from the subcommand where there is one
    return table.routeOf(args[0], 0, args[0].length).shareable && !table.lookup(name, args)?.flags.has('blocking');
  }

  /**
   * Move to a connection of the client's own. Its requests on the shared connection must
   * be answered first (they were sent earlier), so the request that needs the move waits
   * with everything after it, and the client is not read meanwhile.
   * Returns true when the request can be routed now.
   */
  private leaveShared(args: Buffer[], buf: Buffer, start: number, end: number): boolean {
    if (this.pending.length > 0) {
      this.held = { args, buf, start, end };
      this.client.pause();
      return false;
    }
    this.shared?.leave(this);
    this.shared = null;
    this.user = null; // a new connection: proven again by its first reply
    this.openBackend();
    return true;
  }

  /** The shared requests were all answered: continue on the client's own connection. */
  private resumeHeld(): void {
    const h = this.held;
    if (h === null || this.pending.length > 0 || this.closed) return;
    this.held = null;
    this.shared?.leave(this);
    this.shared = null;
    this.user = null;
    this.openBackend();
    try {
      this.route(h.args, h.buf, h.start, h.end);
      this.flushForward();
    } finally {
      this.flushBackend();
      this.flushOut();
    }
    if (!this.inputStopped && this.held === null) {
      this.processInput();
      if (!this.inputStopped) this.client.resume();
    }
  }

  /** Disconnect a client whose unread replies pass its class's limit, as Redis does. */
  private checkOutputLimit(): void {
    const len = this.client.writableLength;
    if (len === 0) return;
    const lim = this.subCount > 0 ? this.ctx.limits.outputPubsub : this.ctx.limits.outputNormal;
    let over = (lim.hardBytes > 0 && len > lim.hardBytes) || (this.shared !== null && len > SHARED_OUTPUT_CAP);
    if (!over && lim.softBytes > 0 && len > lim.softBytes) {
      const now = Date.now();
      if (this.softSince === 0) this.softSince = now;
      else over = now - this.softSince > lim.softSeconds * 1000;
    } else if (len <= lim.softBytes) {
      this.softSince = 0;
    }
    if (over) {
      this.ctx.log.warn({ client: this.remote, bytes: len, class: this.subCount > 0 ? 'pubsub' : 'normal' }, 'closing client over its output buffer limit');
      this.outputLimitHits++;
      this.client.destroy();
      this.close();
    }
  }

  /**
   * Send what has arrived of an unfinished request that can never be a cacheable GET
   * (not 2 arguments, or not named GET), so Redis sees the bytes as they come: it
   * checks headers before the arguments arrive (an unauthenticated client's oversized
   * multibulk is refused at once), and a large value is not held back in the proxy.
   */
  private streamPartial(): void {
    const d = this.decoder;
    const argc = d.partialArgc;
    if (argc < 0 || !this.backendUp || !this.backend || this.shared !== null) return;
    if (argc === 2 || this.trackedGen !== -1) {
      const name = d.partialName();
      if (name === null || (argc === 2 && name.length === 3 && lower(name) === 'get')) return;
      // CLIENT (TRACKING, REPLY) and MONITOR may need the proxy's CLIENT TRACKING OFF
      // ahead of them (see yieldTracking): not behind bytes already sent
      if (this.trackedGen !== -1 && (name.length === 6 || name.length === 7) && TRACKING_SENSITIVE.has(lower(name))) return;
    }
    for (const part of d.partialBytes(this.streamed)) {
      this.toBackend(part);
      this.streamed += part.length;
    }
  }

  /** Forward request bytes [start, end) of `buf`, merging adjacent requests into one write. */
  private forward(buf: Buffer, start: number, end: number): void {
    if (this.fwdBuf === buf && this.fwdEnd === start) {
      this.fwdEnd = end;
      return;
    }
    this.flushForward();
    this.fwdBuf = buf;
    this.fwdStart = start;
    this.fwdEnd = end;
  }

  private flushForward(): void {
    if (this.fwdEnd > this.fwdStart) this.toBackend(this.fwdBuf.subarray(this.fwdStart, this.fwdEnd));
    this.fwdBuf = EMPTY;
    this.fwdStart = this.fwdEnd = 0;
  }

  private route(args: Buffer[], buf: Buffer, start: number, end: number): void {
    if (!this.backendUp) {
      // Redis is unreachable: every command gets an error, in order, and nothing is lost silently.
      this.enqueueReady(encodeError(`ERR RedisProxy: ${this.backendError || 'Redis is unreachable'}`), false);
      return;
    }
    const cache = this.ctx.cache;
    // the hot path: GET key, recognised from its bytes (always shareable, never raw-only)
    if (args.length === 2 && isGet(args[0], 0, args[0].length) && !this.rawRequests) {
      this.observer?.onCommand('get');
      this.routeGet(args[1], buf, start, end, cache);
      return;
    }
    const name = lower(args[0]);
    this.observer?.onCommand(name);
    if (this.shared !== null && !this.shareable(name, args)) {
      if (name === 'quit') {
        // QUIT would close the shared connection: answer it here, as Redis would
        this.enqueueReady(QUIT_OK, true);
        this.stopInput();
        return;
      }
      if (!this.leaveShared(args, buf, start, end)) return;
    }
    if (this.rawRequests) {
      if (changesAccess(name, args)) {
        // (no reply to wait for: the pool's next probe, started after this, decides)
        this.ctx.pool?.hold();
        cache?.invalidateAll();
      } else if (cache) {
        this.invalidateNow(name, args, cache);
      }
      this.forward(buf, start, end);
      return;
    }
    const debugMode = scriptDebugMode(name, args);
    if (debugMode !== null && debugMode !== '' && debugMode !== 'no') {
      // the next EVAL opens Lua's debugger on this connection: what the client sends then
      // are debugger commands (a GET there is not Redis's GET), so everything is relayed
      this.routeUnpairable(buf, start, end);
      return;
    }
    const sc = stateCommandOf(name);
    if (sc !== StateCommand.None) {
      this.routeState(sc, name, args, buf, start, end);
      return;
    }
    const info = this.ctx.commands()?.lookup(name, args);
    const blocking = info?.flags.has('blocking') === true;
    // ACL SETUSER/DELUSER/LOAD, CONFIG SET requirepass: what a user may read changes, so the
    // cache is emptied as for a write of every key (nothing filled before it survives)
    const rules = changesAccess(name, args);
    if (rules) {
      // no new client shares a connection until the pool has probed again after it ran
      this.ctx.pool?.hold();
      if (this.inMulti) this.multiAccessChange = true;
    }
    const probeAtReply = rules && !this.inMulti;
    if (cache && (info?.writes || rules)) {
      // a write that names no key (FLUSHDB, SWAPDB, EVAL with numkeys 0, ...) may touch any key
      let keys = rules || info === undefined ? null : CommandTable.keysOf(info, args);
      if (keys !== null && keys.length === 0) keys = null;
      if (this.inMulti) {
        // queued: it runs at EXEC, whose send and reply drop these keys again
        if (keys === null) this.multiAllKeys = true;
        else for (const k of keys) this.multiKeys.push(k.toString('latin1'));
      }
      this.forward(buf, start, end);
      if (keys === null) {
        cache.beginWriteAll();
        const p = new Pending(Kind.WriteAll);
        p.blocking = blocking;
        p.accessChange = probeAtReply;
        this.push(p);
      } else {
        const p = new Pending(Kind.Write);
        p.slots = cache.beginWrite(keys.map((k) => k.toString('latin1')));
        p.blocking = blocking; // BLPOP, BLMOVE...
        this.push(p);
      }
      return;
    }
    this.forward(buf, start, end);
    if (probeAtReply) {
      // its reply asks the pool again whether a fresh connection needs a password
      const p = new Pending(Kind.Pass);
      p.accessChange = true;
      this.push(p);
      return;
    }
    if (blocking) {
      // kept apart so that --backend-timeout can tell a blocked command from a hung Redis
      const p = new Pending(Kind.Pass);
      p.blocking = true;
      this.push(p);
      return;
    }
    this.pushPass(info ? !info.noAuth : true);
  }

  /**
   * The hot path: a GET that can use the cache, looked up straight from the decoder's
   * offsets without making argument buffers; a miss goes on to Redis to fill.
   * Returns false for anything else (routed as usual).
   */
  private serveGet(d: RequestDecoder, start: number): boolean {
    const buf = d.buffer;
    const cache = this.ctx.cache;
    if (!isGet(buf, d.argOffset(0), d.argLength(0)) || !this.canServeHit(cache)) return false;
    const ko = d.argOffset(1);
    const kl = d.argLength(1);
    const hit = cache.lookupBytes(buf, ko, kl, this.user as string, this.db); // (canServeHit: proven)
    this.observer?.onCommand('get');
    if (hit === undefined) {
      // the key's bulk (header, bytes, the two bytes after) begins after "GET\r\n"
      this.fillGet(buf.toString('latin1', ko, ko + kl), null, d.argOffset(0) + 5, buf, start, d.end, cache);
      return true;
    }
    this.serveCached(hit);
    return true;
  }

  /**
   * The hot path for everything else that needs no argument buffers: a command whose
   * route is known from its name alone (see CommandRoute.simple), forwarded as it came.
   * A write's one key is read straight from the decoder's offsets. Returns false for
   * anything the general path (route) must handle.
   */
  private routeSimple(d: RequestDecoder, start: number): boolean {
    const table = this.ctx.commands();
    if (table === null || this.rawRequests || !this.backendUp) return false;
    const buf = d.buffer;
    const r = table.routeOf(buf, d.argOffset(0), d.argLength(0));
    if (!r.simple || (this.shared !== null && !r.shareable)) return false;
    const cache = this.ctx.cache;
    if (cache !== null && r.writes && d.argc < 2) return false; // (no key: the general path's "may touch any key")
    this.observer?.onCommand(r.name);
    this.forward(buf, start, d.end);
    if (cache !== null && r.writes) {
      const ko = d.argOffset(1);
      const kl = d.argLength(1);
      // queued in MULTI: it runs at EXEC, whose send and reply drop the key again
      if (this.inMulti) this.multiKeys.push(buf.toString('latin1', ko, ko + kl));
      const p = new Pending(Kind.Write);
      p.slot = cache.beginWriteKeyBytes(buf, ko, kl);
      p.blocking = r.blocking;
      this.push(p);
    } else if (r.blocking) {
      const p = new Pending(Kind.Pass);
      p.blocking = true;
      this.push(p);
    } else {
      this.pushPass(!(r.info as CommandInfo).noAuth);
    }
    return true;
  }

  /** A cache hit: the stored bulk reply, or nil in this client's protocol. */
  private serveCached(hit: CachedReply | null): void {
    this.enqueueReady(hit ?? (this.proto === 3 ? NIL_RESP3 : NIL_RESP2), false, true);
  }

  /**
   * May a GET be answered from the cache by the hot paths (serveGet, serveHitsInPlace)?
   * The cache must be usable, the user proven, requests paired and Redis up. One test for
   * both, so that a hit served in place is one the decoder's path would serve too.
   */
  private canServeHit(cache: ReplyCache | null): cache is ReplyCache {
    return this.user !== null && !this.rawRequests && this.backendUp && this.cacheUsable(cache);
  }

  /**
   * May this client's GET use the cache? (Serving also needs a proven user: see routeGet.)
   * While the user is unproven (a new connection, or after RESET) a GET may still fill:
   * if Redis answers it without an error, the connection was authenticated, and with no
   * AUTH on record that means as the default user.
   */
  private cacheUsable(cache: ReplyCache | null): cache is ReplyCache {
    return (
      cache !== null &&
      this.stateInFlight === 0 &&
      !this.inMulti &&
      !this.watching &&
      !this.tracking &&
      this.subCount === 0 &&
      cache.isReady()
    );
  }

  private routeGet(keyBuf: Buffer, buf: Buffer, start: number, end: number, cache: ReplyCache | null): void {
    if (!this.cacheUsable(cache)) {
      this.forward(buf, start, end);
      this.pushPass(true);
      return;
    }
    const user = this.user;
    const hit = user === null ? undefined : cache.lookupBytes(keyBuf, 0, keyBuf.length, user, this.db);
    if (hit !== undefined) {
      this.serveCached(hit);
      return;
    }
    this.fillGet(keyBuf.toString('latin1'), keyBuf, -1, buf, start, end, cache);
  }

  /**
   * A cache miss: forward the GET (with PTTL behind it) so its reply can fill the cache.
   * keyBulkAt: where the GET's key bulk (`$n\r\n<key>\r\n`) begins in buf, so the PTTL can
   * reuse those bytes as they came; or -1 to encode the PTTL from keyBuf.
   */
  private fillGet(key: string, keyBuf: Buffer | null, keyBulkAt: number, buf: Buffer, start: number, end: number, cache: ReplyCache): void {
    const user = this.user;
    const slot = cache.beginFill(key);
    // (may send the proxy's CLIENT TRACKING ahead of the GET)
    const trackGen = slot === NO_FILL ? -1 : this.fillTracking();
    this.forward(buf, start, end);
    if (trackGen === -1) {
      this.pushPass(true);
      return;
    }
    // PTTL rides in the same write: the key's expiry in Redis bounds the entry.
    this.flushForward();
    if (keyBulkAt >= 0) {
      this.toBackend(PTTL_HEAD);
      this.toBackend(buf.subarray(keyBulkAt, end));
    } else {
      this.toBackend(encodeCommand(['PTTL', keyBuf as Buffer]));
    }
    const p = new Pending(Kind.Fill);
    p.key = key;
    p.slot = slot;
    p.trackGen = trackGen;
    p.gen = cache.genOf(slot);
    p.epoch = cache.currentEpoch;
    p.sentAt = cache.now();
    p.user = user;
    p.num = this.db;
    this.push(p);
  }

  /**
   * May a GET sent now fill the cache? Only if Redis will report its key to the link
   * (see backend/invalidation-link.ts): on a connection of the client's own, the proxy
   * turns tracking on before the first filling GET, and again after the link came back.
   * Returns the generation the fill relies on (checked again at its reply), or -1.
   */
  private fillTracking(): number {
    const t = this.ctx.tracking;
    if (!t || t.redirectId === null) return NO_TRACKING_NEEDED;
    if (this.shared !== null) return this.shared.fillGeneration();
    if (this.trackedGen === t.generation) return t.generation;
    // (a new connection's first reply may be Redis refusing the connection itself: let it
    // reach the client as it would, not the proxy's CLIENT TRACKING)
    if (this.trackingRefused || this.backend === null || !this.backendAnswered) return -1;
    this.flushForward();
    this.toBackend(trackingRequest(t.redirectId));
    const p = new Pending(Kind.Internal);
    p.trackGen = t.generation;
    this.push(p);
    this.trackedGen = t.generation;
    this.fillOwner?.kill();
    this.fillOwner = new FillOwner();
    return t.generation;
  }

  /** Redis no longer tracks this client's connection for the proxy: its entries die. */
  private untrack(): void {
    this.trackedGen = -1;
    this.fillOwner?.kill();
    this.fillOwner = null;
  }

  /** The CLIENT TRACKING that a fill relied on was not refused after all. */
  private stillTracked(gen: number): boolean {
    if (gen === NO_TRACKING_NEEDED) return true;
    return this.shared !== null ? this.shared.stillTracked(gen) : this.trackedGen === gen;
  }

  private onTrackingReply(p: Pending, frame: Buffer): void {
    if (!isError(frame) || this.trackedGen !== p.trackGen) return;
    this.untrack();
    // the user may not (NOPERM): not again until the user changes; anything else (NOAUTH
    // before AUTH, BUSY, a redirect to a link that just died): try again at the next fill
    if (frame.toString('latin1', 1, 7) === 'NOPERM') this.trackingRefused = true;
    this.ctx.log.debug({ client: this.remote, reason: frame.toString('latin1', 1, frame.length - 2) }, 'CLIENT TRACKING refused: this client does not fill the cache');
  }

  /**
   * The client is about to change tracking on its connection itself (CLIENT TRACKING,
   * RESET), or to stop being paired. Keys it read under the proxy's tracking would no
   * longer be reported to the link, so the entries its reads filled die (fills still in
   * flight are discarded: see stillTracked). With `turnOff`, the proxy's
   * tracking is switched off first, so the client's own options (BCAST, OPTIN...) apply
   * as on a connection that never tracked.
   */
  private yieldTracking(turnOff: boolean): void {
    if (this.trackedGen === -1) return;
    this.untrack();
    if (!turnOff || this.inMulti || this.backend === null) return;
    this.flushForward();
    this.toBackend(TRACKING_OFF);
    this.push(new Pending(Kind.Internal));
  }

  private routeState(sc: StateCommand, name: string, args: Buffer[], buf: Buffer, start: number, end: number): void {
    const cache = this.ctx.cache;
    switch (sc) {
      case StateCommand.Client: {
        const sub = args.length > 1 ? lower(args[1]) : '';
        if (sub === 'reply') return this.routeUnpairable(buf, start, end);
        if (sub === 'tracking' && args.length > 2) {
          if (this.inMulti) this.multiChangesState = true; // queued: takes effect at EXEC
          const p = this.stateEntry(sc);
          p.flag = lower(args[2]) === 'on';
          this.yieldTracking(p.flag);
          this.forward(buf, start, end);
          return this.pushState(p);
        }
        this.forward(buf, start, end);
        return this.pushPass(true);
      }
      case StateCommand.Monitor:
        return this.routeUnpairable(buf, start, end);
      case StateCommand.Quit:
        // Redis answers +OK, closes, and reads nothing after QUIT
        this.forward(buf, start, end);
        this.pushPass(false);
        this.stopInput();
        return;
      case StateCommand.Subscribe:
      case StateCommand.Unsubscribe: {
        this.forward(buf, start, end);
        if (this.inMulti) {
          this.multiChangesState = true;
          return this.pushPass(true);
        }
        const p = new Pending(Kind.Subscribe);
        p.subKind = subscriptionKindOf(name);
        // SUBSCRIBE a b → 2 confirmations; UNSUBSCRIBE with no channel → one per
        // subscribed channel, counted when it reaches the head (0 marks "count then").
        p.count = args.length > 1 ? args.length - 1 : sc === StateCommand.Subscribe ? 1 : 0;
        this.stateInFlight++;
        this.push(p);
        return;
      }
      case StateCommand.Exec: {
        this.forward(buf, start, end);
        if (!this.inMulti) {
          return this.pushState(this.stateEntry(sc));
        }
        const keys = this.multiKeys;
        const allKeys = this.multiAllKeys;
        const changesState = this.multiChangesState;
        const accessChange = this.multiAccessChange;
        this.setMulti(false);
        if (changesState) {
          // a plain relay from here on: no reply to wait for, drop the keys as EXEC is sent
          if (cache && allKeys) cache.invalidateAll();
          if (cache) for (const k of keys) cache.invalidate(k);
          return this.goRaw();
        }
        const p = this.stateEntry(sc);
        p.accessChange = accessChange;
        if (cache) {
          if (allKeys) {
            cache.beginWriteAll();
            p.flag = true;
          } else if (keys.length > 0) {
            p.slots = cache.beginWrite(keys);
          }
        }
        return this.pushState(p);
      }
      default:
        break;
    }
    const p = this.stateEntry(sc);
    switch (sc) {
      case StateCommand.Select:
        p.num = args.length === 2 ? parseRedisInt(args[1], 0, args[1].length) : NaN;
        break;
      case StateCommand.Auth:
        p.user = args.length === 3 ? args[1].toString('latin1') : 'default';
        p.proves = false;
        break;
      case StateCommand.Hello: {
        p.num = args.length > 1 ? parseRedisInt(args[1], 0, args[1].length) : 0;
        for (let i = 2; i < args.length; i++) {
          const opt = lower(args[i]);
          if (opt === 'auth' && i + 2 < args.length) {
            p.user = args[i + 1].toString('latin1');
            i += 2;
          } else if (opt === 'setname') {
            i += 1;
          }
        }
        p.proves = false;
        break;
      }
      case StateCommand.Multi:
        if (!this.inMulti) this.setMulti(true);
        break;
      case StateCommand.Discard:
        if (this.inMulti) this.setMulti(false);
        break;
      case StateCommand.Reset:
        // RESET is never queued: it ends a transaction at once; it turns tracking off
        this.yieldTracking(false);
        this.setMulti(false);
        p.proves = false;
        break;
      default:
        break;
    }
    if (this.inMulti && (sc === StateCommand.Select || sc === StateCommand.Auth || sc === StateCommand.Hello)) {
      // queued: takes effect at EXEC, where we can no longer tell what it did
      this.multiChangesState = true;
    }
    this.forward(buf, start, end);
    this.pushState(p);
  }

  /** MONITOR, CLIENT REPLY, SCRIPT DEBUG: replies stop matching requests one to one (or requests are not Redis commands). */
  private routeUnpairable(buf: Buffer, start: number, end: number): void {
    // (its later CLIENT TRACKING would be unseen, and must find the connection as Redis left it)
    if (!this.inMulti) this.yieldTracking(true);
    this.forward(buf, start, end);
    if (this.inMulti) {
      this.multiChangesState = true;
      this.pushPass(true);
      return;
    }
    this.goRaw();
  }

  private goRaw(): void {
    this.yieldTracking(false);
    this.rawRequests = true;
    this.push(new Pending(Kind.Raw));
    this.ctx.log.debug({ client: this.remote }, 'session relays raw bytes from now on (unpairable replies)');
  }

  /** In raw mode there are no replies to wait for: drop a write's keys as it is sent. */
  private invalidateNow(name: string, args: Buffer[], cache: ReplyCache): void {
    const info = this.ctx.commands()?.lookup(name, args);
    if (!info?.writes && stateCommandOf(name) !== StateCommand.Exec) return;
    const keys = info?.writes ? CommandTable.keysOf(info, args) : null;
    if (keys === null || keys.length === 0) cache.invalidateAll();
    else for (const k of keys) cache.invalidate(k.toString('latin1'));
  }

  /** Enter or leave the (predicted) transaction; either way nothing is queued in it yet. */
  private setMulti(on: boolean): void {
    this.inMulti = on;
    this.multiKeys = [];
    this.multiAllKeys = false;
    this.multiChangesState = false;
    this.multiAccessChange = false;
  }


  private stateEntry(sc: StateCommand): Pending {
    const p = new Pending(Kind.State);
    p.state = sc;
    return p;
  }

  private pushState(p: Pending): void {
    this.stateInFlight++;
    this.push(p);
  }

  private pushPass(proves: boolean): void {
    const last = this.pending.last();
    // (with metrics on, each request keeps its own entry for its latency)
    if (last !== undefined && last.kind === Kind.Pass && last.proves === proves && !last.blocking && !last.accessChange && !this.observer) {
      last.count++;
      if (this.shared !== null) this.sharedReplies++;
      return;
    }
    const p = new Pending(Kind.Pass);
    p.proves = proves;
    this.push(p);
  }

  private push(p: Pending): void {
    if (this.pending.length === 0) this.lastReply = Date.now(); // the wait for Redis starts now
    if (this.observer) p.t0 = performance.now();
    if (this.shared !== null) this.sharedReplies += p.kind === Kind.Fill ? 2 : p.kind === Kind.Ready ? 0 : 1;
    this.pending.push(p);
  }

  private observeDone(p: Pending): void {
    this.observer?.onReply((performance.now() - p.t0) / 1000, p.fromCache);
  }

  /** A reply the proxy already has: written now if nothing is ahead of it, else queued. */
  private enqueueReady(reply: OutBytes, closeAfter: boolean, fromCache = false): void {
    if (this.pending.length === 0) {
      this.flushRun();
      this.toClient(reply);
      this.observer?.onReply(0, fromCache);
      if (closeAfter) this.finish();
      return;
    }
    const p = new Pending(Kind.Ready);
    p.reply = reply;
    p.closeAfter = closeAfter;
    p.fromCache = fromCache;
    this.push(p);
  }

  private onClientEnd(): void {
    this.inputStopped = true;
    if (this.pending.length === 0) {
      this.finish();
      return;
    }
    this.clientEnded = true;
    // a blocked command may never answer: do not keep the session for it
    setTimeout(() => this.close(), HALF_CLOSE_GRACE_MS).unref();
  }

  private stopInput(): void {
    this.inputStopped = true;
    this.client.pause();
  }

  // ───────────────────────────── replies ─────────────────────────────

  private onBackendData(chunk: Buffer): void {
    if (this.closed) return;
    this.backendAnswered = true;
    const client = this.client;
    try {
      let pos = 0;
      while (pos < chunk.length) {
        if (this.rawReplies) {
          this.emitRun(chunk, pos, chunk.length);
          break;
        }
        const end = this.scanner.scan(chunk, pos);
        if (end < 0) {
          this.partial.push(pos === 0 ? chunk : chunk.subarray(pos));
          break;
        }
        if (this.partial.length > 0) {
          this.partial.push(chunk.subarray(pos, end));
          const frame = Buffer.concat(this.partial);
          this.partial = [];
          this.onReply(frame, 0, frame.length, false);
        } else {
          this.onReply(chunk, pos, end, true);
        }
        pos = end;
        if (this.closed) return;
      }
      this.flushRun();
    } catch (err) {
      this.fault(err instanceof ReplyProtocolError ? `bad reply from Redis: ${err.message}` : String(err));
      return;
    } finally {
      this.flushOut();
    }
    // A client that cannot keep up slows its own Redis connection, except a subscriber:
    // messages are not requested, so like Redis the proxy buffers them and lets the
    // pub/sub output limit cut a subscriber that falls too far behind.
    if (client.writableNeedDrain && this.subCount === 0 && this.backend) {
      // A paused socket shows no end until it is read again: if Redis closed it meanwhile
      // (its output limit, timeout, CLIENT KILL), its tracking would be gone unseen. So
      // what was filled through it dies now, and the next fill tracks it again.
      this.untrack();
      this.backend.pause();
    }
    this.lastReply = Date.now();
    this.checkOutputLimit();
  }

  /** Send a reply frame to the client; frames adjacent in one chunk go out as one slice. */
  private emit(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    if (inChunk) this.emitRun(buf, start, end);
    else {
      this.flushRun();
      this.toClient(buf);
    }
  }

  private emitRun(chunk: Buffer, start: number, end: number): void {
    if (this.runBuf === chunk && this.runEnd === start) {
      this.runEnd = end;
      return;
    }
    this.flushRun();
    this.runBuf = chunk;
    this.runStart = start;
    this.runEnd = end;
  }

  /** Replies produced while handling one read go out in a single write (see flushOut). */
  private toClient(bytes: OutBytes): void {
    this.out.push(bytes);
    this.outBytes += bytes.length;
  }

  private flushOut(): void {
    const n = this.out.length;
    if (n === 0) return;
    const client = this.client;
    if (!client.writableEnded && !client.destroyed) writeAll(client, this.out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
  }

  /** Request bytes for Redis, likewise sent in one write per client read. */
  private toBackend(bytes: Buffer): void {
    this.fwdOut.push(bytes);
    this.fwdOutBytes += bytes.length;
  }

  private flushBackend(): void {
    const n = this.fwdOut.length;
    if (n === 0) return;
    if (this.shared !== null) {
      // one client's batch goes out whole, so no other client's bytes land inside a request
      const more = this.shared.send(this, n === 1 ? this.fwdOut[0] : Buffer.concat(this.fwdOut, this.fwdOutBytes), this.sharedReplies);
      if (!more) this.client.pause(); // resumed by onSharedDrain
      this.sharedReplies = 0;
      this.fwdOut = [];
      this.fwdOutBytes = 0;
      return;
    }
    const backend = this.backend;
    if (backend && !backend.destroyed) writeAll(backend, this.fwdOut, this.fwdOutBytes);
    this.fwdOut = [];
    this.fwdOutBytes = 0;
  }

  private flushRun(): void {
    if (this.runEnd > this.runStart) this.toClient(this.runBuf.subarray(this.runStart, this.runEnd));
    this.runBuf = EMPTY;
    this.runStart = this.runEnd = 0;
  }

  /**
   * One reply frame: buf[start, end). inChunk: buf is the socket's chunk, so adjacent frames
   * can go out as one slice; otherwise buf is the frame alone (it spanned reads). The hot
   * kinds read the frame where it lies; the others get it as its own Buffer.
   */
  private onReply(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    const t = buf[start];
    // Out-of-band: RESP3 pushes (pub/sub messages, the client's own invalidations) and
    // RESP2 messages on a subscribed connection belong to no request.
    if (t === 0x3e) {
      const head = this.pending.peek();
      const name = firstName(frameOf(buf, start, end, inChunk));
      // the proxy's tracking lost its link: Redis tells the tracked connection, not the client
      if (name === 'tracking-redir-broken' && !this.tracking) return;
      if (head === undefined || head.kind !== Kind.Subscribe || !CONFIRMATIONS.has(name)) {
        this.emit(buf, start, end, inChunk);
        return;
      }
    } else if (t === 0x2a && this.subCount > 0 && this.proto === 2 && MESSAGES.has(firstName(frameOf(buf, start, end, inChunk)))) {
      this.emit(buf, start, end, inChunk);
      return;
    }
    const p = this.pending.peek();
    if (p === undefined && this.streamed > 0) {
      // Redis refused the unfinished request it was streamed (a protocol error): pass it on
      this.emit(buf, start, end, inChunk);
      return;
    }
    if (p === undefined) {
      this.fault('a reply arrived with no request pending');
      return;
    }
    const cache = this.ctx.cache;
    switch (p.kind) {
      case Kind.Pass:
        this.emit(buf, start, end, inChunk);
        this.proveAuth(p, t);
        if (--p.count > 0) return;
        if (p.accessChange) this.ctx.pool?.probeNow();
        break;
      case Kind.Write:
        this.emit(buf, start, end, inChunk);
        this.proveAuth(p, t);
        this.endWrite(p, cache);
        break;
      case Kind.WriteAll:
        this.emit(buf, start, end, inChunk);
        this.proveAuth(p, t);
        cache?.endWriteAll();
        p.flag = true;
        if (p.accessChange) this.ctx.pool?.probeNow();
        break;
      case Kind.Fill:
        if (!p.gotValue) {
          this.emit(buf, start, end, inChunk);
          this.proveAuth(p, t);
          p.gotValue = true;
          if (t === 0x24 && buf[start + 1] !== 0x2d) {
            // a copy (a slice would keep the whole socket chunk alive in the cache)
            p.value = end - start <= MAX_BULK_CACHED ? buf.toString('latin1', start, end) : null;
            p.valueOk = p.value !== null;
          } else if (t === 0x5f || (t === 0x24 && buf[start + 1] === 0x2d)) {
            p.value = null;
            p.valueOk = true;
          }
          return;
        }
        // the PTTL the proxy added: never shown to the client
        this.completeFill(p, buf, start, end, cache);
        break;
      case Kind.State:
        this.emit(buf, start, end, inChunk);
        this.applyState(p, frameOf(buf, start, end, inChunk), cache);
        this.stateInFlight--;
        if (p.accessChange) this.ctx.pool?.probeNow();
        break;
      case Kind.Subscribe:
        this.emit(buf, start, end, inChunk);
        if (this.onConfirmation(p, frameOf(buf, start, end, inChunk))) return;
        this.stateInFlight--;
        break;
      case Kind.Raw:
        // everything from here on is relayed as it comes
        this.pending.shift();
        this.rawReplies = true;
        this.emit(buf, start, end, inChunk);
        return;
      case Kind.Internal:
        this.onTrackingReply(p, frameOf(buf, start, end, inChunk));
        break;
      default:
        this.fault(`reply arrived for a request that expects none (kind ${p.kind})`);
        return;
    }
    this.pending.shift();
    // (the proxy's own CLIENT TRACKING is no client command to time)
    if (this.observer && p.kind !== Kind.Internal) this.observeDone(p);
    this.drainReady();
    if (this.pending.length === 0) {
      if (this.clientEnded) this.finish();
      else if (this.held !== null) this.resumeHeld();
    }
  }

  /** t: the reply's first byte */
  private proveAuth(p: Pending, t: number): void {
    if (this.user === null && p.proves && !isErrorType(t)) this.user = 'default';
  }

  private completeFill(p: Pending, buf: Buffer, start: number, end: number, cache: ReplyCache | null): void {
    const slot = p.slot;
    p.slot = -1;
    if (!cache) return;
    let ttl = NaN;
    if (buf[start] === 0x3a) ttl = parseRedisInt(buf, start + 1, end - 2);
    // A value needs a live key (-1: no expiry, >= 0: ms left); a nil needs a missing key (-2).
    const consistent = p.valueOk && (p.value !== null ? ttl === -1 || ttl >= 0 : ttl === -2);
    if (!consistent || !this.stillTracked(p.trackGen)) return;
    // (on a shared connection, or in ttl mode, the owner is the pool's, or nobody's)
    const owner = this.shared === null && p.trackGen !== NO_TRACKING_NEEDED ? this.fillOwner : null;
    // an unproven user was proven by this very GET's reply (see cacheUsable)
    cache.completeFill(p.key, slot, p.gen, p.epoch, p.sentAt, p.user ?? 'default', p.num, p.value, ttl >= 0 ? ttl : null, owner);
  }

  /** Returns true while the subscribe entry still waits for more confirmations. */
  private onConfirmation(p: Pending, frame: Buffer): boolean {
    if (isError(frame)) return false; // one error answers the whole command
    const set = this.subs[p.subKind];
    // at the head, every earlier confirmation is in: the set is what Redis will unsubscribe
    if (p.count === 0) p.count = Math.max(1, set.size);
    const kind = firstName(frame);
    const channel = confirmationChannel(frame);
    if (kind.startsWith('un')) {
      if (channel !== null) set.delete(channel);
    } else if (channel !== null) {
      set.add(channel);
    }
    this.subCount = this.subs[0].size + this.subs[1].size + this.subs[2].size;
    return --p.count > 0;
  }

  private applyState(p: Pending, frame: Buffer, cache: ReplyCache | null): void {
    const ok = frame.equals(OK);
    switch (p.state) {
      case StateCommand.Select:
        if (ok) this.db = p.num;
        break;
      case StateCommand.Auth:
        if (ok) {
          this.user = p.user;
          this.trackingRefused = false; // another user may be allowed CLIENT TRACKING
        }
        break;
      case StateCommand.Hello:
        // success is the server's map (RESP3) or array (RESP2)
        if (frame[0] === 0x25 || frame[0] === 0x2a) {
          if (p.num === 2 || p.num === 3) this.proto = p.num;
          if (p.user !== null) {
            this.user = p.user;
            this.trackingRefused = false;
          } else if (this.user === null) this.user = 'default';
        }
        break;
      case StateCommand.Reset:
        if (frame.equals(RESET_REPLY)) {
          this.user = null; // the default user, if it needs no password; proven again by the next reply
          this.db = 0;
          this.proto = 2;
          this.watching = false;
          this.tracking = false;
          this.trackingRefused = false; // (back to the default user)
          for (const s of this.subs) s.clear();
          this.subCount = 0;
        }
        break;
      case StateCommand.Multi:
        if (isError(frame) && !frame.includes('nested')) {
          // MULTI was refused: nothing is queued after all
          this.setMulti(false);
        }
        break;
      case StateCommand.Exec:
        this.endWrite(p, cache);
        if (p.flag) cache?.endWriteAll();
        if (!(isError(frame) && frame.includes('without MULTI'))) this.watching = false;
        break;
      case StateCommand.Discard:
        if (ok) this.watching = false;
        break;
      case StateCommand.Watch:
        if (ok) this.watching = true;
        break;
      case StateCommand.Unwatch:
        if (ok) this.watching = false;
        break;
      case StateCommand.Client:
        if (ok) this.tracking = p.flag;
        break;
      default:
        break;
    }
    if (ok && p.proves) this.proveAuth(p, frame[0]);
  }

  /** Write out every reply that is ready at the head of the queue. */
  private drainReady(): void {
    for (;;) {
      const head = this.pending.peek();
      if (head === undefined) return;
      if (head.kind === Kind.Ready) {
        this.pending.shift();
        if (this.observer) this.observeDone(head);
        this.flushRun();
        this.toClient(head.reply as OutBytes);
        if (head.closeAfter) {
          this.finish();
          return;
        }
      } else if (head.kind === Kind.Raw) {
        this.pending.shift();
        this.rawReplies = true;
      } else {
        return;
      }
    }
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  /**
   * Called about every quarter second by the listener, only when a timeout is set.
   * idleMs: close a client silent for that long (not while subscribed or waiting for
   * Redis, as Redis's `timeout` spares pub/sub and blocked clients).
   * backendMs: a command Redis has not answered in that long (blocking ones excepted)
   * fails, and the client with it: its reply stream can no longer be paired.
   */
  sweep(now: number, idleMs: number, backendMs: number): void {
    if (this.closed) return;
    const waiting = this.pending.length > 0;
    if (idleMs > 0 && !waiting && this.subCount === 0 && !this.rawRequests && now - this.lastInput > idleMs) {
      this.ctx.log.debug({ client: this.remote }, 'closing idle client');
      this.close();
      return;
    }
    if (backendMs > 0 && waiting && !this.rawReplies && now - this.lastReply > backendMs) {
      const head = this.pending.peek() as Pending;
      if (head.blocking || head.kind === Kind.Subscribe) return;
      this.backendError = `Redis did not answer within ${backendMs} ms (--backend-timeout)`;
      this.ctx.log.warn({ client: this.remote, timeoutMs: backendMs }, 'backend timeout: failing the commands in flight');
      this.observer?.onError('backend-timeout');
      if (this.shared !== null) {
        // the shared connection stays: its late replies for this client are dropped
        this.failInFlight(true);
        return;
      }
      const backend = this.backend;
      if (backend) this.onBackendClose(backend, true);
      backend?.destroy();
    }
  }

  private maybeReconnect(): void {
    const now = Date.now();
    if (this.backendEverUp || now < this.reconnectAt || this.closed) return;
    this.reconnectAt = now + 250;
    this.openBackend();
  }

  private onBackendClose(socket: net.Socket, timedOut = false): void {
    if (socket !== this.backend || this.closed || (!this.backendUp && !timedOut)) return;
    this.failInFlight(timedOut);
  }

  // ── as a client of a shared connection (see backend/shared-pool.ts) ──

  onSharedReply(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    if (this.detached) return;
    this.onReply(buf, start, end, inChunk);
  }

  flushReplies(): void {
    this.flushRun();
    this.flushOut();
    this.lastReply = Date.now();
    this.checkOutputLimit();
  }

  onSharedDrain(): void {
    if (!this.inputStopped && this.held === null && !this.client.writableNeedDrain) this.client.resume();
  }

  onSharedLost(reason: string): void {
    if (this.closed || this.detached) return;
    this.backendError = reason;
    if (this.pending.length > 0 || this.held !== null || this.hasSent) {
      // As a direct client of a Redis that died would: errors for what was in flight,
      // then the connection closes.
      this.failInFlight(false);
      return;
    }
    // A client that has sent nothing yet (it connected as Redis died) has lost nothing:
    // it goes on with a connection of its own, and gets a clear error for each command
    // while Redis is down, never a silent close.
    this.shared = null;
    this.user = null;
    this.backendEverUp = false;
    this.openBackend();
    if (!this.inputStopped && this.held === null) this.client.resume();
  }

  /** The connection to Redis is gone (or given up on): answer what is in flight, then end. */
  private failInFlight(timedOut: boolean): void {
    this.untrack(); // (the connection is gone or given up on: so is its tracking)
    this.detached = this.shared !== null;
    this.backendUp = false;
    const reason = this.backendError || 'connection to Redis closed';
    // Everything in flight gets its reply: the ones we hold, an error for the rest.
    this.flushRun();
    this.partial = [];
    const err = encodeError(`ERR RedisProxy: ${reason}`);
    if (this.pending.length > 0 && !timedOut) this.observer?.onError('backend-lost');
    let closeAfter = false;
    for (const p of this.pending.drain()) {
      this.releaseEntry(p);
      switch (p.kind) {
        case Kind.Ready:
          this.toClient(p.reply as OutBytes);
          closeAfter ||= p.closeAfter;
          break;
        case Kind.Raw:
        case Kind.Internal:
          break;
        case Kind.Fill:
          if (!p.gotValue) this.toClient(err);
          break;
        default:
          for (let i = 0; i < Math.max(1, p.count); i++) this.toClient(err);
      }
    }
    if (closeAfter) {
      this.finish();
      return;
    }
    if (this.backendEverUp || this.rawReplies || timedOut) {
      // Its state (db, MULTI, subscriptions) died with the connection: so does the client's.
      // Commands already on their way (in the socket, not yet read) still get an error:
      // the client is closed a moment later, not at once.
      this.flushOut();
      // it may have been paused waiting for a drain that will never come
      if (!this.inputStopped) this.client.resume();
      if (!this.dying) {
        this.dying = true;
        // (the close waits one more turn of the event loop, so that bytes already in the
        // socket when the grace ends are read and answered first)
        setTimeout(() => setImmediate(() => this.finish()), FAIL_GRACE_MS).unref();
      }
      return;
    }
    // never connected: the client has no state yet, so a later command may retry
    this.flushOut();
    this.reconnectAt = Date.now() + 250;
  }

  /** A write's (or EXEC's) reply is in, or will never come: release its keys, once. */
  private endWrite(p: Pending, cache: ReplyCache | null): void {
    if (p.slots !== null) cache?.endWrite(p.slots);
    else if (p.slot >= 0) cache?.endWriteSlot(p.slot);
    p.slots = null;
    p.slot = -1;
  }

  /** Release whatever the cache holds for an entry that will never get its reply. */
  private releaseEntry(p: Pending): void {
    const cache = this.ctx.cache;
    if (!cache) return;
    if (p.kind === Kind.Write) {
      this.endWrite(p, cache);
    } else if (p.kind === Kind.WriteAll && !p.flag) {
      cache.endWriteAll();
      p.flag = true;
    } else if (p.kind === Kind.State && p.state === StateCommand.Exec) {
      this.endWrite(p, cache);
      if (p.flag) cache.endWriteAll();
      p.flag = false;
    }
  }

  private fault(reason: string): void {
    this.observer?.onError('reply-fault');
    this.ctx.log.warn({ client: this.remote, reason }, 'closing client after a protocol fault');
    this.client.destroy();
    this.close();
  }

  /** Flush what was written, then close both sides. */
  private finish(): void {
    this.inputStopped = true;
    this.untrack(); // (its connection is about to close)
    this.flushRun();
    this.flushOut();
    this.client.end();
    this.backend?.destroy();
    // Like Redis, close once the last reply is out, without waiting long for the client to
    // close its side: one that keeps sending would keep its slot forever. What it still
    // sends is read and dropped, since bytes left unread would turn the close into a reset,
    // which can destroy the last reply before the client reads it.
    if (this.finishing) return;
    this.finishing = true;
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
    this.closed = true;
    if (this.finishTimer) clearTimeout(this.finishTimer);
    this.untrack();
    this.shared?.leave(this);
    for (const p of this.pending.drain()) this.releaseEntry(p);
    this.backend?.destroy();
    if (!this.client.destroyed) this.client.destroy();
    this.ctx.onClose(this);
  }

  /** false while the client rides a shared connection */
  get ownsConnection(): boolean {
    return this.shared === null && this.backend !== null;
  }

  /** Graceful shutdown: stop reading new requests; resolve once nothing is in flight. */
  get idle(): boolean {
    return this.pending.length === 0;
  }

  stopReading(): void {
    this.stopInput();
  }
}
