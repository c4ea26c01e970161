import type net from 'node:net';
import type { BackendAddress } from '../config/config.js';
import { connectToRedis, describeConnectError, type TlsClientOptions } from '../backend/connect.js';
import { trackingRequest, TRACKING_OFF, NO_TRACKING_NEEDED, type TrackingTarget } from '../backend/invalidation-link.js';
import { FillOwner } from '../cache/reply-cache.js';
import { ReplyProtocolError } from '../resp/reply-scanner.js';
import { ReplyReader } from './reply-reader.js';
import { writeAll } from '../io/write-batch.js';
import type { Upstream, UpstreamClient } from './upstream.js';

// A connection to Redis of one client's own, opened for it and closed with it, so that
// SELECT, AUTH, MULTI, subscriptions and every other piece of connection state stay the
// client's, exactly as on a direct connection.
//
// Its tracking for the cache is lazy: the proxy's CLIENT TRACKING goes out just before the
// first GET that may fill, and again after the link came back with a new generation; its
// reply is the proxy's, not the client's (sendInternal). A refusal (NOPERM: the user may
// not run CLIENT) means this connection never fills, until the user changes (NOAUTH is
// retried after AUTH). Entries filled through it belong to a FillOwner that dies when
// Redis stops tracking the connection: when it closes (noticed at its end), when the
// client takes tracking over, or when the client stops being paired.

export interface OwnConnectionOptions {
  addr: BackendAddress;
  tls?: TlsClientOptions;
  /** the invalidation link its fills must be tracked for; null without a cache */
  tracking: TrackingTarget | null;
}

export class OwnConnection implements Upstream {
  readonly shared = false;
  readonly streams = true;
  answered = false;
  private everUp = false;
  private lostReason = '';
  private readonly socket: net.Socket;
  private readonly reader: ReplyReader;
  /** the link generation its CLIENT TRACKING was sent for, or -1 */
  private trackedGen = -1;
  /** Redis refused it for this user: no more tries until the user changes */
  private trackingRefused = false;
  private owner: FillOwner | null = null;
  private closed = false;

  constructor(
    private readonly opts: OwnConnectionOptions,
    private readonly client: UpstreamClient,
  ) {
    this.reader = new ReplyReader((buf, start, end, inChunk) => {
      if (!client.closed) client.onUpstreamReply(buf, start, end, inChunk);
    });
    const socket = connectToRedis(opts.addr, opts.tls, (n, buf) => this.onData(buf.subarray(0, n)));
    this.socket = socket;
    socket.on(opts.addr.tls ? 'secureConnect' : 'connect', () => {
      this.everUp = true;
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk)); // (TLS: plain sockets read in place)
    socket.on('drain', () => client.onUpstreamDrain());
    // Redis stopped tracking this connection the moment it closed it: its entries die now,
    // not a loop phase later at 'close', after GETs read in the same turn were served.
    socket.on('end', () => this.untrack());
    socket.on('error', (err: Error & { code?: string }) => {
      this.untrack();
      this.lostReason = this.everUp ? `connection to Redis lost (${err.code ?? err.message})` : describeConnectError(opts.addr, err);
    });
    socket.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      this.untrack();
      client.onUpstreamLost(this.lostReason || 'connection to Redis closed');
    });
  }

  private onData(chunk: Buffer): void {
    if (this.client.closed) return;
    this.answered = true;
    try {
      this.reader.read(chunk);
    } catch (err) {
      this.client.onUpstreamFault(err instanceof ReplyProtocolError ? `bad reply from Redis: ${err.message}` : String(err));
      return;
    }
    this.client.onUpstreamFlush();
  }

  send(parts: Buffer[], bytes: number): boolean {
    if (!this.socket.destroyed) writeAll(this.socket, parts, bytes);
    return !this.socket.writableNeedDrain;
  }

  get congested(): boolean {
    return this.socket.writableNeedDrain;
  }

  fillGeneration(): number {
    const t = this.opts.tracking;
    if (t === null || t.redirectId === null) return NO_TRACKING_NEEDED;
    if (this.trackedGen === t.generation) return t.generation;
    // (a new connection's first reply may be Redis refusing the connection itself: let it
    // reach the client as it would, not the proxy's CLIENT TRACKING)
    if (this.trackingRefused || !this.answered) return -1;
    const generation = t.generation;
    this.client.sendInternal(trackingRequest(t.redirectId), (frame) => this.onTrackingReply(generation, frame));
    this.trackedGen = generation;
    this.owner?.kill();
    this.owner = new FillOwner();
    return generation;
  }

  stillTracked(generation: number): boolean {
    return generation === NO_TRACKING_NEEDED || this.trackedGen === generation;
  }

  /** (a connection of the client's own: whoever the client authenticates as) */
  readonly seatUser = null;

  get fillOwner(): FillOwner | null {
    return this.owner;
  }

  private onTrackingReply(generation: number, frame: Buffer): void {
    const t = frame[0];
    if ((t !== 0x2d && t !== 0x21) || this.trackedGen !== generation) return;
    this.untrack();
    // the user may not (NOPERM): not again until the user changes; anything else (NOAUTH
    // before AUTH, BUSY, a redirect to a link that just died): try again at the next fill
    if (frame.toString('latin1', 1, 7) === 'NOPERM') this.trackingRefused = true;
  }

  /** The connection's user changed (AUTH, HELLO AUTH, RESET): it may be allowed CLIENT TRACKING now. */
  userChanged(): void {
    this.trackingRefused = false;
  }

  yieldTracking(turnOff: boolean): void {
    if (this.trackedGen === -1) return;
    this.untrack();
    if (turnOff) this.client.sendInternal(TRACKING_OFF, () => undefined);
  }

  /** Redis no longer tracks this connection for the proxy: its entries die. */
  private untrack(): void {
    this.trackedGen = -1;
    this.owner?.kill();
    this.owner = null;
  }

  relayRaw(): void {
    this.reader.raw = true;
  }

  pause(): void {
    // A paused socket shows no end until it is read again: if Redis closed it meanwhile
    // (its output limit, timeout, CLIENT KILL), its tracking would be gone unseen. So what
    // was filled through it dies now, and the next fill tracks it again.
    this.untrack();
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.untrack();
    this.closed = true;
    this.socket.destroy();
  }
}
