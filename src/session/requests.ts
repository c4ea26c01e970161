import { encodeCommand } from '../resp/encode.js';
import type { RequestDecoder } from '../resp/request-decoder.js';
import { CommandTable, type CommandInfo } from '../commands/command-table.js';
import { StateCommand, stateCommandOf } from '../commands/session-commands.js';
import type { ReplyCache } from '../cache/reply-cache.js';
import { Kind, Pending } from './pending.js';
import { StateRouter } from './state-routes.js';
import type { ClientSession } from './session.js';
import { routeMget } from './mget.js';
import { isHelloAuth } from './auth-check.js';

// The request side of a session: where each decoded command goes. Forwarded as it came
// (to the session's upstream, in one write per read), answered from the cache, or held
// while the session moves from a shared connection to one of its own. Every request
// leaves one record in the pending queue (session/pending.ts), so replies, from Redis or
// from the cache, reach the client in request order.
//
//   GET k (hit)     ──▶ Ready record with the cached reply (waits behind earlier requests)
//   GET k (miss)    ──▶ GET + PTTL forwarded, Fill record with the cache's ticket
//   MGET k1 k2...   ──▶ all hits: Ready record; else the missing keys' MGET + PTTLs, Mget record (mget.ts)
//   SET k v         ──▶ forwarded, Write record holding k (released at the reply)
//   SELECT, AUTH... ──▶ forwarded, State record (applied if Redis says it succeeded)
//   anything else   ──▶ forwarded, Pass record

/** a PTTL request up to its key's bulk */
const PTTL_HEAD = Buffer.from('*2\r\n$4\r\nPTTL\r\n');
const QUIT_OK = Buffer.from('+OK\r\n');

/** Is buf[off, off + len) "GET" in any case? (without making a string) */
export function isGet(buf: Buffer, off: number, len: number): boolean {
  return len === 3 && (buf[off] | 0x20) === 0x67 && (buf[off + 1] | 0x20) === 0x65 && (buf[off + 2] | 0x20) === 0x74;
}

