// Minimal RESP helpers for the benchmark harness: command encoding, a reply
// scanner that counts complete replies without materialising them, and a tiny
// request/response client used for prefill, INFO and sanity checks.
// Deliberately independent of src/ so the harness works while src/ is in flux.

import net from 'node:net';

const CRLF = '\r\n';

/** Encode one command as a RESP array of bulk strings. */
export function encodeCommand(args: ReadonlyArray<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}${CRLF}`, 'latin1')];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a, 'latin1') : a;
    parts.push(Buffer.from(`$${b.length}${CRLF}`, 'latin1'), b, Buffer.from(CRLF, 'latin1'));
  }
  return Buffer.concat(parts);
}

/** The key naming used everywhere: redis-benchmark's __rand_int__ expands to 12 zero-padded digits. */
export function keyName(prefix: string, index: number, width = 12): string {
  return prefix + String(index).padStart(width, '0');
}

/** Deterministic value bytes of a given size (printable, differs per key so caches cannot alias). */
export function valueFor(index: number, size: number): Buffer {
  const b = Buffer.alloc(size, 0x78); // 'x'
  const tag = Buffer.from(`v${index}:`, 'latin1');
  tag.copy(b, 0, 0, Math.min(tag.length, size));
  return b;
}

export interface ScanResult {
  /** complete top-level replies found */
  replies: number;
  /** offset just past the last complete reply */
  end: number;
  /** of those replies: nil bulk/array ($-1 / *-1 / _) */
  nils: number;
  /** of those replies: error replies (-ERR ...) */
  errors: number;
}

/**
 * Scan `buf` from `start` and count complete top-level RESP2/RESP3 replies.
 * Incomplete trailing data is left for the next call (returned `end` < length).
 */
export function scanReplies(buf: Buffer, start: number, limit = Number.MAX_SAFE_INTEGER): ScanResult {
  let pos = start;
  let replies = 0;
  let nils = 0;
  let errors = 0;
  const len = buf.length;
  while (pos < len && replies < limit) {
    const r = scanOne(buf, pos, len);
    if (r < 0) break;
    const t = buf[pos];
    if (t === 0x2d /* - */) errors++;
    else if (t === 0x5f /* _ */) nils++;
    else if ((t === 0x24 /* $ */ || t === 0x2a) /* * */ && buf[pos + 1] === 0x2d /* - */) nils++;
    pos = r;
    replies++;
  }
  return { replies, end: pos, nils, errors };
}

/** Returns the end offset of the reply at `pos`, or -1 when incomplete. */
function scanOne(buf: Buffer, pos: number, len: number): number {
  // Explicit stack of "elements still expected" for aggregates.
  let pending = 1;
  const stack: number[] = [];
  while (pending > 0) {
    if (pos >= len) return -1;
    const t = buf[pos];
    const lineEnd = buf.indexOf(0x0d, pos + 1);
    if (lineEnd < 0 || lineEnd + 1 >= len) return -1;
    switch (t) {
      case 0x2b: // + simple string
      case 0x2d: // - error
      case 0x3a: // : integer
      case 0x5f: // _ null (RESP3)
      case 0x23: // # boolean
      case 0x2c: // , double
      case 0x28: // ( big number
        pos = lineEnd + 2;
        pending--;
        break;
      case 0x24: // $ bulk string
      case 0x21: // ! bulk error
      case 0x3d: {
        // = verbatim
        const n = parseIntAt(buf, pos + 1, lineEnd);
        if (n < 0) {
          pos = lineEnd + 2;
        } else {
          const end = lineEnd + 2 + n + 2;
          if (end > len) return -1;
          pos = end;
        }
        pending--;
        break;
      }
      case 0x2a: // * array
      case 0x7e: // ~ set
      case 0x3e: // > push
      case 0x25: {
        // % map
        let n = parseIntAt(buf, pos + 1, lineEnd);
        if (t === 0x25 && n > 0) n *= 2;
        pos = lineEnd + 2;
        pending--;
        if (n > 0) {
          stack.push(pending);
          pending = n;
        }
        break;
      }
      default:
        throw new Error(`unexpected RESP type byte 0x${(t ?? 0).toString(16)} at ${pos}`);
    }
    while (pending === 0 && stack.length > 0) pending = stack.pop() ?? 0;
  }
  return pos;
}

function parseIntAt(buf: Buffer, from: number, to: number): number {
  let neg = false;
  let i = from;
  if (buf[i] === 0x2d) {
    neg = true;
    i++;
  }
  let n = 0;
  for (; i < to; i++) n = n * 10 + (buf[i] - 0x30);
  return neg ? -n : n;
}

export type Reply = string | number | Buffer | null | Error | Reply[];

/** Full (slow, allocation-happy) reply decoder for the control-plane client. Returns [reply, end] or null. */
export function decodeReply(buf: Buffer, pos: number): [Reply, number] | null {
  if (pos >= buf.length) return null;
  const lineEnd = buf.indexOf('\r\n', pos + 1, 'latin1');
  if (lineEnd < 0) return null;
  const t = String.fromCharCode(buf[pos]);
  const line = buf.toString('latin1', pos + 1, lineEnd);
  const next = lineEnd + 2;
  switch (t) {
    case '+':
      return [line, next];
    case '-':
      return [new Error(line), next];
    case ':':
      return [Number(line), next];
    case '_':
      return [null, next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (next + n + 2 > buf.length) return null;
      return [buf.subarray(next, next + n), next + n + 2];
    }
    case '*':
    case '>':
    case '~': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const out: Reply[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = decodeReply(buf, p);
        if (r === null) return null;
        out.push(r[0]);
        p = r[1];
      }
      return [out, p];
    }
    default:
      throw new Error(`unsupported reply type ${t}`);
  }
}

/**
 * A small promise-based client: one connection, FIFO replies, pipelining via `sendMany`.
 * Used for prefill, INFO, sanity checks — not for measurements.
 */
export class MiniClient {
  private sock: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  private closedErr: Error | null = null;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', (e) => this.fail(e));
    sock.on('close', () => this.fail(new Error('connection closed')));
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<MiniClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`connect ${host}:${port} timed out`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(new MiniClient(sock));
      });
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  private fail(e: Error): void {
    if (this.closedErr) return;
    this.closedErr = e;
    for (const w of this.waiters.splice(0)) w.reject(e);
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let pos = 0;
    while (this.waiters.length > 0) {
      const r = decodeReply(this.buf, pos);
      if (r === null) break;
      pos = r[1];
      const w = this.waiters.shift();
      w?.resolve(r[0]);
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : this.buf.subarray(pos);
  }

  command(args: ReadonlyArray<string | Buffer>, timeoutMs = 10_000): Promise<Reply> {
    return this.raw(encodeCommand(args), timeoutMs);
  }

  raw(encoded: Buffer, timeoutMs = 10_000): Promise<Reply> {
    if (this.closedErr) return Promise.reject(this.closedErr);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('command timed out')), timeoutMs);
      this.waiters.push({
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.sock.write(encoded);
    });
  }

  /**
   * Send many pre-encoded commands with at most `window` in flight; resolves with the
   * number of error replies. Bounded by `timeoutMs` overall.
   */
  async sendMany(commands: Iterable<Buffer>, window = 512, timeoutMs = 120_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let errors = 0;
    let batch: Buffer[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const waits: Array<Promise<Reply>> = [];
      for (let i = 0; i < batch.length; i++) {
        waits.push(new Promise<Reply>((resolve, reject) => this.waiters.push({ resolve, reject })));
      }
      if (this.closedErr) throw this.closedErr;
      this.sock.write(batch.length === 1 ? batch[0] : Buffer.concat(batch));
      batch = [];
      const remaining = Math.max(1, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('sendMany timed out')), remaining);
      });
      try {
        const results = await Promise.race([Promise.all(waits), timeout]);
        for (const r of results) if (r instanceof Error) errors++;
      } finally {
        clearTimeout(timer);
      }
    };
    for (const c of commands) {
      batch.push(c);
      if (batch.length >= window) await flush();
    }
    await flush();
    return errors;
  }

  close(): void {
    this.closedErr ??= new Error('closed by caller');
    this.sock.destroy();
  }
}

/** Parse `INFO` text into a flat map. */
export function parseInfo(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

/** calls= count of one command from `INFO commandstats` (0 when absent). */
export function commandCalls(info: Map<string, string>, cmd: string): number {
  const v = info.get(`cmdstat_${cmd}`);
  if (!v) return 0;
  const m = /calls=(\d+)/.exec(v);
  return m ? Number(m[1]) : 0;
}
