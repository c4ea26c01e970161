// A TCP relay that adds a fixed one-way delay in each direction, to stand in for
// "Redis across a network" on a single machine. Byte order is preserved: every
// chunk is queued with its due time and the queues are strictly FIFO.
//
// Timing: Node timers have 1 ms granularity (setTimeout truncates fractions), so
// in the default "precise" mode the relay sleeps with setTimeout while the next
// due time is >= 2 ms away and finishes the last stretch by re-checking the clock
// from setImmediate (the event loop keeps serving I/O meanwhile). That costs CPU
// only while delayed data is actually queued. "--coarse" uses setTimeout only
// (no spinning; delays round up to whole milliseconds, typically +0.1..1 ms).
//
//   node --import tsx bench/delay-relay.ts --port 7002 --upstream 127.0.0.1:6379 --delay-ms 0.5

import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { arg, isMain, relayArgs, runAsChild, startRelayServer, type RelayOptions } from './lib/server-skeleton.js';

export interface DelayRelayOptions extends RelayOptions {
  /** one-way delay added in each direction, milliseconds */
  delayMs: number;
  /** setTimeout only (ms granularity, no busy re-checks) */
  coarse?: boolean;
}

/** One direction of one connection: FIFO of (due time, chunk). */
class DelayedPipe {
  private chunks: Buffer[] = [];
  private dues: number[] = [];
  private head = 0;
  private armed = false;
  private ended = false;

  constructor(
    private readonly src: net.Socket,
    private readonly dst: net.Socket,
    private readonly delayMs: number,
    private readonly coarse: boolean,
  ) {
    src.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.dues.push(performance.now() + this.delayMs);
      this.arm();
    });
    src.on('end', () => {
      this.ended = true;
      this.maybeEnd();
    });
    dst.on('drain', () => src.resume());
  }

  private arm(): void {
    if (this.armed || this.head >= this.chunks.length) return;
    this.armed = true;
    const wait = this.dues[this.head] - performance.now();
    if (this.coarse) {
      setTimeout(this.flush, Math.max(1, Math.ceil(wait)));
    } else if (wait >= 2) {
      setTimeout(this.flush, Math.floor(wait - 1));
    } else {
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.armed = false;
    const now = performance.now();
    const out: Buffer[] = [];
    while (this.head < this.chunks.length && this.dues[this.head] <= now) {
      out.push(this.chunks[this.head]);
      this.head++;
    }
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.dues = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.chunks = this.chunks.slice(this.head);
      this.dues = this.dues.slice(this.head);
      this.head = 0;
    }
    if (out.length > 0 && !this.dst.destroyed) {
      const ok = this.dst.write(out.length === 1 ? out[0] : Buffer.concat(out));
      if (!ok) this.src.pause();
    }
    this.arm();
    this.maybeEnd();
  };

  private maybeEnd(): void {
    if (this.ended && this.head >= this.chunks.length && !this.dst.destroyed) this.dst.end();
  }
}

export function startDelayRelay(opts: DelayRelayOptions): Promise<net.Server> {
  return startRelayServer(opts, (client, upstream) => {
    new DelayedPipe(client, upstream, opts.delayMs, opts.coarse ?? false);
    new DelayedPipe(upstream, client, opts.delayMs, opts.coarse ?? false);
  });
}

if (isMain(import.meta.url)) {
  const o = relayArgs(7002);
  const delayMs = Number(arg('--delay-ms', '0.5'));
  const coarse = process.argv.includes('--coarse');
  runAsChild('delay-relay', async () => {
    await startDelayRelay({ ...o, delayMs, coarse });
    return `delay relay 127.0.0.1:${o.port} -> ${o.upstreamHost}:${o.upstreamPort}, +${delayMs} ms each way${coarse ? ' (coarse)' : ''}`;
  });
}
