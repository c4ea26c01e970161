// A raw TCP client speaking bytes: writes exactly what it is given, reads whole RESP frames.
import net from 'node:net';
import { bytes, escapeBytes, withTimeout } from './util.js';
import { cmd, frameEnd } from './resp.js';

/** Thrown by reads that did not complete; carries whatever had been received. */
export class ReadError extends Error {
  constructor(
    message: string,
    readonly received: Buffer,
  ) {
    super(`${message}; received so far: "${escapeBytes(received)}"`);
  }
}

export class RawClient {
  private buf: Buffer = Buffer.alloc(0);
  /** offset up to which `buf` is known to consist of complete frames, and how many */
  private scanned = 0;
  private scannedFrames = 0;
  private wakeups: Array<() => void> = [];
  private isClosed = false;
  private closedPromise: Promise<void>;
  private lastData = Date.now();
  /** the socket error that ended the connection, if any (e.g. ECONNRESET) */
  error: Error | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.lastData = Date.now();
      this.wake();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<RawClient> {
    return withTimeout(
      new Promise<RawClient>((resolve, reject) => {
        const socket = net.connect({ port, host });
        const onError = (err: Error) => reject(err);
        socket.once('error', onError);
        socket.once('connect', () => {
          socket.off('error', onError);
          resolve(new RawClient(socket));
        });
      }),
      timeoutMs,
      `connect to ${host}:${port}`,
    );
  }

  get closedYet(): boolean {
    return this.isClosed;
  }

  /** Strings are byte strings: each char is one byte (latin1). */
  write(data: string | Buffer): void {
    this.socket.write(bytes(data));
  }

  /** Writes `data` in pieces of `size` bytes, yielding to the event loop between them. */
  async writeChunked(data: string | Buffer, size: number, pauseMs = 1): Promise<void> {
    const b = bytes(data);
    for (let i = 0; i < b.length; i += size) {
      this.socket.write(b.subarray(i, i + size));
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  /** Bytes received and not consumed yet. */
  pending(): Buffer {
    return this.buf;
  }

  private wake(): void {
    const w = this.wakeups;
    this.wakeups = [];
    for (const f of w) f();
  }

  /** Waits for new data or close, at most `ms`. */
  private waitEvent(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeups.push(done);
    });
  }

  private take(len: number): Buffer {
    const out = this.buf.subarray(0, len);
    this.buf = this.buf.subarray(len);
    this.scanned = 0;
    this.scannedFrames = 0;
    return out;
  }

  /** Extends the scan of complete frames as far as the buffer allows (max n frames). */
  private scan(n: number): void {
    while (this.scannedFrames < n) {
      const end = frameEnd(this.buf, this.scanned); // throws RespFrameError on garbage
      if (end < 0) return;
      this.scanned = end;
      this.scannedFrames++;
    }
  }

  /**
   * Resolves with exactly `n` complete reply frames (push messages and attribute-prefixed
   * replies count as one frame each). Rejects with ReadError on timeout or close.
   */
  async readFrames(n: number, timeoutMs = 5000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.scan(n);
      if (this.scannedFrames >= n) {
        const all = this.take(this.scanned);
        const frames: Buffer[] = [];
        let pos = 0;
        while (pos < all.length) {
          const end = frameEnd(all, pos);
          frames.push(all.subarray(pos, end));
          pos = end;
        }
        return frames;
      }
      if (this.isClosed) {
        throw new ReadError(`connection closed after ${this.scannedFrames} of ${n} frames`, this.buf);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ReadError(`timed out after ${timeoutMs} ms with ${this.scannedFrames} of ${n} frames`, this.buf);
      }
      await this.waitEvent(left);
    }
  }

  /** Sends one command (its arguments) and reads its reply: one frame, as latin1 text. */
  async ask(...args: string[]): Promise<string> {
    this.write(cmd(...args));
    return (await this.readFrame()).toString('latin1');
  }

  /** One frame. */
  async readFrame(timeoutMs = 5000): Promise<Buffer> {
    const [f] = await this.readFrames(1, timeoutMs);
    return f;
  }

  /**
   * Everything received until the socket has been quiet for `quietMs` (counting from the
   * call if nothing arrives), or closed, or `timeoutMs` has passed. Consumes it.
   */
  async readBytes(timeoutMs = 5000, quietMs = 200): Promise<Buffer> {
    const start = Date.now();
    const deadline = start + timeoutMs;
    let quietFrom = Math.max(start, this.lastData);
    for (;;) {
      if (this.isClosed) break;
      const now = Date.now();
      if (now >= deadline) break;
      quietFrom = Math.max(quietFrom, this.lastData);
      const quietLeft = quietFrom + quietMs - now;
      if (quietLeft <= 0) break;
      await this.waitEvent(Math.min(quietLeft, deadline - now));
    }
    return this.take(this.buf.length);
  }

  /** Everything until the server closes the connection; ReadError if it does not in time. */
  async readUntilClosed(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isClosed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new ReadError(`server did not close the connection within ${timeoutMs} ms`, this.buf);
      await this.waitEvent(left);
    }
    return this.take(this.buf.length);
  }

  /** Resolves when the connection has been closed (by the server, or by end()). */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  /** Half-closes our side (FIN); the socket is fully closed once the server closes too. */
  end(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** Closes immediately. */
  destroy(): void {
    this.socket.destroy();
  }
}

/** `bytes` written on a new connection to `port`; its first `n` replies as text (latin1), then it is closed. */
export async function firstReplies(port: number, bytes: string, n: number): Promise<string[]> {
  const c = await RawClient.connect(port);
  try {
    c.write(bytes);
    return (await c.readFrames(n)).map((f) => f.toString('latin1'));
  } finally {
    c.destroy();
  }
}
