import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

// The event loop's delay over the last full second, for /stats and the status page.
// prom-client keeps its own histogram and resets it at every scrape, so it cannot be
// shared: reading it here would change what Prometheus sees. A stalled loop is the
// first thing an operator must see (every client waits behind it), so the page shows
// the worst of the last second, not an average since start.

const WINDOW_MS = 1000;

export interface LoopDelay {
  /** milliseconds, over the last full second */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class EventLoopDelay {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private last: LoopDelay = { p50Ms: 0, p99Ms: 0, maxMs: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.histogram.enable();
    this.timer = setInterval(() => this.roll(), WINDOW_MS);
    this.timer.unref();
  }

  /** The last full second (all zero during the first one). */
  read(): LoopDelay {
    return this.last;
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private roll(): void {
    const h = this.histogram;
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    this.last = h.count === 0 ? this.last : { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
    h.reset();
  }
}
