import { BULK, canonicalBulkAt } from '../resp/canonical-bulk.js';
import type { ClientSession } from './session.js';

// AUTH [user] password at the head of a read, answered where the read arrived when the
// credential memory holds it: the connect-per-request client (connect, AUTH, GET, close)
// pays for its AUTH no chunk copy, no decoded arguments, no held request and no closures.
//
// It answers only what the usual road would answer at once, and exactly as it would:
//
//   usual:    decoder ─▶ route ─▶ SeatMoves.verifyAuth (nothing earlier in flight) ─▶
//             UserPools.verify (remembered: +OK now) ─▶ join (pool with a connection up:
//             a seat now) ─▶ the seat, the user, +OK ─▶ the rest of the read
//   in place: UserPools.seatFromMemory ─▶ the same seat, user and +OK ─▶ the rest of the read
//
// Anything else (not remembered, no pool or no connection up yet, a request before it still
// in flight, another spelling, HELLO 2 AUTH, a request cut by the read's end, Sentinel) takes
// the usual road, which checks the memory again and asks Redis when it must. A change of
// rules empties the memory, so no remembered credential outlives it here either.

const OK = Buffer.from('+OK\r\n');

/** Where the arguments of a canonical AUTH are: userLen -1 for AUTH password (the default user). */
export interface AuthArgs {
  userOff: number;
  userLen: number;
  pwOff: number;
  pwLen: number;
}

/** canonicalAuthAt's scratch (one per process: a read is handled whole before the next) */
const FOUND: AuthArgs = { userOff: 0, userLen: -1, pwOff: 0, pwLen: 0 };

/**
 * `*2\r\n$4\r\nAUTH\r\n<password bulk>` or `*3\r\n$4\r\nAUTH\r\n<user bulk><password bulk>` (AUTH
 * in any case) at buf[0], complete before n: sets `found` and returns where it ends, or -1.
 */
export function canonicalAuthAt(buf: Buffer, n: number, found: AuthArgs): number {
  // the shortest, AUTH of the empty password, is 20 bytes
  if (n < 20) return -1;
  const argc = buf[1] - 0x30;
  if (
    buf[0] !== 0x2a || (argc !== 2 && argc !== 3) || buf[2] !== 13 || buf[3] !== 10 ||
    buf[4] !== 0x24 || buf[5] !== 0x34 || buf[6] !== 13 || buf[7] !== 10 ||
    (buf[8] | 0x20) !== 0x61 || (buf[9] | 0x20) !== 0x75 || (buf[10] | 0x20) !== 0x74 || (buf[11] | 0x20) !== 0x68 ||
    buf[12] !== 13 || buf[13] !== 10
  ) {
    return -1;
  }
  let end = canonicalBulkAt(buf, 14, n, 9);
  if (end < 0) return -1;
  found.userLen = -1;
  if (argc === 3) {
    found.userOff = BULK.off;
    found.userLen = BULK.len;
    end = canonicalBulkAt(buf, end, n, 9);
    if (end < 0) return -1;
  }
  found.pwOff = BULK.off;
  found.pwLen = BULK.len;
  return end;
}

/**
 * Answers an AUTH at the head of buf[0, n) from the credential memory, as the usual road
 * would at once, and returns where the rest of the read starts (0: not answered here).
 */
export function answerAuthInPlace(s: ClientSession, buf: Buffer, n: number): number {
  const ups = s.ctx.upstreams;
  // (a request before it unanswered: the usual road holds the AUTH until it is)
  if (ups.seatFromMemory === undefined || s.upstream?.shared !== true || s.pending.length > 0 || s.relaysRequests) return 0;
  const end = canonicalAuthAt(buf, n, FOUND);
  if (end < 0) return 0;
  const user = FOUND.userLen < 0 ? 'default' : buf.toString('latin1', FOUND.userOff, FOUND.userOff + FOUND.userLen);
  const seat = ups.seatFromMemory(user, buf, FOUND.pwOff, FOUND.pwLen, s);
  if (seat === null) return 0;
  s.observer?.onCommand('auth');
  s.moves.takeSeat(seat, user);
  s.enqueueReady(OK, false);
  return end;
}
