import { RequestDecoder, DecodeStatus } from '../resp/request-decoder.js';
import { encodeError } from '../resp/encode.js';
import { serveHitsInPlace } from './in-place-gets.js';
import { answerAuthInPlace } from './in-place-auth.js';
import { lower, type RequestRouter } from './requests.js';
import type { ClientSession } from './session.js';

// The read side of a session: bytes from the client's socket, cut into requests by the
// decoder and handed to the RequestRouter one by one, in order. An AUTH at the head of a read
// with a remembered credential (in-place-auth.ts), and the GETs at its head (or after that
// AUTH) that are cache hits (in-place-gets.ts), are answered from the read buffer itself;
// an unfinished request that can never be a cacheable GET is streamed on as it arrives.

const NO_BYTES = Buffer.alloc(0);

/** commands that may turn the proxy's tracking on a client's connection off first */
const TRACKING_SENSITIVE = new Set(['client', 'monitor']);

export class RequestReader {
  private readonly decoder: RequestDecoder;
  /** bytes of the unfinished request already forwarded */
  streamed = 0;

  constructor(
    private readonly s: ClientSession,
    private readonly router: RequestRouter,
  ) {
    this.decoder = new RequestDecoder({ maxBulkLen: s.ctx.limits.maxBulkLen });
  }

  /**
   * A read into the listener's buffer, which the next read (of any client) overwrites: a
   * remembered AUTH and the cache hits at its head are answered straight from it, and only
   * the rest is copied and taken as a chunk. A hit thus costs no allocation, and nothing of
   * the buffer is kept past this call.
   */
  onRead(n: number, buf: Buffer): void {
    const s = this.s;
    s.noteInput();
    let served = 0;
    if (this.decoder.buffered === 0 && !s.holding && this.streamed === 0) {
      // (an AUTH answered from memory first: the GETs after it are then its user's)
      served = answerAuthInPlace(s, buf, n);
      served = serveHitsInPlace(s, this.router, buf, served, n);
    }
    if (served === n) {
      s.flushOut();
      s.afterInput();
      return;
    }
    // (from Node's pool: no allocation of its own for a small read; the decoder lets go of
    // it once every request in it is taken, so an idle client pins no pool slab)
    const chunk = Buffer.allocUnsafe(n - served);
    buf.copy(chunk, 0, served, n);
    this.takeChunk(chunk);
  }

  /** A read as 'data' (TLS clients, and a socket that could not be re-wrapped). */
  onData(chunk: Buffer): void {
    this.s.noteInput();
    this.takeChunk(chunk);
  }

  /** Request bytes from the client: complete requests are taken now, the decoder keeps the unfinished rest. */
  private takeChunk(chunk: Buffer): void {
    const d = this.decoder;
    d.push(chunk);
    const s = this.s;
    if (d.buffered > s.ctx.limits.queryBufferLimit) {
      s.ctx.log.warn({ client: s.remote, bytes: d.buffered }, 'closing client that reached the query buffer limit');
      s.observer?.onError('query-buffer');
      s.close();
      return;
    }
    if (!s.holding) this.process();
  }

  /** Take every complete request the decoder holds. */
  process(): void {
    const s = this.s;
    const d = this.decoder;
    try {
      for (;;) {
        const st = d.next();
        if (st === DecodeStatus.Incomplete) break;
        if (st === DecodeStatus.ProtocolError) {
          s.flushForward();
          s.observer?.onError('protocol');
          s.enqueueReady(encodeError(`ERR Protocol error: ${d.error}`), true);
          s.stopInput();
          break;
        }
        let start = d.requestStart;
        this.router.headSent = this.streamed > 0;
        if (this.streamed > 0) {
          // the head of this request already went out (see streamPartial)
          start += this.streamed;
          this.streamed = 0;
        } else if (!d.inline && ((d.argc === 2 && this.router.serveGet(d, start)) || this.router.routeSimple(d, start))) {
          continue;
        }
        // Inline requests go to a connection of the client's own: Redis checks an inline
        // line's length while it is still arriving, and a refusal closes the connection.
        if (d.inline && s.upstream?.shared === true && !s.moves.leaveShared(d.args, d.buffer, start, d.end)) break;
        this.router.route(d.args, d.buffer, start, d.end);
        if (!s.reading || s.holding) break;
      }
      s.flushForward();
      if (s.reading && !s.holding) {
        // no connection yet (AwaitingAuth) and a request in progress that is no AUTH: Redis
        // must see it as it arrives (it refuses an oversized one from an unauthenticated
        // client at its header), so the connection is opened now
        if (s.upstream?.shared === true && s.state.user === null && this.partialNeedsConnection()) s.moves.leaveSharedNow();
        this.streamPartial();
      }
      // every request taken: the decoder lets go of the chunk (a held request keeps its own reference)
      if (d.buffered === 0) d.push(NO_BYTES);
    } finally {
      s.flushUpstream();
      s.flushOut();
    }
    s.afterInput();
  }

  /** Is the request in progress one that cannot be an AUTH (the only request taken without a connection)? */
  private partialNeedsConnection(): boolean {
    const argc = this.decoder.partialArgc;
    if (argc < 0) return false;
    if (argc !== 2 && argc !== 3) return true;
    const name = this.decoder.partialName();
    return name !== null && !(name.length === 4 && lower(name) === 'auth');
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
    const upstream = this.s.upstream;
    if (argc < 0 || upstream === null || !upstream.streams) return;
    // (an owner exists while the proxy's own tracking is on there)
    const tracked = upstream.fillOwner !== null;
    if (argc === 2 || tracked) {
      const name = d.partialName();
      if (name === null || (argc === 2 && name.length === 3 && lower(name) === 'get')) return;
      // CLIENT (TRACKING, REPLY) and MONITOR may need the proxy's CLIENT TRACKING OFF
      // ahead of them (see Upstream.yieldTracking): not behind bytes already sent
      if (tracked && (name.length === 6 || name.length === 7) && TRACKING_SENSITIVE.has(lower(name))) return;
    }
    for (const part of d.partialBytes(this.streamed)) {
      this.s.toUpstream(part);
      this.streamed += part.length;
    }
  }
}
