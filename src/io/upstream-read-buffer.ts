// The one buffer every plain connection to Redis reads into (Node's `onread`), instead of
// a fresh 64 KB allocation per read. A read is handled whole, synchronously, before the
// next read of any connection lands, so a frame handed on as a range of it is valid only
// during that call: whatever is kept past it (a frame spanning reads, a reply a socket
// could not send at once) is copied first.

export const UPSTREAM_READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

/** Is `buf` (a view) over the shared read buffer, so that it must be copied to be kept? */
export function isUpstreamRead(buf: Uint8Array): boolean {
  return buf.buffer === UPSTREAM_READ_BUFFER.buffer;
}

/** buf[start, end) as bytes that may be kept: a copy when buf is the shared read buffer. */
export function keptSlice(buf: Buffer, start: number, end: number): Buffer {
  if (!isUpstreamRead(buf)) return buf.subarray(start, end);
  const copy = Buffer.allocUnsafe(end - start);
  buf.copy(copy, 0, start, end);
  return copy;
}
