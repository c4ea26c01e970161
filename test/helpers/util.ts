// Small shared utilities: free ports, bounded waits, byte-string encoding and readable byte dumps.
import { readFileSync } from 'node:fs';
import net from 'node:net';

// Ports for the tests' servers come from below the kernel's ephemeral range. A port the
// kernel handed out for listen(0) and that was closed again is from the range every
// outgoing connection's local port comes from: with hundreds of client connections in
// flight, one could take it before redis-server or the proxy bound it (EADDRINUSE, or a
// client reaching another test's server). Each process starts at a random place, never
// hands out a port twice, and checks that a port is free before handing it out.
const FIRST_TEST_PORT = 15_000;

function ephemeralRangeStart(): number {
  try {
    const lo = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/)[0]);
    return Number.isInteger(lo) && lo > 0 ? lo : 32_768;
  } catch {
    return 32_768;
  }
}

const testPortEnd = ephemeralRangeStart();
const handedOut = new Set<number>();
let nextTestPort = FIRST_TEST_PORT + Math.floor(Math.random() * Math.max(1, testPortEnd - FIRST_TEST_PORT));

/** Listen on `port` (0: any) at 127.0.0.1 and close again; resolves to the port, or null if it was taken. */
function tryPort(port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => (port !== 0 && (err.code === 'EADDRINUSE' || err.code === 'EACCES') ? resolve(null) : reject(err)));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('getFreePort: unexpected server address'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** A port nothing listens on at 127.0.0.1 now, not handed out before by this process. */
export async function getFreePort(): Promise<number> {
  const span = testPortEnd - FIRST_TEST_PORT;
  // (a machine whose ephemeral range starts low leaves no room below it: ask the kernel)
  if (span < 2_000) return (await tryPort(0)) as number;
  for (let tries = 0; tries < span; tries++) {
    const port = nextTestPort;
    nextTestPort = nextTestPort + 1 >= testPortEnd ? FIRST_TEST_PORT : nextTestPort + 1;
    if (handedOut.has(port)) continue;
    if ((await tryPort(port)) === null) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`getFreePort: no free port in ${FIRST_TEST_PORT}-${testPortEnd - 1}`);
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
