// Is the Redis behind a link answering? One watchdog per link (per node, in a cluster):
// it PINGs over the link's own connection, because only an answer there proves that
// every invalidation Redis pushed on that connection before it has arrived. The PINGs
// also keep the link alive through Redis's `timeout`.
//
// A PING unanswered for UNRESPONSIVE_MS: Redis is frozen, stuck in a long command, or cut
// off without a reset. Invalidations may be held up as long, so the cache stops serving
// (and /readyz says why) until the answer comes; everything before it has arrived then.
//
//   link up ──▶ every intervalMs: PING ─┬─ answer ──────────────▶ next PING in intervalMs
//                                       └─ none in unresponsiveMs: unresponsive, cache not ready
//                                             ... answer at last: responsive, cache ready again
//
// The healthy/trouble verdict here is the link's too (up, and answering), so a router asks
// one object per node.
/**
 * A PING unanswered this long: Redis is frozen, stuck in a long command, or cut off
 * without a reset. (See the header.)
 */
export const UNRESPONSIVE_MS = 3000;
const PING_INTERVAL_MS = 1000;
export class HealthWatchdog {
    /** a PING has waited longer than unresponsiveMs for its answer */
    unresponsive = false;
    conn = null;
    timer = null;
    watchdog = null;
    link;
    opts;
    intervalMs;
    unresponsiveMs;
    constructor(link, opts) {
        this.link = link;
        this.opts = opts;
        this.intervalMs = opts.intervalMs ?? PING_INTERVAL_MS;
        this.unresponsiveMs = opts.unresponsiveMs ?? UNRESPONSIVE_MS;
    }
    /** the link is up and Redis answers it */
    get healthy() {
        return this.link.up && !this.unresponsive;
    }
    /** why not healthy, for /readyz; null when healthy */
    get trouble() {
        if (this.unresponsive)
            return `Redis has not answered the link's PING for over ${this.unresponsiveMs / 1000} s`;
        return this.link.trouble;
    }
    attach(conn) {
        this.conn = conn;
    }
    /** Starts only once the link is up: before, the cache is not ready anyway, and a verdict then would be overwritten. */
    up() {
        if (this.conn)
            this.schedule(this.conn);
    }
    detach() {
        this.conn = null;
        if (this.timer)
            clearTimeout(this.timer);
        if (this.watchdog)
            clearTimeout(this.watchdog);
        this.timer = null;
        this.watchdog = null;
        // a new connection starts trusted: its link says when it is up
        this.unresponsive = false;
    }
    schedule(conn) {
        this.timer = setTimeout(() => {
            if (this.conn !== conn)
                return;
            this.watchdog = setTimeout(() => this.onUnresponsive(conn), this.unresponsiveMs);
            this.watchdog.unref();
            conn.send(['PING']).then(() => {
                if (this.conn !== conn)
                    return;
                if (this.watchdog)
                    clearTimeout(this.watchdog);
                this.watchdog = null;
                if (this.unresponsive)
                    this.onResponsive();
                this.schedule(conn);
            }, 
            // the connection is gone: the link detaches this part
            () => undefined);
        }, this.intervalMs);
        this.timer.unref();
    }
    onUnresponsive(conn) {
        if (this.conn !== conn || this.unresponsive)
            return;
        this.unresponsive = true;
        this.opts.cache?.setReady(false);
        this.opts.log.warn({ redis: this.link.addr.display, waitedMs: this.unresponsiveMs }, this.opts.cache ? 'Redis stopped answering the invalidation link: cache emptied and bypassed until it answers' : 'Redis stopped answering');
    }
    onResponsive() {
        this.unresponsive = false;
        // every invalidation Redis sent before its answer has arrived: coherent again
        this.opts.cache?.setReady(true);
        this.opts.log.info({ redis: this.link.addr.display }, 'Redis answers the invalidation link again');
    }
}
//# sourceMappingURL=health-watchdog.js.map