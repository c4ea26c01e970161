import type { Upstream } from '../upstream/upstream.js';
import { AuthCheck } from './auth-check.js';
import type { RequestRouter } from './requests.js';
import type { RequestReader } from './request-reader.js';
import type { ClientSession } from './session.js';

// A session leaving its shared seat: to a connection of its own (the first command that
// needs connection state), or, for an AUTH Redis accepts, to a seat on that user's pool
// (see AuthCheck). Either way the request that causes the move is held, with everything
// the client sent after it, until the client's requests already on the shared connection
// are answered (they were sent earlier), and the client is not read meanwhile:
//
//   shared seat ──request needing a move──▶ held ──shared requests answered──┬─▶ own connection, then the request
//                                                                           └─▶ AUTH checked: its reply, maybe a pool seat
//
// Nothing here runs for a request that needs no move: a GET on a seat never gets here.

const HELLO_2 = Buffer.from('*2\r\n$5\r\nHELLO\r\n$1\r\n2\r\n');

/** A request that waits for the session's shared requests to be answered. */
export interface HeldRequest {
  args: Buffer[];
  buf: Buffer;
  start: number;
  end: number;
  /** an AUTH to be checked off the connection, not a move to an own connection */
  auth: boolean;
  /** that check was sent */
  checking: boolean;
}

export class SeatMoves {
  /** the request waiting for the session to leave its shared seat (null: none) */
  held: HeldRequest | null = null;
  /** an AUTH check is being answered within the read that sent it */
  private inline = false;
  private readonly authCheck: AuthCheck;

  constructor(
    private readonly s: ClientSession,
    private readonly requests: RequestRouter,
    private readonly reader: RequestReader,
  ) {
    this.authCheck = new AuthCheck(s);
  }

  /**
   * Move to a connection of the client's own. Its requests on the shared connection must
   * be answered first (they were sent earlier), so the request that needs the move waits
   * with everything after it, and the client is not read meanwhile.
   * Returns true when the request can be routed now.
   */
  leaveShared(args: Buffer[], buf: Buffer, start: number, end: number): boolean {
    const s = this.s;
    if (s.pending.length > 0) {
      this.held = { args, buf, start, end, auth: false, checking: false };
      s.client.pause();
      return false;
    }
    this.moveToOwnConnection();
    return true;
  }

  /** Move to a connection of the client's own now, if nothing is in flight on the shared one (see RequestReader). */
  leaveSharedNow(): void {
    if (this.s.pending.length === 0 && this.held === null) this.moveToOwnConnection();
  }

  private moveToOwnConnection(): void {
    const s = this.s;
    // a seat on a user's pool: the client is that user's on Redis, and so must its own connection be
    const login = s.upstream?.seatLogin ?? null;
    const user = s.state.user;
    s.upstream?.close();
    s.state.unprove(); // a new connection: proven again by its first reply
    s.openUpstream();
    if (login === null) return;
    s.state.user = user;
    s.sendInternal(login, (frame) => {
      // (Redis no longer takes the pool's credentials: the client cannot go on as that user)
      if (frame[0] !== 0x2b) s.lose('its user could not authenticate a connection of its own');
    });
  }

  /**
   * AUTH [user] password from a shared seat: checked by Redis off this connection, and on
   * +OK the session moves to a seat on that user's pool (see AuthCheck). Like a move to an
   * own connection, it waits until the shared requests before it are answered, and the
   * requests after it until its answer. Returns false when the AUTH must go down a
   * connection of the client's own.
   */
  verifyAuth(args: Buffer[], buf: Buffer, start: number, end: number): boolean {
    const s = this.s;
    if (!AuthCheck.applies(s.ctx.upstreams, args)) return false;
    const h: HeldRequest = { args, buf, start, end, auth: true, checking: false };
    this.held = h;
    if (s.pending.length === 0) {
      // (a credential Redis accepted since the last change is answered at once: the reader
      // goes on with this read's requests itself)
      this.inline = true;
      this.authCheck.start(h);
      this.inline = false;
    }
    if (this.held === h) s.client.pause();
    return true;
  }

  /** is `h` still the request this session holds (a late answer for a closed one is dropped) */
  holds(h: HeldRequest): boolean {
    return this.held === h && !this.s.closed;
  }

  /** The held AUTH was answered `reply`: and with a seat on its user's pool when it succeeded. */
  authAnswered(reply: Buffer, seat: Upstream | null, user: string | null, hello: boolean): void {
    const s = this.s;
    if (seat !== null) this.takeSeat(seat, user as string);
    if (seat !== null && hello) {
      // HELLO 2 AUTH: the reply is the server's description, asked on the new seat
      s.toUpstream(HELLO_2);
      s.pending.pushPass(false);
      s.flushUpstream();
    } else {
      s.enqueueReady(reply, false);
    }
    this.continueAfterHeld();
  }

  /** Leave the shared seat for `seat`, on `user`'s pool: Redis accepted the client's AUTH as `user`. */
  takeSeat(seat: Upstream, user: string): void {
    const s = this.s;
    s.upstream?.close();
    s.upstream = seat;
    s.state.user = user;
  }

  /** No seat for the held AUTH: it goes down a connection of the client's own, as before (Redis answers it there). */
  authOnOwnConnection(h: HeldRequest): void {
    this.held = null;
    this.moveToOwnConnection();
    this.routeNow(h);
  }

  /** The held AUTH's check got no answer: like a lost connection. */
  authLost(reason: string): void {
    this.held = null;
    this.s.lose(reason);
  }

  /** The held request is answered: read on. */
  private continueAfterHeld(): void {
    const s = this.s;
    this.held = null;
    if (this.inline) return;
    if (!s.reading) {
      s.flushOut();
      return;
    }
    // (the held request's reply goes out with the replies to what followed it: one write)
    this.reader.process();
    if (s.reading && this.held === null) s.client.resume();
  }

  /** The shared requests were all answered: continue on the client's own connection (or check the held AUTH). */
  resumeHeld(): void {
    const h = this.held;
    if (h === null || this.s.pending.length > 0 || this.s.closed) return;
    if (h.auth) {
      if (!h.checking) this.authCheck.start(h);
      return;
    }
    this.held = null;
    this.moveToOwnConnection();
    this.routeNow(h);
  }

  private routeNow(h: HeldRequest): void {
    const s = this.s;
    try {
      this.requests.route(h.args, h.buf, h.start, h.end);
      s.flushForward();
    } finally {
      s.flushUpstream();
      s.flushOut();
    }
    if (s.reading && this.held === null && !this.inline) {
      this.reader.process();
      if (s.reading) s.client.resume();
    }
  }
}
