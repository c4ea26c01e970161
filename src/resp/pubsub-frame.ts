import { parseRedisInt } from './redis-int.js';

// The two things a pub/sub frame is read for, from its bytes where they lie: what it is (the
// first element's name: "message", "subscribe"...) and which channel a confirmation is of.
// The session (one Redis) and the cluster router (a client's lanes) both ask.

/** Lower-cased name of the aggregate at buf[start, end) when its first element is a short bulk string; else ''. */
export function firstElementName(buf: Buffer, start: number, end: number): string {
  let p = buf.indexOf(0x0a, start) + 1;
  if (p <= 0 || p >= end || buf[p] !== 0x24) return '';
  const cr = buf.indexOf(0x0d, p);
  const len = parseRedisInt(buf, p + 1, cr);
  if (!(len > 0 && len <= 24)) return '';
  p = cr + 2;
  return buf.toString('latin1', p, p + len).toLowerCase();
}

/** The bulk payload of the second element of the 3-element (un)subscribe confirmation at buf[start...], or null (a nil channel). */
export function confirmationChannel(buf: Buffer, start: number): string | null {
  let p = buf.indexOf(0x0a, start) + 1; // after "*3"
  p = buf.indexOf(0x0a, p) + 1; // after "$n" of the kind
  p = buf.indexOf(0x0a, p) + 1; // after the kind
  if (buf[p] !== 0x24) return null; // null channel ("_" or not a bulk)
  const cr = buf.indexOf(0x0d, p);
  const len = parseRedisInt(buf, p + 1, cr);
  if (!(len >= 0)) return null;
  return buf.toString('latin1', cr + 2, cr + 2 + len);
}
