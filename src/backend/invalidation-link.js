import { EventEmitter } from 'node:events';
import { ControlConnection } from './control-connection.js';
import { RedisErrorReply, asString } from '../resp/reply-value.js';
import { encodeCommand } from '../resp/encode.js';
/** The request that points a connection's tracking at the link with this id. */
export function trackingRequest(redirectId) {
    return encodeCommand(['CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(redirectId)]);
}
/** Turns a connection's tracking off (before a client turns on its own, with its own options). */
export const TRACKING_OFF = encodeCommand(['CLIENT', 'TRACKING', 'OFF']);
/** fillGeneration's answer when coherence needs no tracking (ttl mode) */
export const NO_TRACKING_NEEDED = -2;
// (its home is the watchdog now; re-exported for those who imported it from here)
export { UNRESPONSIVE_MS } from './health-watchdog.js';
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;
/** every generation ever given, across all links (see the header) */
let lastGeneration = 0;
export class InvalidationLink extends EventEmitter {
    addr;
    state = 'connecting';
    redirectId = null;
    generation = 0;
    /** number of times the link was (re)established */
    connects = 0;
    lastError = '';
    conn = null;
    parts = [];
    timer = null;
    backoff = BACKOFF_MIN_MS;
    stopped = false;
    warnedNoTracking = false;
    warnedTrackingTable = false;
    loggedDown = false;
    opts;
    constructor(opts) {
        super();
        this.opts = opts;
        this.addr = opts.addr;
    }
    /** Add a part (before start()); returns it. */
    use(part) {
        this.parts.push(part);
        return part;
    }
    start() {
        void this.connect();
    }
    /** For good: down at once (later pushes are dropped, the cache is not ready), no reconnect. */
    stop() {
        if (this.stopped)
            return;
        this.stopped = true;
        if (this.timer)
            clearTimeout(this.timer);
        const conn = this.conn;
        this.takeDown('link stopped');
        conn?.close();
    }
    /** connected and ready: tracking on, or (ttl-only, or without a cache) Redis answered */
    get up() {
        return this.state === 'up' || this.state === 'ttl-only';
    }
    /** why the link is not up, for /readyz; null when it is */
    get trouble() {
        if (this.up)
            return null;
        return this.opts.cache ? `invalidation link to Redis is ${this.state}` : 'Redis is unreachable';
    }
    async connect() {
        if (this.stopped)
            return;
        const { addr, cache } = this.opts;
        let conn = null;
        try {
            conn = await ControlConnection.open(addr, this.opts.tls);
            if (this.stopped) {
                conn.close();
                return;
            }
            const c = conn;
            this.conn = c;
            c.on('invalidate', (keys) => {
                if (this.conn === c)
                    this.onInvalidate(keys);
            });
            c.on('close', (err) => this.onClose(c, err));
            const resp3 = await this.handshake(c);
            // Without a cache this connection only tells whether Redis is reachable (/readyz, logs).
            await c.send(['CLIENT', 'SETNAME', cache ? 'redisproxy-invalidation' : 'redisproxy-health']).catch(() => undefined);
            const id = cache ? await this.trackItself(c, resp3) : null;
            for (const part of this.parts)
                await part.attach(c);
            // stopped, or lost, while the parts read
            if (this.conn !== c)
                return;
            this.goUp(c, id);
        }
        catch (err) {
            conn?.close();
            this.onClose(conn, err);
        }
    }
    async handshake(conn) {
        const { addr } = this.opts;
        const hello = ['HELLO', '3'];
        if (addr.password !== null)
            hello.push('AUTH', addr.username ?? 'default', addr.password);
        const r = await conn.send(hello);
        if (!(r instanceof RedisErrorReply))
            return true;
        if (!/unknown command/i.test(r.message))
            throw new Error(`HELLO failed: ${redact(r.message, addr)}`);
        // Redis before 6: RESP2 only, no tracking
        if (addr.password !== null) {
            const a = await conn.send(addr.username ? ['AUTH', addr.username, addr.password] : ['AUTH', addr.password]);
            if (a instanceof RedisErrorReply)
                throw new Error(`AUTH failed: ${a.message}`);
        }
        return false;
    }
    /** Turns tracking on for the link itself; its CLIENT ID, or null when Redis cannot track (then TTL-only). */
    async trackItself(conn, resp3) {
        if (this.opts.coherence !== 'tracking')
            return null;
        if (!resp3) {
            this.warnNoTracking('Redis does not speak RESP3 (before 6.0)');
            return null;
        }
        // The link reads no key itself; turning tracking on here proves that this user
        // may, and that Redis can, before any connection is redirected to it.
        const idReply = await conn.send(['CLIENT', 'ID']);
        const r = typeof idReply === 'number' ? await conn.send(['CLIENT', 'TRACKING', 'ON']) : idReply;
        if (r instanceof RedisErrorReply) {
            this.warnNoTracking(`CLIENT TRACKING failed: ${r.message}`);
            return null;
        }
        if (typeof idReply !== 'number') {
            this.warnNoTracking('CLIENT ID gave no id');
            return null;
        }
        return idReply;
    }
    goUp(conn, id) {
        const { addr, cache, log } = this.opts;
        this.state = id !== null || !cache ? 'up' : 'ttl-only';
        this.redirectId = id;
        this.generation = ++lastGeneration;
        this.connects++;
        this.backoff = BACKOFF_MIN_MS;
        this.loggedDown = false;
        this.lastError = '';
        cache?.setReady(true);
        if (!cache)
            log.info({ redis: addr.display }, 'Redis is reachable');
        else if (id !== null)
            log.info({ redis: addr.display, coherence: 'tracking' }, 'invalidation link up: tracking on');
        else
            log.info({ redis: addr.display, coherence: 'ttl' }, 'link to Redis up (TTL-only coherence)');
        for (const part of this.parts)
            part.up?.();
        this.emit('up', this.generation);
        if (id !== null) {
            this.emit('tracking', this.generation);
            void this.checkTrackingTable(conn, cache);
        }
    }
    /**
     * Redis forgets (and reports as invalidated) the oldest tracked keys past
     * tracking-table-max-keys: a cache that may hold more keys than that keeps losing
     * entries. Safe, but worth a warning. (CONFIG may be refused to the proxy's user: then
     * nothing is said.)
     */
    async checkTrackingTable(conn, cache) {
        if (this.warnedTrackingTable)
            return;
        const r = await conn.send(['CONFIG', 'GET', 'tracking-table-max-keys']).catch(() => null);
        const max = Array.isArray(r) ? Number(asString(r[1] ?? '')) : NaN;
        if (!(max > 0) || cache.capacity <= max)
            return;
        this.warnedTrackingTable = true;
        this.opts.log.warn({ capacity: cache.capacity, trackingTableMaxKeys: max }, 'Redis tracks at most tracking-table-max-keys keys and drops the oldest past it: raise it to at least --capacity (CONFIG SET tracking-table-max-keys), or the cache keeps losing entries');
    }
    warnNoTracking(why) {
        if (this.warnedNoTracking)
            return;
        this.warnedNoTracking = true;
        this.opts.log.warn({ reason: why }, 'Redis cannot track keys for the proxy: falling back to TTL-only coherence (writes made directly on Redis are seen only after --ttl)');
    }
    onInvalidate(keys) {
        const cache = this.opts.cache;
        if (!cache)
            return;
        if (keys === null)
            cache.invalidateAll(); // FLUSHALL / FLUSHDB
        else
            for (const k of keys)
                cache.invalidate(k);
    }
    onClose(conn, err) {
        if (this.stopped || (conn !== null && conn !== this.conn))
            return;
        const wasUp = this.takeDown(err.message);
        const { addr, cache, log } = this.opts;
        if (wasUp && !cache) {
            log.warn({ redis: addr.display, reason: this.lastError }, 'lost the connection to Redis; retrying');
        }
        else if (wasUp) {
            log.warn({ redis: addr.display, reason: this.lastError }, 'invalidation link lost: cache emptied and bypassed until it is back');
        }
        else if (!this.loggedDown) {
            log.warn({ redis: addr.display, reason: this.lastError }, 'cannot reach Redis; retrying');
        }
        this.loggedDown = true;
        // capped exponential backoff with jitter
        const delay = Math.min(BACKOFF_MAX_MS, this.backoff) * (0.5 + Math.random() / 2);
        this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
        this.timer = setTimeout(() => void this.connect(), delay);
        this.timer.unref();
    }
    /** The connection is no longer the link's: parts let go, the cache stops serving. Returns whether it was up. */
    takeDown(reason) {
        const wasUp = this.up;
        const wasDown = this.state === 'down';
        this.conn = null;
        for (const part of this.parts)
            part.detach();
        this.state = 'down';
        this.redirectId = null;
        this.opts.cache?.setReady(false);
        this.lastError = redact(reason, this.opts.addr);
        if (!wasDown)
            this.emit('down', this.lastError);
        return wasUp;
    }
}
function redact(message, addr) {
    return addr.password ? message.split(addr.password).join('***') : message;
}
//# sourceMappingURL=invalidation-link.js.map