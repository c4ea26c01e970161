import type { UpstreamProvider } from '../upstream/upstream.js';
import type { ClientSession } from './session.js';
import type { HeldRequest } from './seat-moves.js';

// A client's AUTH while it rides a shared connection (issue 14). Sent down that connection,
// a successful AUTH would change its user for every client on it; so Redis checks it on a
// connection of its own (UpstreamProvider.verify, see upstream/UserPools), the client gets
// Redis's reply as it came, and on +OK moves to a seat on that user's pool:
//
//   AUTH u pw ─▶ held (after the client's earlier shared requests are answered; nothing
//                after it is read) ─▶ verify ─┬─ error: the reply; the client stays where it is
//                                             ├─ +OK: a seat on pool[u], then the reply
//                                             ├─ +OK but no seat: the AUTH goes down a
//                                             │   connection of the client's own, as before
//                                             └─ no answer: closed as a lost connection
//
// `HELLO 2 AUTH u pw` (nothing else: SETNAME would name the shared connection, protocol 3
// needs one of the client's own) is checked as `AUTH u pw`; Redis refuses both with the same
// bytes, and on +OK the client's HELLO 2 goes down its new seat, so the reply it gets (the
// server's description) is Redis's.

const OK = Buffer.from('+OK\r\n');

const AUTH = Buffer.from('AUTH');

/** The user an AUTH names (two arguments: the default user). */
function userOf(args: Buffer[]): string {
  return args.length === 3 ? args[1].toString('latin1') : 'default';
}

/** `HELLO 2 AUTH u pw` exactly? */
export function isHelloAuth(args: Buffer[]): boolean {
  return args.length === 5 && args[1].length === 1 && args[1][0] === 0x32 && args[2].toString('latin1').toLowerCase() === 'auth';
}

/** The AUTH that checks a request's credentials: AUTH itself, or HELLO 2 AUTH's as AUTH u pw. */
export function authArgsOf(args: Buffer[]): Buffer[] {
  return isHelloAuth(args) ? [AUTH, args[3], args[4]] : args;
}

export class AuthCheck {
  constructor(private readonly s: ClientSession) {}

  /** Is this AUTH checked off the connection: per-user sharing is on and has room for its user. */
  static applies(ups: UpstreamProvider, args: Buffer[]): boolean {
    if (ups.verify === undefined || ups.canPool === undefined) return false;
    const auth = authArgsOf(args);
    if (auth.length !== 2 && auth.length !== 3) return false;
    return ups.canPool(userOf(auth));
  }

  start(h: HeldRequest): void {
    h.checking = true;
    const ups = this.s.ctx.upstreams;
    (ups.verify as NonNullable<UpstreamProvider['verify']>).call(ups, authArgsOf(h.args), (reply) => this.checked(h, reply));
  }

  private checked(h: HeldRequest, reply: Buffer | null): void {
    const s = this.s;
    if (!s.moves.holds(h)) return;
    if (reply === null) return s.moves.authLost('the AUTH check got no answer from Redis');
    // refused: the client stays as it was, as on Redis
    if (!reply.equals(OK)) return s.moves.authAnswered(reply, null, null, false);
    const auth = authArgsOf(h.args);
    const user = userOf(auth);
    const ups = s.ctx.upstreams;
    (ups.joinPool as NonNullable<UpstreamProvider['joinPool']>).call(ups, user, auth[auth.length - 1], s, (seat) => {
      if (!s.moves.holds(h)) {
        seat?.close();
        return;
      }
      if (seat === null) s.moves.authOnOwnConnection(h);
      else s.moves.authAnswered(reply, seat, user, isHelloAuth(h.args));
    });
  }
}