export function lower(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
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

/**
 * Does a command flagged `blocking` in COMMAND block as sent? XREAD and XREADGROUP carry the
 * flag but block only with a BLOCK option (before STREAMS); the others always may.
 */
function blocksWith(name: string, args: Buffer[]): boolean {
  if (name !== 'xread' && name !== 'xreadgroup') return true;
  for (let i = 1; i < args.length; i++) {
    if (args[i].length === 7 && lower(args[i]) === 'streams') return false;
    if (args[i].length === 5 && lower(args[i]) === 'block') return true;
  }
  return false;
}

/** For SCRIPT DEBUG: its mode argument in lower case ('' when there is not exactly one); null for any other command. */
function scriptDebugMode(name: string, args: Buffer[]): string | null {
  if (name !== 'script' || args.length < 2 || lower(args[1]) !== 'debug') return null;
  return args.length === 3 ? lower(args[2]) : '';
}

export class RequestRouter {
  private readonly states: StateRouter;
  /** the request being routed had its head streamed to Redis already (see RequestReader.streamPartial) */
  headSent = false;

  constructor(private readonly s: ClientSession) {
    this.states = new StateRouter(s);
  }

  /**
   * May a GET be answered from the cache by the hot paths (serveGet, serveHitsInPlace)?
   * The cache must be usable, the user proven, requests paired and Redis up. One test for
   * both, so that a hit served in place is one the decoder's path would serve too.
   */
  canServeHit(cache: ReplyCache | null): cache is ReplyCache {
    return this.s.state.user !== null && !this.s.relaysRequests && this.cacheUsable(cache);
  }

  /** Does the upstream let the cache answer this client's GET of buf[off, off + len) (Upstream.mayServe)? */
  servesKey(buf: Buffer, off: number, len: number): boolean {
    const up = this.s.upstream;
    return up === null || up.mayServe === undefined || up.mayServe(buf, off, len);
  }

  /**
   * May this client's GET use the cache? (Serving also needs a proven user.) While the user
   * is unproven (a new connection, or after RESET) a GET may still fill: if Redis answers it
   * without an error, the connection was authenticated, and with no AUTH on record that
   * means as the default user.
   */
  cacheUsable(cache: ReplyCache | null): cache is ReplyCache {
    return cache !== null && this.s.state.settled && cache.isReady();
  }

  /**
   * The hot path: a GET that can use the cache, looked up straight from the decoder's
   * offsets without making argument buffers; a miss goes on to Redis to fill.
   * Returns false for anything else (routed as usual).
   */
  serveGet(d: RequestDecoder, start: number): boolean {
    const s = this.s;
    const buf = d.buffer;
    const cache = s.ctx.cache;
    if (!isGet(buf, d.argOffset(0), d.argLength(0)) || !this.canServeHit(cache)) return false;
    const ko = d.argOffset(1);
    const kl = d.argLength(1);
    if (!this.servesKey(buf, ko, kl)) return false;
    const hit = cache.lookupBytes(buf, ko, kl, s.state.user as string, s.state.db); // (canServeHit: proven)
    s.observer?.onCommand('get');
    if (hit === undefined) {
      // the key's bulk (header, bytes, the two bytes after) begins after "GET\r\n"
      this.fillGet(buf.toString('latin1', ko, ko + kl), null, d.argOffset(0) + 5, buf, start, d.end, cache);
      return true;
    }
    s.serveCached(hit);
    return true;
  }

  /**
   * The hot path for everything else that needs no argument buffers: a command whose
   * route is known from its name alone (see CommandRoute.simple), forwarded as it came.
   * A write's one key is read straight from the decoder's offsets. Returns false for
   * anything the general path (route) must handle.
   */
  routeSimple(d: RequestDecoder, start: number): boolean {
    const s = this.s;
    const table = s.ctx.commands();
    if (table === null || s.relaysRequests) return false;
    const buf = d.buffer;
    const r = table.routeOf(buf, d.argOffset(0), d.argLength(0));
    // (a shared seat with no user yet is AwaitingAuth's: nothing goes there, see route)
    if (!r.simple || (s.upstream?.shared === true && (!r.shareable || s.state.user === null))) return false;
    const cache = s.ctx.cache;
    // (MGET through the cache needs its keys as buffers: see routeMget)
    if (cache !== null && r.name === 'mget' && this.cacheUsable(cache)) return false;
    if (cache !== null && r.writes && d.argc < 2) return false; // (no key: the general path's "may touch any key")
    s.observer?.onCommand(r.name);
    s.forward(buf, start, d.end);
    if (cache !== null && r.writes) {
      const ko = d.argOffset(1);
      const kl = d.argLength(1);
      // queued in MULTI: it runs at EXEC, whose send and reply drop the key again
      s.state.multi?.keys.push(buf.toString('latin1', ko, ko + kl));
      s.pending.pushWrite(cache, cache.holdSlotBytes(buf, ko, kl), r.blocking && s.state.multi === null);
    } else if (r.blocking && s.state.multi === null) {
      s.pending.pushBlocking();
    } else {
      s.pending.pushPass(!(r.info as CommandInfo).noAuth);
    }
    return true;
  }

  /** The general path: any command, with its arguments as buffers. */
  route(args: Buffer[], buf: Buffer, start: number, end: number): void {
    const s = this.s;
    const cache = s.ctx.cache;
    // the hot path: GET key, recognised from its bytes (always shareable, never raw-only;
    // not from a shared seat with no user yet, AwaitingAuth's, which takes no request)
    if (args.length === 2 && isGet(args[0], 0, args[0].length) && !s.relaysRequests && (s.state.user !== null || s.upstream?.shared !== true)) {
      s.observer?.onCommand('get');
      this.routeGet(args[1], buf, start, end, cache);
      return;
    }
    const name = lower(args[0]);
    s.observer?.onCommand(name);
    if (s.upstream?.shared === true && (s.state.user === null || !this.shareable(name, args))) {
      // (checked off the shared connection; on +OK the session moves to its user's pool)
      if ((name === 'auth' || (name === 'hello' && isHelloAuth(args))) && s.moves.verifyAuth(args, buf, start, end)) return;
      if (name === 'quit') {
        // QUIT would close the shared connection: answer it here, as Redis would
        s.enqueueReady(QUIT_OK, true);
        s.stopInput();
        return;
      }
      if (!s.moves.leaveShared(args, buf, start, end)) return;
    }
    if (s.relaysRequests) {
      if (changesAccess(name, args)) {
        // (no reply to wait for: the pool's next probe, started after this, decides)
        s.ctx.upstreams.accessChanging();
        cache?.invalidateAll();
      } else if (cache) {
        this.states.invalidateNow(name, args, cache);
      }
      s.forward(buf, start, end);
      return;
    }
    if (name === 'mget' && args.length >= 2 && !this.headSent && this.cacheUsable(cache)) {
      routeMget(s, this, cache, args, buf, start, end);
      return;
    }
    const debugMode = scriptDebugMode(name, args);
    if (debugMode !== null && debugMode !== '' && debugMode !== 'no') {
      // the next EVAL opens Lua's debugger on this connection: what the client sends then
      // are debugger commands (a GET there is not Redis's GET), so everything is relayed
      this.states.routeUnpairable(buf, start, end);
      return;
    }
    if (name === 'sync' || name === 'psync') {
      // the connection becomes a replica's: keep-alive newlines, an RDB without a CRLF,
      // then the replication stream, none of it replies to pair (nor writes to drop)
      this.states.routeUnpairable(buf, start, end);
      return;
    }
    const sc = stateCommandOf(name);
    if (sc !== StateCommand.None) {
      this.states.route(sc, name, args, buf, start, end);
      return;
    }
    this.routeCommand(name, args, buf, start, end);
  }

  /** A command that is no state command: a write holds its keys, the rest passes. */
  private routeCommand(name: string, args: Buffer[], buf: Buffer, start: number, end: number): void {
    const s = this.s;
    const cache = s.ctx.cache;
    const multi = s.state.multi;
    const info = s.ctx.commands()?.lookup(name, args);
    // (queued in MULTI, it answers QUEUED at once)
    const blocking = info?.flags.has('blocking') === true && blocksWith(name, args) && multi === null;
    // ACL SETUSER/DELUSER/LOAD, CONFIG SET requirepass: what a user may read changes, so the
    // cache is emptied as for a write of every key (nothing filled before it survives)
    const rules = changesAccess(name, args);
    if (rules) {
      // no new client shares a connection until the pool has probed again after it ran
      s.ctx.upstreams.accessChanging();
      if (multi) multi.accessChange = true;
    }
    const probeAtReply = rules && multi === null;
    if (cache && (info?.writes || rules)) {
      // a write that names no key (FLUSHDB, SWAPDB, EVAL with numkeys 0, ...) may touch any key
      let keys = rules || info === undefined ? null : CommandTable.keysOf(info, args);
      if (keys !== null && keys.length === 0) keys = null;
      if (multi) {
        // queued: it runs at EXEC, whose send and reply drop these keys again
        if (keys === null) multi.allKeys = true;
        else for (const k of keys) multi.keys.push(k.toString('latin1'));
      }
      s.forward(buf, start, end);
      const p = new Pending(Kind.Write);
      p.hold = keys === null ? cache.holdAll() : cache.holdKeys(keys.map((k) => k.toString('latin1')));
      p.blocking = blocking; // BLPOP, BLMOVE...
      p.accessChange = probeAtReply;
      s.pending.push(p);
      return;
    }
    s.forward(buf, start, end);
    if (probeAtReply) {
      // its reply asks the pool again whether a fresh connection needs a password
      const p = new Pending(Kind.Pass);
      p.accessChange = true;
      s.pending.push(p);
    } else if (blocking) {
      s.pending.pushBlocking();
    } else {
      s.pending.pushPass(info ? !info.noAuth : true);
    }
  }

  /**
   * May this command go over a shared connection? Not if it changes or reads connection
   * state, or may block the connection. Unknown commands may: Redis only refuses them.
   */
  private shareable(name: string, args: Buffer[]): boolean {
    const table = this.s.ctx.commands();
    // (a session shares only once the table is loaded; not asked again when Redis starts
    // requiring a password: like a connection to Redis, a client let in stays in)
    if (table === null) return false;
    // (SCRIPT DEBUG puts the connection itself into a debugging session)
    if (scriptDebugMode(name, args) !== null) return false;
    // the route's answer, with blocking read from the subcommand where there is one
    return table.routeOf(args[0], 0, args[0].length).shareable && !table.lookup(name, args)?.flags.has('blocking');
  }

  private routeGet(keyBuf: Buffer, buf: Buffer, start: number, end: number, cache: ReplyCache | null): void {
    const s = this.s;
    if (!this.cacheUsable(cache)) {
      s.forward(buf, start, end);
      s.pending.pushPass(true);
      return;
    }
    const user = s.state.user;
    const hit = user === null || !this.servesKey(keyBuf, 0, keyBuf.length) ? undefined : cache.lookupBytes(keyBuf, 0, keyBuf.length, user, s.state.db);
    if (hit !== undefined) {
      s.serveCached(hit);
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
    const s = this.s;
    const ticket = cache.beginFill(key, s.state.user, s.state.db);
    // (may send the upstream's CLIENT TRACKING ahead of the GET)
    const trackGen = ticket === null ? -1 : (s.upstream?.fillGeneration(key) ?? -1);
    s.forward(buf, start, end);
    if (ticket === null || trackGen === -1) {
      s.pending.pushPass(true);
      return;
    }
    // PTTL rides in the same write: the key's expiry in Redis bounds the entry.
    s.flushForward();
    if (keyBulkAt >= 0) {
      s.toUpstream(PTTL_HEAD);
      s.toUpstream(buf.subarray(keyBulkAt, end));
    } else {
      s.toUpstream(encodeCommand(['PTTL', keyBuf as Buffer]));
    }
    ticket.trackGen = trackGen;
    const p = new Pending(Kind.Fill);
    p.ticket = ticket;
    s.pending.push(p);
  }
}
