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
  /**
   * From the acknowledgement to the sending of the read that returned the new value: how
   * long clients could see the old value (0 when the first read after the +OK was fresh).
   */
  stalePeriod: Percentiles;
  /** a GET of a key not in the cache, through the proxy, timed in every sample: the least a window can be */
  missRoundTrip: Percentiles;
  /**
   * How long after the writer's +OK Redis's invalidation for the key reached another
   * tracking connection (one of the harness's own): Redis writes the reply first.
   */
  pushLag: Percentiles;
}

export interface Percentiles {
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function percentiles(values: number[]): Percentiles {
  const v = [...values].sort((a, b) => a - b);
  return { p50Us: pct(v, 50), p99Us: pct(v, 99), maxUs: v.length ? v[v.length - 1] : NaN };
}

/** A RESP2 subscriber of __redis__:invalidate: tells when the next invalidation arrives. */
class InvalidationWatch {
  private waiter: ((at: number) => void) | null = null;
  private constructor(
    private readonly s: net.Socket,
    readonly id: number,
  ) {
    s.on('data', () => {
      const w = this.waiter;
      this.waiter = null;
      w?.(performance.now());
    });
  }
  static async open(port: number): Promise<InvalidationWatch> {
    const s = await new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => resolve(c));
      c.once('error', reject);
    });
    s.setNoDelay(true);
    const once = (wire: string): Promise<string> =>
      new Promise((resolve) => {
        s.once('data', (d) => resolve(d.toString('latin1')));
        s.write(wire);
      });
    const id = Number(/^:(\d+)/.exec(await once('CLIENT ID\r\n'))?.[1]);
    await once('SUBSCRIBE __redis__:invalidate\r\n');
    return new InvalidationWatch(s, id);
  }
  /** resolves with the arrival time of the next message (or null after timeoutMs) */
  next(timeoutMs: number): Promise<number | null> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, timeoutMs);
      this.waiter = (at) => {
        clearTimeout(t);
        resolve(at);
      };
    });
  }
  close(): void {
    this.s.destroy();
  }
}

export async function measureStaleness(redisPort: number, proxyPort: number, samples = 500, deadlineMs = 1000): Promise<StalenessResult> {
  const writer = await Conn.open(redisPort);
  const reader = await Conn.open(proxyPort);
  // a second tracking client of Redis, beside the proxy's: when does an invalidation leave Redis?
  const watch = await InvalidationWatch.open(redisPort);
  const tracked = await Conn.open(redisPort);
  const windows: number[] = [];
  const stalePeriods: number[] = [];
  const missTrips: number[] = [];
  const pushLags: number[] = [];
  const run = Date.now().toString(36);
  let staleReads = 0;
  let neverFresh = 0;
  try {
    await reader.cmd('PING');
    await tracked.cmd('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(watch.id));
    for (let i = 0; i < samples; i++) {
      const key = `staleness:${i % 16}`;
      await writer.cmd('SET', key, `old${i}`);
      // make it hot: the first read fills, the next ones are served from the cache
      const t = performance.now();
      while ((await reader.cmd('GET', key)) !== `old${i}` && performance.now() - t < deadlineMs);
      await reader.cmd('GET', key);
      await tracked.cmd('GET', key);
      const pushed = watch.next(deadlineMs);
      await writer.cmd('SET', key, `new${i}`);
      const acked = performance.now();
      for (;;) {
        const sent = performance.now();
        const v = await reader.cmd('GET', key);
        const now = performance.now();
        if (v === `new${i}`) {
          windows.push((now - acked) * 1000);
          stalePeriods.push((sent - acked) * 1000);
          break;
        }
        staleReads++;
        if (now - acked > deadlineMs) {
          neverFresh++;
          break;
        }
      }
      const pushAt = await pushed;
      if (pushAt !== null) pushLags.push((pushAt - acked) * 1000);
      // the floor of a window: one GET that the cache cannot answer, in the same conditions
      const m0 = performance.now();
      await reader.cmd('GET', `staleness:absent:${run}:${i}`);
      missTrips.push((performance.now() - m0) * 1000);
    }
  } finally {
    writer.close();
    reader.close();
    tracked.close();
    watch.close();
  }
  const w = percentiles(windows);
  return {
    samples: windows.length,
    ...w,
    staleReads,
    neverFresh,
    stalePeriod: percentiles(stalePeriods),
    missRoundTrip: percentiles(missTrips),
    pushLag: percentiles(pushLags),
  };
}

// Standalone: node --import tsx bench/staleness.ts <redisPort> <proxyPort> [samples]
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  const [redisPort, proxyPort, n] = process.argv.slice(2).map(Number);
  measureStaleness(redisPort, proxyPort, n || 500).then((r) => console.log(JSON.stringify(r)));
}
