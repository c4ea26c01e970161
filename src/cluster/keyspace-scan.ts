import { encodeCommand } from '../resp/encode.js';
import { KeyspaceReplyError, isErrorReply, textOf } from './keyspace-resp.js';

// SCAN over every master in turn. The cursor a client holds says which master and where in
// that master's own iteration:
//
//   client cursor = masterCursor × masters + masterIndex          (0 = master 0 from its start)
//
//   SCAN 0        → master 0: SCAN 0       answers 17  → client gets 17×3+0 = 51
//   SCAN 51       → master 0: SCAN 17      answers 0   → master 0 is done: 0×3+1 = 1
//   SCAN 1        → master 1: SCAN 0       ...
//   ... master 2 answers 0 → the client gets 0: the whole keyspace has been seen
//
// The master's index is in the low "digits", so a client's cursor stays a plain unsigned
// 64-bit decimal (some clients parse it as one) and `0` keeps meaning "start" and "done".
// A master's cursor grows with its hash table's size (and, on Redis 7.4+ cluster nodes, carries
// the slot in its low 14 bits): far below 2^64 / masters. If it ever were not, that master's
// iteration ends there and the scan goes on with the next master.
// The encoding depends on the number of masters: a scan that spans a change of the cluster's
// masters may miss or repeat keys (so may a scan across a resharding on any cluster client).

export const MAX_CURSOR = (1n << 64n) - 1n;

export interface ScanPosition {
  readonly master: number;
  readonly cursor: bigint;
}

/**
 * A client's cursor (the argument's text) → master and master cursor; null when it is not a
 * decimal Redis could hand out (then the first master is asked as it came, and answers for itself).
 */
export function decodeScanCursor(text: string, masters: number): ScanPosition | null {
  if (!/^[0-9]{1,40}$/.test(text)) return null;
  const c = BigInt(text);
  if (c > MAX_CURSOR) return null;
  const m = BigInt(masters);
  return { master: Number(c % m), cursor: c / m };
}

/** The client's cursor for master `master` at its own cursor `cursor`; null when it would not fit 64 bits. */
export function encodeScanCursor(master: number, cursor: bigint, masters: number): string | null {
  const c = cursor * BigInt(masters) + BigInt(master);
  return c > MAX_CURSOR ? null : c.toString();
}

/** The client's next cursor after master `master` answered `next`. */
export function nextScanCursor(master: number, next: bigint, masters: number): string {
  if (next !== 0n) {
    const c = encodeScanCursor(master, next, masters);
    if (c !== null) return c;
  }
  return master + 1 < masters ? String(master + 1) : '0';
}

/**
 * SCAN's request for its master: the client's request with the master's cursor in place of
 * the client's (MATCH, COUNT, TYPE go on as they came); null when nothing needs rewriting.
 */
export function scanRequest(args: readonly Buffer[], position: ScanPosition): Buffer | null {
  const cursor = position.cursor.toString();
  if (args[1].toString('latin1') === cursor) return null;
  const out = args.slice();
  out[1] = Buffer.from(cursor, 'latin1');
  return encodeCommand(out);
}

/** A master's SCAN reply `*2 <cursor> <elements>` with the client's cursor in place of the master's. */
export function mergeScanReply(reply: Buffer, master: number, masters: number): Buffer {
  if (isErrorReply(reply)) return reply;
  if (reply[0] !== 0x2a || reply[1] !== 0x32 || reply[2] !== 0x0d) throw new KeyspaceReplyError('SCAN was not answered with a pair');
  const cursorFrame = reply.subarray(4);
  const { text } = textOf(cursorFrame, 'SCAN\'s cursor');
  const rest = cursorFrame.subarray(text.byteOffset - cursorFrame.byteOffset + text.length + 2);
  if (!/^[0-9]{1,20}$/.test(text.toString('latin1'))) throw new KeyspaceReplyError('SCAN answered a cursor that is not a number');
  const next = nextScanCursor(master, BigInt(text.toString('latin1')), masters);
  return Buffer.concat([Buffer.from(`*2\r\n$${next.length}\r\n${next}\r\n`, 'latin1'), rest]);
}
