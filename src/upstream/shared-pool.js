import { SharedConnection } from './shared-connection.js';
import { SharingProbe } from './sharing-probe.js';
export class SharedPool {
    addr;
    tls;
    log;
    login;
    /** the invalidation link, once wired (null: nothing to track for) */
    tracking = null;
    /** a tracked connection closed: entries filled through it are reported no more */
    onTrackingLost = null;
    /** Redis refused the login (the user's password changed, or the user is gone) */
    onLoginRefused = null;
    probe;
    /** when a client last took a seat (ms since epoch) */
    lastUsed = Date.now();
    conns = [];
    next = 0;
    /** waiting for a first connection to be logged in */
    waiters = [];
    constructor(addr, tls, size, log, login = null) {
        this.addr = addr;
        this.tls = tls;
        this.log = log;
        this.login = login;
        this.probe = new SharingProbe(addr, tls, log);
        for (let i = 0; i < size; i++)
            this.conns.push(new SharedConnection(this));
    }
    start() {
        for (const c of this.conns)
            c.connect();
        // (a pool with a login checks its connections one by one)
        if (this.login === null)
            this.probe.start();
    }
    stop() {
        this.probe.stop();
        for (const c of this.conns)
            c.stop();
        this.loggedIn(false);
    }
    /** The link is tracking (again): every connection re-points its tracking at it. */
    onTracking() {
        for (const c of this.conns)
            c.track();
    }
    get connectionsUp() {
        return this.conns.filter((c) => c.up).length;
    }
    /** clients seated on its connections now */
    get seats() {
        let n = 0;
        for (const c of this.conns)
            n += c.seats;
        return n;
    }
    /** A shared connection for a new client, or null when it must have its own. */
    pick() {
        if (this.login === null && !this.probe.open)
            return null;
        for (let i = 0; i < this.conns.length; i++) {
            const c = this.conns[this.next++ % this.conns.length];
            if (c.up) {
                this.lastUsed = Date.now();
                return c;
            }
        }
        return null;
    }
    /** `then(true)` once a connection is up (at once if one is), `then(false)` if the pool gives up first. */
    whenUp(then) {
        if (this.connectionsUp > 0)
            then(true);
        else
            this.waiters.push(then);
    }
    /** A connection's login was answered: ok, or refused (the pool stops: see onLoginRefused). */
    loggedIn(ok, reason = '') {
        const waiting = this.waiters;
        this.waiters = [];
        for (const w of waiting)
            w(ok);
        if (!ok && reason !== '')
            this.onLoginRefused?.(reason);
    }
}
//# sourceMappingURL=shared-pool.js.map