import { monitorEventLoopDelay } from 'node:perf_hooks';
// The event loop's delay over the last full second, for /stats and the status page.
// prom-client keeps its own histogram and resets it at every scrape, so it cannot be
// shared: reading it here would change what Prometheus sees. A stalled loop is the
// first thing an operator must see (every client waits behind it), so the page shows
// the worst of the last second, not an average since start.
const WINDOW_MS = 1000;
export class EventLoopDelay {
    histogram = monitorEventLoopDelay({ resolution: 10 });
    last = { p50Ms: 0, p99Ms: 0, maxMs: 0 };
    timer;
    constructor() {
        this.histogram.enable();
        this.timer = setInterval(() => this.roll(), WINDOW_MS);
        this.timer.unref();
    }
    /** The last full second (all zero during the first one). */
    read() {
        return this.last;
    }
    stop() {
        clearInterval(this.timer);
        this.histogram.disable();
    }
    roll() {
        const h = this.histogram;
        const ms = (ns) => Math.round(ns / 1e4) / 100;
        this.last = h.count === 0 ? this.last : { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
        h.reset();
    }
}
//# sourceMappingURL=event-loop-delay.js.map