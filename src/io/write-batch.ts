import type net from 'node:net';
import { keptSlice } from './upstream-read-buffer.js';

// Bytes that leave in one write: replies to a client, requests to Redis. A read's worth of
// small frames is copied into one buffer (one system call, one chunk on the wire); large
// ones are corked instead of copied.

/** Bytes to write: a Buffer, or a latin1 string (how the cache keeps replies). */
export type OutBytes = Buffer | string;

/** up to this many bytes of small parts are copied into one buffer rather than written one by one */
const COALESCE_MAX = 64 * 1024;

/**
 * Buffer's own latin1 encoder (what buf.write(s, at, 'latin1') ends in), called without
 * write()'s argument juggling: it was a tenth of a cached GET's cost at -P 16.
 */
interface Latin1Writable {
  latin1Write(s: string, offset: number): number;
}

function writeOne(socket: net.Socket, part: OutBytes): void {
  if (typeof part === 'string') socket.write(part, 'latin1');
  else socket.write(part);
}

/** Write `parts` (`bytes` in all) with one call: small ones copied into one buffer, large ones corked. */
export function writeAll(socket: net.Socket, parts: OutBytes[], bytes: number): void {
  if (parts.length === 1) writeOne(socket, parts[0]);
  else if (bytes <= COALESCE_MAX) socket.write(joinParts(parts, bytes));
  else {
    socket.cork();
    for (const part of parts) writeOne(socket, part);
    socket.uncork();
  }
}

/** The parts as one Buffer of `bytes` bytes. */
export function joinParts(parts: OutBytes[], bytes: number): Buffer {
  if (parts.length === 1 && typeof parts[0] !== 'string') return parts[0];
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const part of parts) at += typeof part === 'string' ? (out as unknown as Latin1Writable).latin1Write(part, at) : part.copy(out, at);
  return out;
}

/**
 * Parts gathered while one read is handled, written together at its end. Adjacent slices
 * of one buffer (frames that lay side by side in a read) are merged into one slice.
 */
export class WriteBatch {
  parts: OutBytes[] = [];
  bytes = 0;
  private runBuf: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;

  /** buf[start, end), merged with the previous slice when it directly follows it */
  addSlice(buf: Buffer, start: number, end: number): void {
    if (this.runBuf === buf && this.runEnd === start) {
      this.runEnd = end;
      return;
    }
    this.closeRun();
    this.runBuf = buf;
    this.runStart = start;
    this.runEnd = end;
  }

  add(bytes: OutBytes): void {
    this.closeRun();
    this.parts.push(bytes);
    this.bytes += bytes.length;
  }

  get empty(): boolean {
    return this.parts.length === 0 && this.runBuf === null;
  }

  /** Everything gathered, in order, and the batch emptied. */
  take(): OutBytes[] {
    this.closeRun();
    const parts = this.parts;
    this.parts = [];
    this.bytes = 0;
    return parts;
  }

  /** Drop what is gathered (the connection it was for is gone). */
  clear(): void {
    this.runBuf = null;
    this.parts = [];
    this.bytes = 0;
  }

  /** the open slice becomes a part (before anything that is not next to it) */
  closeRun(): void {
    const buf = this.runBuf;
    if (buf === null) return;
    this.runBuf = null;
    if (this.runEnd > this.runStart) {
      // (a socket may keep what it could not send at once: a range of the shared read buffer is copied)
      this.parts.push(keptSlice(buf, this.runStart, this.runEnd));
      this.bytes += this.runEnd - this.runStart;
    }
  }

  /** Write what is gathered to `socket` in one call (nothing if it is closing). */
  writeTo(socket: net.Socket): void {
    this.closeRun();
    if (this.parts.length === 0) return;
    // (writeAll keeps no reference to the array: it is emptied in place for the next batch)
    if (!socket.writableEnded && !socket.destroyed) writeAll(socket, this.parts, this.bytes);
    this.parts.length = 0;
    this.bytes = 0;
  }
}
