import { connectToRedis } from '../backend/connect.js';
// Sharing is only safe while a fresh connection to Redis is authenticated as the default
// user without a password: a shared connection must never let a client act as a user it
// did not authenticate as. This probe checks that every second with a brand-new
// connection; when Redis starts requiring a password, a new client has no connection
// until its first request (AwaitingAuth): an AUTH takes it to its user's pool (UserPools),
// anything else to a connection of its own, where Redis asks it to AUTH. Clients already sharing stay, as their own
// connections to Redis would stay authenticated. A change of ACL rules or password made
// through the proxy (or seen by the link's ACL watch) holds new clients back until a
// fresh probe has answered.
const PROBE_INTERVAL_MS = 1000;
const PROBE_TIMEOUT_MS = 2000;
const NOAUTH_WHY = 'Redis requires authentication';
export class SharingProbe {
    addr;
    tls;
    log;
    /** true while a fresh connection to Redis needs no password: only then may clients share */
    allowed = false;
    /** the last probe was answered NOAUTH: Redis wants a password from new connections */
    wantsPassword = false;
    timer = null;
    /** probes started (one at a time) */
    probes = 0;
    probing = false;
    /** asked for while one was in flight: start another when it answers */
    again = false;
    /** access rules just changed: no new client shares until a probe numbered checkFrom or later answers */
    checking = false;
    checkFrom = 0;
    constructor(addr, tls, log) {
        this.addr = addr;
        this.tls = tls;
        this.log = log;
    }
    /** may a new client share a connection now */
    get open() {
        return this.allowed && !this.checking;
    }
    /** Redis wants a password from new connections: a new client waits for its AUTH (AwaitingAuth) */
    get locked() {
        return this.wantsPassword && !this.checking;
    }
    start() {
        void this.probe();
        this.timer = setInterval(() => {
            if (!this.probing)
                void this.probe();
        }, PROBE_INTERVAL_MS);
        this.timer.unref();
    }
    stop() {
        if (this.timer)
            clearInterval(this.timer);
    }
    /**
     * A command that may change who needs a password is on its way to Redis: no new client
     * shares a connection until a probe started after its reply (see now) answers.
     */
    hold() {
        this.checking = true;
        this.checkFrom = this.probes + 1;
    }
    /**
     * Probe at once, not at the next tick: a client just changed ACL rules or a password
     * through the proxy (a change made directly on Redis waits for the tick). Many at once
     * make one probe, and one more after it.
     */
    now() {
        this.hold();
        if (this.probing)
            this.again = true;
        else
            void this.probe();
    }
    /** Does a brand-new, unauthenticated connection get answered? */
    probe() {
        const seq = ++this.probes;
        this.probing = true;
        return new Promise((resolve) => {
            const s = connectToRedis(this.addr, this.tls);
            let reply = '';
            let answered = false;
            const done = (ok, why) => {
                if (answered)
                    return;
                answered = true;
                s.destroy();
                resolve();
                this.probing = false;
                if (seq >= this.checkFrom)
                    this.checking = false;
                if (this.again) {
                    this.again = false;
                    void this.probe();
                }
                if (this.allowed !== ok)
                    this.log.info({ sharing: ok, reason: ok ? undefined : why }, ok ? 'clients share connections to Redis' : 'new clients no longer share connections to Redis: each gets its own');
                this.allowed = ok;
                this.wantsPassword = !ok && why === NOAUTH_WHY;
            };
            const timer = setTimeout(() => done(false, 'a new connection got no answer within 2 s'), PROBE_TIMEOUT_MS);
            timer.unref();
            s.on(this.addr.tls ? 'secureConnect' : 'connect', () => s.write('PING\r\n'));
            s.on('data', (d) => {
                reply += d.toString('latin1');
                if (reply.includes('\r\n')) {
                    clearTimeout(timer);
                    done(reply.startsWith('+PONG'), reply.startsWith('-NOAUTH') ? NOAUTH_WHY : `a new connection got ${JSON.stringify(reply.trim())}`);
                }
            });
            s.on('error', (err) => {
                clearTimeout(timer);
                done(false, `Redis is unreachable (${err.message})`);
            });
        });
    }
}
//# sourceMappingURL=sharing-probe.js.map