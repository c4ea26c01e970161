import { parseRedisInt } from '../resp/redis-int.js';
import { firstElementName } from '../resp/pubsub-frame.js';
import { CONFIRMATIONS, MESSAGES, StateCommand } from '../commands/session-commands.js';
import { NO_TRACKING_NEEDED } from '../backend/invalidation-link.js';
import type { OutBytes } from '../io/write-batch.js';
import { Kind, type Pending } from './pending.js';
import type { ClientSession } from './session.js';
import type { MgetJob } from './mget.js';

// The reply side of a session: each frame from the upstream is paired with the record at
// the head of the pending queue (session/pending.ts) and goes on to the client, unless it
// is the proxy's own (the PTTL behind a fill, the upstream's CLIENT TRACKING). Pairing
// applies what the reply proves: a state change that succeeded, a fill's value stored,
// a write's keys released. Out-of-band frames (RESP3 pushes, pub/sub messages) belong to
// no request and pass straight through.

const MAX_BULK_CACHED = 1024 * 1024;

/** Is `t`, a reply's first byte, an error's (`-`, or RESP3's blob error `!`)? */
export function isErrorType(t: number): boolean {
  return t === 0x2d || t === 0x21;
}

/** The frame buf[start, end) as a Buffer of its own. */
function frameOf(buf: Buffer, start: number, end: number, inChunk: boolean): Buffer {
  return inChunk ? buf.subarray(start, end) : buf;
}

export class ReplyPairer {
  constructor(private readonly s: ClientSession) {}

  /**
   * One reply frame: buf[start, end). inChunk: buf is the socket's chunk, so adjacent frames
   * can go out as one slice; otherwise buf is the frame alone (it spanned reads).
   */
  onReply(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    const s = this.s;
    const out = s.out;
    if (s.relaysReplies) {
      out.addSlice(buf, start, end);
      return;
    }
    const t = buf[start];
    const state = s.state;
    // Out-of-band: RESP3 pushes (pub/sub messages, the client's own invalidations) and
    // RESP2 messages on a subscribed connection belong to no request.
    if (t === 0x3e) {
      const head = s.pending.peek();
      const name = firstElementName(buf, start, end);
      // the proxy's tracking lost its link: Redis tells the tracked connection, not the client
      if (name === 'tracking-redir-broken' && !state.tracking) return;
      if (head === undefined || head.kind !== Kind.Subscribe || !CONFIRMATIONS.has(name)) {
        this.emit(buf, start, end, inChunk);
        return;
      }
    } else if (t === 0x2a && state.subCount > 0 && state.proto === 2 && MESSAGES.has(firstElementName(buf, start, end))) {
      this.emit(buf, start, end, inChunk);
      return;
    }
    const p = s.pending.peek();
    if (p === undefined) {
      // Redis refused the unfinished request it was streamed (a protocol error): pass it on
      if (s.streamed > 0) this.emit(buf, start, end, inChunk);
      else s.fault('a reply arrived with no request pending');
      return;
    }
    if (!this.pair(p, buf, start, end, inChunk)) return;
    s.pending.shift();
    // (the upstream's own request is no client command to time)
    if (s.observer && p.kind !== Kind.Internal) s.observeDone(p);
    s.pending.recycle(p);
    this.drainReady();
    s.onAnswered();
  }

