import { ReplyScanner } from '../resp/reply-scanner.js';

// The few RESP pieces the whole-keyspace merges read and write. These commands are rare
// (DBSIZE, KEYS, SCAN, INFO, CLUSTER ...), so plain allocation is fine here: clarity over speed.

export class KeyspaceReplyError extends Error {}

const CRLF = '\r\n';

export function isErrorReply(frame: Buffer): boolean {
  return frame[0] === 0x2d || frame[0] === 0x21;
}

/** A nil: `$-1` / `*-1` in RESP2, `_` in RESP3. */
export function isNilReply(frame: Buffer): boolean {
  return frame[0] === 0x5f || ((frame[0] === 0x24 || frame[0] === 0x2a) && frame[1] === 0x2d);
}

/** The first error among the replies (in target order), as one Redis would have failed. */
export function firstError(replies: readonly Buffer[]): Buffer | null {
  for (const r of replies) if (isErrorReply(r)) return r;
  return null;
}

/** The length line of a frame (`:12`, `*3`, `$5`) as a number. */
function headerNumber(frame: Buffer): { n: number; next: number } {
  const cr = frame.indexOf(0x0d, 1);
  if (cr < 0) throw new KeyspaceReplyError('a reply without a line end');
  const n = Number(frame.toString('latin1', 1, cr));
  if (!Number.isInteger(n)) throw new KeyspaceReplyError(`a reply with a bad header ${JSON.stringify(frame.toString('latin1', 0, cr))}`);
  return { n, next: cr + 2 };
}

export function integerOf(frame: Buffer, what: string): number {
  if (frame[0] !== 0x3a) throw new KeyspaceReplyError(`${what} was not answered with an integer`);
  return headerNumber(frame).n;
}

/** The elements of an array or set reply (`*` or `~`), as views of the frame. */
export function elementsOf(frame: Buffer, what: string): Buffer[] {
  if (frame[0] !== 0x2a && frame[0] !== 0x7e) throw new KeyspaceReplyError(`${what} was not answered with an array`);
  const { n, next } = headerNumber(frame);
  const out: Buffer[] = [];
  const scanner = new ReplyScanner();
  let p = next;
  for (let i = 0; i < n; i++) {
    const end = scanner.scan(frame, p);
    if (end < 0) throw new KeyspaceReplyError(`${what}: the reply ends early`);
    out.push(frame.subarray(p, end));
    p = end;
  }
  return out;
}

/** The payload of a bulk (`$`) or verbatim (`=`, its `txt:` dropped) string. */
export function textOf(frame: Buffer, what: string): { text: Buffer; verbatim: boolean } {
  if (frame[0] !== 0x24 && frame[0] !== 0x3d) throw new KeyspaceReplyError(`${what} was not answered with a string`);
  const { n, next } = headerNumber(frame);
  if (n < 0 || next + n > frame.length) throw new KeyspaceReplyError(`${what}: a bad string length`);
  const verbatim = frame[0] === 0x3d;
  return { text: frame.subarray(verbatim ? next + 4 : next, next + n), verbatim };
}

export function integerReply(n: number | bigint): Buffer {
  return Buffer.from(`:${n}${CRLF}`, 'latin1');
}

export function bulkReply(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([Buffer.from(`$${b.length}${CRLF}`, 'latin1'), b, Buffer.from(CRLF, 'latin1')]);
}

/** Text as Redis sends INFO-like replies: a bulk string in RESP2, a verbatim `txt` string in RESP3. */
export function textReply(s: string | Buffer, verbatim: boolean): Buffer {
  if (!verbatim) return bulkReply(s);
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([Buffer.from(`=${b.length + 4}${CRLF}txt:`, 'latin1'), b, Buffer.from(CRLF, 'latin1')]);
}

/** An aggregate of already-encoded elements; `type` is `*` (array) or `~` (set). */
export function arrayReply(elements: readonly Buffer[], type = 0x2a): Buffer {
  return Buffer.concat([Buffer.from(`${String.fromCharCode(type)}${elements.length}${CRLF}`, 'latin1'), ...elements]);
}

/** A map of already-encoded keys and values: `%n` in RESP3, a flat array in RESP2. */
export function mapReply(pairs: ReadonlyArray<readonly [string, Buffer]>, resp3: boolean): Buffer {
  const head = Buffer.from(resp3 ? `%${pairs.length}${CRLF}` : `*${pairs.length * 2}${CRLF}`, 'latin1');
  return Buffer.concat([head, ...pairs.flatMap(([k, v]) => [bulkReply(k), v])]);
}

export function errorReply(message: string): Buffer {
  return Buffer.from(`-${message.replace(/[\r\n]+/g, ' ')}${CRLF}`, 'latin1');
}
