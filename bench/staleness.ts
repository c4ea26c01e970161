// Staleness window for writes made directly on Redis (issue 4): how long after a
// direct write is acknowledged does the proxy keep serving the old value?
//
// One raw connection writes SET k v<i> straight to Redis; as soon as its +OK arrives,
// another raw connection, through the proxy, reads GET k in a tight loop until it sees
// v<i>. The window is measured from the write's acknowledgement to the arrival of the
// first reply carrying the new value, so it includes one proxy round trip: an upper
// bound on the true window. The key is made hot
// (cached) before every write, so each sample really exercises an invalidation.
import net from 'node:net';

class Conn {
  private buf = '';
  private waiters: { resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  private closed: Error | null = null;
  private constructor(private readonly s: net.Socket) {
    s.setNoDelay(true);
    s.on('data', (d) => {
      this.buf += d.toString('latin1');
      for (;;) {
        const r = this.takeReply();
        if (r === null) break;
        this.waiters.shift()?.resolve(r);
      }
    });
    // a peer that goes away fails the pending and later commands instead of leaving them pending forever
    s.on('error', (e) => (this.closed ??= e));
    s.on('close', () => {
      this.closed ??= new Error('connection closed');
      for (const w of this.waiters.splice(0)) w.reject(this.closed);
    });
  }
  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }
  /** simple replies and bulk strings only: enough for SET/GET */
  private takeReply(): string | null {
    const cr = this.buf.indexOf('\r\n');
    if (cr < 0) return null;
    if (this.buf[0] === '$') {
      const n = Number(this.buf.slice(1, cr));
      if (n < 0) {
        this.buf = this.buf.slice(cr + 2);
        return '(nil)';
      }
      if (this.buf.length < cr + 2 + n + 2) return null;
      const v = this.buf.slice(cr + 2, cr + 2 + n);
      this.buf = this.buf.slice(cr + 2 + n + 2);
      return v;
    }
    const line = this.buf.slice(0, cr);
    this.buf = this.buf.slice(cr + 2);
    return line;
  }
  cmd(...args: string[]): Promise<string> {
    const wire = `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.s.write(wire);
    });
  }
  close(): void {
    this.s.destroy();
  }
}

export interface StalenessResult {
  samples: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** reads that saw the old value after the write was acknowledged (before the invalidation arrived) */
  staleReads: number;
  /** samples where the new value never appeared within the deadline */
  neverFresh: number;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function measureStaleness(redisPort: number, proxyPort: number, samples = 500, deadlineMs = 1000): Promise<StalenessResult> {
  const writer = await Conn.open(redisPort);
  const reader = await Conn.open(proxyPort);
  const windows: number[] = [];
  let staleReads = 0;
  let neverFresh = 0;
  try {
    await reader.cmd('PING');
    for (let i = 0; i < samples; i++) {
      const key = `staleness:${i % 16}`;
      await writer.cmd('SET', key, `old${i}`);
      // make it hot: the first read fills, the next ones are served from the cache
      const t = performance.now();
      while ((await reader.cmd('GET', key)) !== `old${i}` && performance.now() - t < deadlineMs);
      await reader.cmd('GET', key);
      await writer.cmd('SET', key, `new${i}`);
      const acked = performance.now();
      for (;;) {
        const v = await reader.cmd('GET', key);
        const now = performance.now();
        if (v === `new${i}`) {
          windows.push((now - acked) * 1000);
          break;
        }
        staleReads++;
        if (now - acked > deadlineMs) {
          neverFresh++;
          break;
        }
      }
    }
  } finally {
    writer.close();
    reader.close();
  }
  windows.sort((a, b) => a - b);
  return {
    samples: windows.length,
    p50Us: pct(windows, 50),
    p99Us: pct(windows, 99),
    maxUs: windows.length ? windows[windows.length - 1] : NaN,
    staleReads,
    neverFresh,
  };
}

// Standalone: node --import tsx bench/staleness.ts <redisPort> <proxyPort> [samples]
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  const [redisPort, proxyPort, n] = process.argv.slice(2).map(Number);
  measureStaleness(redisPort, proxyPort, n || 500).then((r) => console.log(JSON.stringify(r)));
}
