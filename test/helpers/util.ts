// Small shared utilities: free ports, bounded waits, byte-string encoding and readable byte dumps.
import net from 'node:net';

/** Binds port 0 on 127.0.0.1, reads the port the kernel chose, closes it. */
export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('getFreePort: unexpected server address'));
        return;
      }
      const { port } = addr;
      srv.close(() => resolve(port));
    });
  });
}

export class TimeoutError extends Error {}

/** Rejects with a TimeoutError naming `what` if `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Test byte strings are written as JS strings where each char is one byte (latin1), so
 * '\xff' is the byte 0xff and '\0' is NUL. This never UTF-8 encodes.
 */
export function bytes(data: string | Buffer): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
}

/** A readable, unambiguous rendering of bytes: printable ASCII as is, others escaped. */
export function escapeBytes(buf: Buffer, max = 400): string {
  let out = '';
  const n = Math.min(buf.length, max);
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c === 0x0d) out += '\\r';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x22) out += '\\"';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += '\\x' + c.toString(16).padStart(2, '0');
  }
  if (buf.length > max) out += `...(+${buf.length - max} bytes)`;
  return out;
}

/** Index of the first differing byte, or -1 when equal. */
export function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** A message describing where two byte sequences diverge, with context on both sides. */
export function describeDifference(expected: Buffer, actual: Buffer, context = 80): string {
  const i = firstDifference(expected, actual);
  if (i < 0) return 'identical';
  const from = Math.max(0, i - context);
  const show = (b: Buffer) =>
    `${from > 0 ? '...' : ''}${escapeBytes(b.subarray(from, i))}⟦${escapeBytes(b.subarray(i, i + context), context)}⟧`;
  return [
    `first difference at byte ${i} (expected ${expected.length} bytes, got ${actual.length})`,
    `  expected: ${show(expected)}`,
    `  actual:   ${show(actual)}`,
  ].join('\n');
}
