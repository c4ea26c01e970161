import { ReplyScanner } from '../resp/reply-scanner.js';
import { isUpstreamRead, keptSlice } from '../io/upstream-read-buffer.js';

// The one loop that cuts a connection's reply stream into frames (node-redis keeps it in
// its decoder, once): a frame that lies within one read is handed over as a range of that
// read's chunk, so frames side by side can go on as one slice; one that spans reads is
// joined into a Buffer of its own. Both the shared connections and a client's own use it.

/**
 * buf[start, end) is one reply frame; inChunk: buf is the read's chunk, else the frame alone.
 * A chunk may be the shared read buffer (io/upstream-read-buffer.ts): valid only during the
 * call, so a sink copies what it keeps (keptSlice).
 */
export type FrameSink = (buf: Buffer, start: number, end: number, inChunk: boolean) => void;

export class ReplyReader {
  /**
   * Set (by the sink, between frames) when replies stop having frames the proxy can find:
   * the rest of the stream goes to the sink as it comes, in ranges that need not be frames.
   */
  raw = false;
  private scanner = new ReplyScanner();
  private partial: Buffer[] = [];

  constructor(private readonly sink: FrameSink) {}

  /** One read from the socket. Throws ReplyProtocolError when the bytes are no RESP. */
  read(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.raw) {
        this.sink(chunk, pos, chunk.length, true);
        return;
      }
      const end = this.scanner.scan(chunk, pos);
      if (end < 0) {
        // (a copy when the chunk is the shared read buffer, which the next read overwrites)
        this.partial.push(pos === 0 && !isUpstreamRead(chunk) ? chunk : keptSlice(chunk, pos, chunk.length));
        return;
      }
      if (this.partial.length > 0) {
        this.partial.push(chunk.subarray(pos, end));
        const frame = Buffer.concat(this.partial);
        this.partial = [];
        this.sink(frame, 0, frame.length, false);
      } else {
        this.sink(chunk, pos, end, true);
      }
      pos = end;
    }
  }

  /** Forget a frame half read (the connection it came on is gone). */
  reset(): void {
    this.scanner = new ReplyScanner();
    this.partial = [];
  }
}
