// An in-process fake Redis for the upstream unit tests: a TCP server on 127.0.0.1 whose
// connections record what they are sent, and answer only what the test writes, byte by
// byte. Also a recording UpstreamClient, the other side of the Upstream seam.
import net from 'node:net';
import { afterEach } from 'node:test';
import { parseAddress } from '../../src/config/address.js';
import type { BackendAddress } from '../../src/config/config.js';
import type { UpstreamClient } from '../../src/upstream/upstream.js';

/** A list to push what a test started onto: each is stopped after the test, the last first. */
export function stoppedAfterEach(): Array<() => Promise<void> | void> {
  const stops: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });
  return stops;
}

/** Resolves once `check` holds (polled), or rejects after `ms` naming `what`. */
export async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** One connection the fake accepted. */
export class FakeConn {
  received = Buffer.alloc(0);
  ended = false;

  constructor(
    readonly socket: net.Socket,
    answerProbes: boolean,
  ) {
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      // (the SharingProbe's brand-new connection asks PING and nothing else)
      if (answerProbes && this.text === 'PING\r\n') socket.write('+PONG\r\n');
    });
    socket.on('close', () => (this.ended = true));
    socket.on('error', () => undefined);
  }

  get text(): string {
    return this.received.toString('latin1');
  }

  /** until what it was sent contains `s` (latin1) */
  gets(s: string): Promise<void> {
    return until(`the fake to receive ${JSON.stringify(s)}`, () => this.text.includes(s));
  }

  /** Write `s` (latin1 string, or bytes) as one write; resolves when it is flushed. */
  send(s: string | Buffer): Promise<void> {
    const buf = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
    return new Promise((resolve, reject) => this.socket.write(buf, (err) => (err ? reject(err) : resolve())));
  }

  /** close it from the server side */
  close(): void {
    this.socket.destroy();
  }
}

export class FakeRedis {
  readonly conns: FakeConn[] = [];
  private readonly server: net.Server;

  private constructor(answerProbes: boolean) {
    this.server = net.createServer((s) => {
      s.setNoDelay(true);
      this.conns.push(new FakeConn(s, answerProbes));
    });
  }

  /** answerProbes: a connection whose first bytes are PING alone is answered +PONG (a SharingProbe's) */
  static async start(opts: { answerProbes?: boolean } = {}): Promise<FakeRedis> {
    const f = new FakeRedis(opts.answerProbes ?? false);
    await new Promise<void>((resolve) => f.server.listen(0, '127.0.0.1', resolve));
    return f;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get addr(): BackendAddress {
    return parseAddress(`127.0.0.1:${this.port}`);
  }

  /** the n-th connection accepted (0-based), once it is */
  async conn(n: number): Promise<FakeConn> {
    await until(`connection #${n} to the fake`, () => this.conns.length > n);
    return this.conns[n];
  }

  /** the first connection (in order accepted) whose bytes satisfy `which`, once there is one */
  async find(what: string, which: (c: FakeConn) => boolean): Promise<FakeConn> {
    await until(what, () => this.conns.some(which));
    return this.conns.find(which)!;
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** An UpstreamClient that records what its upstream tells it. */
export class RecordingClient implements UpstreamClient {
  closed = false;
  /** every reply range, copied, with its inChunk flag */
  readonly replies: { text: string; inChunk: boolean }[] = [];
  /** how many replies had come when each flush came */
  readonly flushes: number[] = [];
  readonly lost: string[] = [];
  readonly faults: string[] = [];
  drains = 0;
  readonly internal: { bytes: Buffer; onReply: (frame: Buffer) => void }[] = [];

  constructor(readonly name = 'client') {}

  get texts(): string[] {
    return this.replies.map((r) => r.text);
  }

  onUpstreamReply(buf: Buffer, start: number, end: number, inChunk: boolean): void {
    this.replies.push({ text: buf.toString('latin1', start, end), inChunk });
  }
  onUpstreamFlush(): void {
    this.flushes.push(this.replies.length);
  }
  onUpstreamDrain(): void {
    this.drains++;
  }
  onUpstreamLost(reason: string): void {
    this.lost.push(reason);
  }
  onUpstreamFault(reason: string): void {
    this.faults.push(reason);
  }
  sendInternal(bytes: Buffer, onReply: (frame: Buffer) => void): void {
    this.internal.push({ bytes, onReply });
  }
}

/** A mutable TrackingTarget (the link's redirect id and generation, as a test sets them). */
export interface TestTracking {
  redirectId: number | null;
  generation: number;
}
