import { InvalidationLink } from '../backend/invalidation-link.js';
import { OwnConnection } from './own-connection.js';
import { SharedPool } from './shared-pool.js';
import { UserPools } from './user-pools.js';
import { AwaitingAuth } from './awaiting-auth.js';
import { FollowedUpstream, NoPrimaryUpstream } from './followed-upstream.js';
export class PrimaryTarget {
    opts;
    addr = null;
    currentLink = null;
    health = null;
    pool = null;
    /** the pools of authenticated clients, and the AUTH checks (null without sharing) */
    users = null;
    /** client upstreams on the current primary (followed mode only) */
    members = new Set();
    /** connects of the links before the current one */
    pastConnects = 0;
    stopped = false;
    constructor(opts) {
        this.opts = opts;
    }
    /** Binds to the fixed address, or starts following (without waiting for a primary). */
    start() {
        const f = this.opts.follower;
        if (f === null) {
            this.bind(this.opts.addr);
            return;
        }
        f.on('switch', (old, now) => this.switchTo(old, now));
        void f.start();
    }
    stop() {
        this.stopped = true;
        this.opts.follower?.stop();
        this.currentLink?.stop();
        this.pool?.stop();
        this.users?.stop();
    }
    /** the Redis new upstreams go to; null while no primary is known */
    get primary() {
        return this.addr;
    }
    get link() {
        return this.currentLink;
    }
    // TrackingTarget: the current link's, so a connection tracked for an old link is not tracked
    get redirectId() {
        return this.currentLink?.redirectId ?? null;
    }
    get generation() {
        return this.currentLink?.generation ?? 0;
    }
    get linkState() {
        return this.currentLink?.state ?? 'connecting';
    }
    get connects() {
        return this.pastConnects + (this.currentLink?.connects ?? 0);
    }
    get healthy() {
        return this.health?.healthy ?? false;
    }
    get sharedConnectionsUp() {
        return (this.pool?.connectionsUp ?? 0) + (this.users?.connectionsUp ?? 0);
    }
    /** for /stats: users with a pool, AUTHs answered from the credential memory, and checked by Redis */
    get userPools() {
        const u = this.users;
        return u === null ? null : { users: u.users, authFromMemory: u.answeredFromMemory, authChecks: u.verifier.checks };
    }
    /** would a client connecting now get a seat on a shared connection */
    get sharing() {
        return this.pool !== null && this.pool.probe.open && this.pool.connectionsUp > 0;
    }
    /** why the proxy is not ready (for /readyz); null when it is */
    get trouble() {
        if (this.addr === null) {
            const st = this.opts.follower?.state();
            return `no primary known yet${st?.lastError ? ` (${st.lastError})` : ''}`;
        }
        return this.health === null ? 'Redis is unreachable' : this.health.trouble;
    }
    share(client) {
        if (this.pool === null || this.opts.commands() === null)
            return null;
        // a fresh connection of a pool that needs no password: the default user, db 0, RESP2
        const conn = this.pool.pick();
        if (conn !== null)
            return this.seatOn(conn, client);
        // where Redis wants one: no connection until the client's first request (see AwaitingAuth)
        if (this.users !== null && this.opts.maxUserPools > 0 && this.pool.probe.locked)
            return new AwaitingAuth(client);
        return null;
    }
    seatOn(conn, client) {
        if (this.opts.follower === null)
            return conn.seat(client);
        const f = new FollowedUpstream(this, client);
        f.inner = conn.seat(f);
        this.members.add(f);
        return f;
    }
    canPool(user) {
        return this.users !== null && this.opts.commands() !== null && this.users.canPool(user);
    }
    verify(args, then) {
        if (this.users === null)
            then(null);
        else
            this.users.verify(args, then);
    }
    joinPool(user, password, client, then) {
        const users = this.users;
        if (users === null)
            return then(null);
        if (this.opts.follower === null)
            return users.join(user, password, client, then);
        const f = new FollowedUpstream(this, client);
        users.join(user, password, f, (seat) => {
            if (seat === null || users !== this.users) {
                seat?.close();
                return then(null);
            }
            f.inner = seat;
            this.members.add(f);
            then(f);
        });
    }
    open(client) {
        const tracking = this.opts.cache ? this : null;
        if (this.opts.follower === null)
            return new OwnConnection({ addr: this.addr, tls: this.opts.tls, tracking }, client);
        if (this.addr === null)
            return new NoPrimaryUpstream(client, 'no primary known yet (the sentinels have not named one)');
        const f = new FollowedUpstream(this, client);
        f.inner = new OwnConnection({ addr: this.addr, tls: this.opts.tls, tracking }, f);
        this.members.add(f);
        return f;
    }
    accessChanging() {
        this.pool?.probe.hold();
        this.users?.credentials.clear();
    }
    accessChanged() {
        this.pool?.probe.now();
        this.users?.accessChanged();
    }
    readonlySeen() {
        void this.opts.follower?.recheck();
    }
    lost(u) {
        this.members.delete(u);
        void this.opts.follower?.recheck();
    }
    left(u) {
        this.members.delete(u);
    }
    switchTo(old, now) {
        if (this.stopped)
            return;
        const dropped = this.members.size;
        this.bind(now);
        if (old !== null) {
            this.opts.log.warn({ old: old.display, new: now.display, clientsDropped: dropped }, `sentinel switch: the primary moved from ${old.display} to ${now.display}; ${dropped} client connection(s) to ${old.display} closed, cache emptied until the link to ${now.display} is tracking`);
        }
    }
    /** Everything bound to an address is made again for `addr`; what was bound to the old one goes. */
    bind(addr) {
        const { cache, log } = this.opts;
        const oldLink = this.currentLink;
        const oldPool = this.pool;
        const oldUsers = this.users;
        this.addr = addr;
        if (oldLink !== null) {
            // from here on its invalidations are dropped, and the cache serves nothing
            // (no longer current first: its 'down' is no reason to ask the sentinels again)
            this.currentLink = null;
            oldLink.stop();
            this.pastConnects += oldLink.connects;
        }
        cache?.invalidateAll();
        const link = new InvalidationLink({ addr, tls: this.opts.tls, cache, coherence: this.opts.coherence, log });
        this.health = this.opts.equip(link);
        this.currentLink = link;
        const pool = this.opts.sharedConnections > 0 ? new SharedPool(addr, this.opts.tls, this.opts.sharedConnections, log) : null;
        this.pool = pool;
        const users = pool ? new UserPools({ addr, tls: this.opts.tls, size: this.opts.sharedConnections, maxPools: this.opts.maxUserPools, log }) : null;
        this.users = users;
        if (pool && users && cache) {
            pool.tracking = this;
            users.tracking = this;
            // (its entries are not told apart from the other shared connection's: all go)
            pool.onTrackingLost = () => cache.invalidateAll();
            users.onTrackingLost = () => cache.invalidateAll();
        }
        // a new link: shared connections point their tracking at it (sessions do at their next fill)
        link.on('tracking', () => {
            if (this.currentLink !== link)
                return;
            this.pool?.onTracking();
            this.users?.onTracking();
        });
        link.on('down', () => {
            if (this.currentLink === link && !this.stopped)
                void this.opts.follower?.recheck();
        });
        link.start();
        pool?.start();
        users?.start();
        const gone = [...this.members];
        this.members.clear();
        for (const u of gone)
            u.drop(`the primary moved to ${addr.display}`);
        oldPool?.stop();
        oldUsers?.stop();
    }
}
//# sourceMappingURL=primary-target.js.map