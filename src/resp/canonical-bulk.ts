// A bulk string in its one canonical spelling, `$<len>\r\n<bytes>\r\n`, found where it lies
// in a read buffer (the in-place paths: session/in-place-gets.ts, session/in-place-auth.ts).
// Anything else (no digits, a leading zero, a bulk cut by the read's end) is not one: those
// requests go to the decoder, which answers what Redis would.

/** where the last bulk found lies (one per process: a read is handled whole before the next) */
export const BULK = { off: 0, len: 0 };

/**
 * The bulk at buf[pos], complete before n, its length in at most `maxDigits` digits: sets
 * BULK and returns where it ends, or -1. (A bulk within one read is far below
 * --proto-max-bulk-len, which is at least 1mb.)
 */
export function canonicalBulkAt(buf: Buffer, pos: number, n: number, maxDigits: number): number {
  if (pos >= n || buf[pos] !== 0x24) return -1;
  const digits = pos + 1;
  let i = digits;
  let len = 0;
  while (i < n && i - digits < maxDigits && buf[i] >= 0x30 && buf[i] <= 0x39) len = len * 10 + buf[i++] - 0x30;
  if (i === digits || (buf[digits] === 0x30 && i - digits > 1)) return -1;
  const off = i + 2;
  const end = off + len + 2;
  if (end > n || buf[i] !== 13 || buf[i + 1] !== 10 || buf[end - 2] !== 13 || buf[end - 1] !== 10) return -1;
  BULK.off = off;
  BULK.len = len;
  return end;
}