  /** The head record `p` takes this frame. Returns true when p is complete. */
  private pair(p: Pending, buf: Buffer, start: number, end: number, inChunk: boolean): boolean {
    const s = this.s;
    const t = buf[start];
    switch (p.kind) {
      case Kind.Pass:
        this.emit(buf, start, end, inChunk);
        if (p.proves && !isErrorType(t)) s.state.prove();
        if (--p.count > 0) return false;
        if (p.accessChange) s.ctx.upstreams.accessChanged();
        return true;
      case Kind.Write:
        this.emit(buf, start, end, inChunk);
        if (p.proves && !isErrorType(t)) s.state.prove();
        // (a run of one-key writes: each reply frees the oldest slot of the queue's ring)
        if (p.hold !== null) p.releaseHold();
        else s.pending.releaseSlot();
        if (--p.count > 0) return false;
        if (p.accessChange) s.ctx.upstreams.accessChanged();
        return true;
      case Kind.Fill:
        if (!p.gotValue) {
          this.emit(buf, start, end, inChunk);
          if (!isErrorType(t)) s.state.prove();
          this.takeValue(p, buf, start, end);
          return false;
        }
        // the PTTL the proxy added: never shown to the client
        this.completeFill(p, buf, start, end);
        return true;
      case Kind.State: {
        this.emit(buf, start, end, inChunk);
        const frame = frameOf(buf, start, end, inChunk);
        const change = p.change as NonNullable<Pending['change']>;
        if (s.state.apply(change, frame)) s.upstream?.userChanged();
        if (change.command === StateCommand.Exec) p.releaseHold();
        if (p.proves && frame.length === 5 && frame[0] === 0x2b && frame[1] === 0x4f && frame[2] === 0x4b) s.state.prove();
        s.state.inFlight--;
        if (p.accessChange) s.ctx.upstreams.accessChanged();
        return true;
      }
      case Kind.Subscribe: {
        this.emit(buf, start, end, inChunk);
        const frame = frameOf(buf, start, end, inChunk);
        p.count = s.state.confirm(p.subKind, frame, firstElementName(frame, 0, frame.length), p.count);
        if (p.count > 0) return false;
        s.state.inFlight--;
        return true;
      }
      case Kind.Raw:
        // everything from here on is relayed as it comes
        s.pending.shift();
        s.relayReplies();
        this.emit(buf, start, end, inChunk);
        return false;
      case Kind.Internal:
        p.onInternal?.(frameOf(buf, start, end, inChunk));
        return true;
      case Kind.Mget:
        return (p.mget as MgetJob).take(s, p, buf, start, end, inChunk);
      default:
        s.fault(`reply arrived for a request that expects none (kind ${p.kind})`);
        return false;
    }
  }

  private emit(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    if (inChunk) this.s.out.addSlice(buf, start, end);
    else this.s.out.add(buf);
  }

  /** A fill's GET reply: a value a GET of this key would be given again, or nil. */
  private takeValue(p: Pending, buf: Buffer, start: number, end: number): void {
    const t = buf[start];
    p.gotValue = true;
    if (t === 0x24 && buf[start + 1] !== 0x2d) {
      // a copy (a slice would keep the whole socket chunk alive in the cache)
      p.value = end - start <= MAX_BULK_CACHED ? buf.toString('latin1', start, end) : null;
      p.valueOk = p.value !== null;
    } else if (t === 0x5f || (t === 0x24 && buf[start + 1] === 0x2d)) {
      p.value = null;
      p.valueOk = true;
    }
  }

  /** The PTTL behind a fill's GET: store the value if it is consistent and still tracked. */
  private completeFill(p: Pending, buf: Buffer, start: number, end: number): void {
    const s = this.s;
    const cache = s.ctx.cache;
    const ticket = p.ticket;
    p.ticket = null;
    if (!cache || ticket === null) return;
    let ttl = NaN;
    if (buf[start] === 0x3a) ttl = parseRedisInt(buf, start + 1, end - 2);
    // A value needs a live key (-1: no expiry, >= 0: ms left); a nil needs a missing key (-2).
    const consistent = p.valueOk && (p.value !== null ? ttl === -1 || ttl >= 0 : ttl === -2);
    const upstream = s.upstream;
    if (!consistent || upstream === null || !upstream.stillTracked(ticket.trackGen)) return;
    // (on a shared connection, or in ttl mode, the owner is the pool's, or nobody's)
    const owner = ticket.trackGen !== NO_TRACKING_NEEDED ? upstream.fillOwner : null;
    cache.completeFill(ticket, p.value, ttl >= 0 ? ttl : null, owner);
  }

  /** Write out every reply that is ready at the head of the queue. */
  drainReady(): void {
    const s = this.s;
    for (;;) {
      const head = s.pending.peek();
      if (head === undefined) return;
      if (head.kind === Kind.Ready) {
        s.pending.shift();
        if (s.observer) s.observeDone(head);
        s.out.add(head.reply as OutBytes);
        if (head.closeAfter) {
          s.finish();
          return;
        }
      } else if (head.kind === Kind.Raw) {
        s.pending.shift();
        s.relayReplies();
      } else {
        return;
      }
    }
  }
}
