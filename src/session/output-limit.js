// Like Redis's client-output-buffer-limit: a client whose unread replies pass its class's
// hard bound, or stay over its soft bound for its seconds, is disconnected.
/** a client on a shared connection cannot be slowed by pausing Redis: this much unread output ends it */
const SHARED_OUTPUT_CAP = 256 * 1024 * 1024;
export class OutputLimiter {
    /** when the client went over its soft bound (ms since epoch), or 0 */
    softSince = 0;
    /** Is a client with `len` bytes unread over `lim` now? (shared: it rides a shared connection) */
    over(len, lim, shared, now) {
        if ((lim.hardBytes > 0 && len > lim.hardBytes) || (shared && len > SHARED_OUTPUT_CAP))
            return true;
        if (lim.softBytes > 0 && len > lim.softBytes) {
            if (this.softSince === 0)
                this.softSince = now;
            else
                return now - this.softSince > lim.softSeconds * 1000;
        }
        else if (len <= lim.softBytes) {
            this.softSince = 0;
        }
        return false;
    }
    /** the client caught up */
    reset() {
        this.softSince = 0;
    }
}
//# sourceMappingURL=output-limit.js.map