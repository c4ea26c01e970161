import { Fifo } from '../io/fifo.js';
import type { UpstreamClient } from '../upstream/upstream.js';
import type { ClusterRequest } from './node-lane.js';

// The replies' way back to one client of the cluster router (cluster-upstream.ts): the
// lanes answer in whatever order their nodes do, the client gets one reply per request, in
// the order it asked.
//
//   order: r1 r2 r3    r2's reply comes first: kept (a copy), r2 done
//                      r1's reply: to the client, then r2's; r3 still waits
//
// A split request's parts (KeyFanout, a keyspace plan) are merged here into its one reply
// first. A pass-through request (MONITOR...) or an (un)subscribe owns the frames that come
// for it: they go to the client once it is at the head, and wait on it (copied) till then.

export class ReplyOrder {
  /** every request not yet answered, in the client's order */
  private readonly order = new Fifo<ClusterRequest>();
  /** something went to the client since its last flush */
  private delivered = false;

  constructor(
    private readonly client: UpstreamClient,
    /** a client of its own: after HELLO 3, the proxy's own merges are RESP3 (null: shared) */
    private readonly own: { readonly resp3: boolean } | null,
  ) {}

  push(req: ClusterRequest): void {
    this.order.push(req);
  }

  /** The reply to `req` (or to one group of it) is in. */
  answer(req: ClusterRequest, group: number, buf: Buffer, start: number, end: number, inChunk: boolean): void {
    if (req.plan !== null && group >= 0) {
      (req.planReplies as Buffer[])[group] = Buffer.from(buf.subarray(start, end));
      if (--req.planLeft === 0) this.finishPlan(req);
      return;
    }
    if (req.fanout !== null) {
      req.fanout.setReply(group, Buffer.from(buf.subarray(start, end)));
      if (!req.fanout.complete) return;
      const merged = req.fanout.merge();
      buf = merged;
      start = 0;
      end = merged.length;
      inChunk = false;
    }
    if (this.order.peek() === req) {
      this.order.shift();
      req.sent = true;
      this.emit(buf, start, end, inChunk);
      this.emitEarly(req);
      this.pump();
    } else {
      req.reply = req.fanout !== null ? buf : Buffer.from(buf.subarray(start, end));
      req.done = true;
    }
  }

  /** A keyspace plan's parts are all in (or it had none: answered here). */
  finishPlan(req: ClusterRequest): void {
    const merged = req.mergePlan(this.own?.resp3 === true);
    this.answer(req, -1, merged, 0, merged.length, false);
  }

  /** A frame of a pass-through request's lane. */
  passFrame(req: ClusterRequest, buf: Buffer, start: number, end: number, inChunk: boolean): void {
    if (this.order.peek() === req) {
      this.emit(buf, start, end, inChunk);
      return;
    }
    (req.early ??= []).push(Buffer.from(buf.subarray(start, end)));
  }

  /** A subscriber's frame: now, or behind `req`'s (a copy) while requests before it wait. */
  deliver(req: ClusterRequest | null, buf: Buffer, start: number, end: number, inChunk: boolean): void {
    if (req === null || req.sent || this.order.peek() === req) this.emit(buf, start, end, inChunk);
    else (req.early ??= []).push(Buffer.from(buf.subarray(start, end)));
  }

  /** An (un)subscribe took its last confirmation. */
  complete(req: ClusterRequest): void {
    req.done = true;
    if (this.order.peek() !== req) return;
    this.order.shift();
    req.sent = true;
    this.pump();
  }

  /** Hand over the replies that waited for the ones before them. */
  private pump(): void {
    for (let head = this.order.peek(); head !== undefined; head = this.order.peek()) {
      if (head.passthrough || !head.done) {
        this.emitEarly(head);
        return;
      }
      this.order.shift();
      head.sent = true;
      const r = head.reply;
      head.reply = null;
      if (r !== null) this.emit(r, 0, r.length, false);
      this.emitEarly(head);
    }
  }

  /** A pass-through's or an (un)subscribe's frames so far (the messages that waited behind it). */
  private emitEarly(req: ClusterRequest): void {
    const early = req.early;
    req.early = null;
    if (early !== null) for (const f of early) this.emit(f, 0, f.length, false);
  }

  /** To the client now (also a RESP3 push, which belongs to no request). */
  emit(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    this.delivered = true;
    if (!this.client.closed) this.client.onUpstreamReply(buf, start, end, inChunk);
  }

  /** The end of a lane's read: the client writes what it got. */
  flush(): void {
    if (!this.delivered) return;
    this.delivered = false;
    this.client.onUpstreamFlush();
  }
}
