import { RedisErrorReply, asString } from '../resp/reply-value.js';
// Entries belong to a user and were filled with the permissions it had then: Redis says
// nothing when the rules change, so the watch reads ACL LIST every second, and a change
// (made anywhere: ACL SETUSER, ACL LOAD, CONFIG SET requirepass) calls onChange, which
// empties the cache and has sharing checked again. Changes made through the proxy empty
// it at once (see ClientSession).
//
// One watch per link: Redis copies ACL rules to no other node (not to a replica, not
// across a cluster), so each node's rules are read over that node's own link. What a
// change does is the backend's (onChange). A new connection's first ACL LIST is the
// baseline the cache's first entries are filled under, read before the link is up;
// a change while the link was down needs no call, since the link's loss emptied the cache.
//
//   attach: ACL LIST → baseline ── up: every intervalMs ACL LIST ─┬─ same: nothing
//                                                                 ├─ different: onChange()
//                                                                 └─ NOPERM / unknown: stop for good
const POLL_INTERVAL_MS = 1000;
export class AclWatch {
    /** ACL LIST as last seen on this connection ('' before the first; null: refused, not asked again) */
    seen = '';
    conn = null;
    timer = null;
    opts;
    intervalMs;
    constructor(opts) {
        this.opts = opts;
        this.intervalMs = opts.intervalMs ?? POLL_INTERVAL_MS;
    }
    /** false once ACL LIST was refused: only changes through the proxy are seen */
    get watching() {
        return this.seen !== null;
    }
    async attach(conn) {
        this.conn = conn;
        if (this.seen === null)
            return;
        this.onList(conn, await conn.send(['ACL', 'LIST']).catch(() => null));
    }
    up() {
        if (this.conn)
            this.schedule(this.conn);
    }
    detach() {
        this.conn = null;
        if (this.timer)
            clearTimeout(this.timer);
        this.timer = null;
        if (this.seen !== null)
            this.seen = '';
    }
    schedule(conn) {
        if (this.seen === null)
            return;
        this.timer = setTimeout(() => {
            if (this.conn !== conn)
                return;
            conn.send(['ACL', 'LIST']).then((r) => {
                if (this.conn !== conn)
                    return;
                this.onList(conn, r);
                this.schedule(conn);
            }, 
            // the connection is gone: the link detaches this part
            () => undefined);
        }, this.intervalMs);
        this.timer.unref();
    }
    onList(conn, reply) {
        if (this.conn !== conn)
            return;
        if (!Array.isArray(reply)) {
            const why = reply instanceof RedisErrorReply ? reply.message : '';
            // A user without +acl, or a Redis before 6: only changes through the proxy are seen.
            // Anything else (BUSY, LOADING...) passes: the next tick asks again.
            if (!/^(NOPERM|ERR unknown command)/.test(why))
                return;
            this.seen = null;
            this.opts.log.info({ reason: why }, 'ACL LIST is refused to the proxy: ACL changes made directly on Redis are not noticed (those made through the proxy are)');
            return;
        }
        const rules = reply.map((r) => asString(r)).join('\n');
        const before = this.seen;
        this.seen = rules;
        if (before === '' || before === rules)
            return;
        this.opts.log.info('ACL rules changed on Redis: cache emptied, sharing checked again');
        this.opts.onChange();
    }
}
//# sourceMappingURL=acl-watch.js.map