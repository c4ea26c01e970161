import { KeyLru } from './key-lru.js';
import { CacheStats } from './cache-stats.js';
const NIL_ENTRY = '';
/**
 * Whose tracking reports a key's changes to the proxy, when it is not the shared
 * connections' (whose loss empties the whole cache): a client's own connection, which
 * Redis stops tracking when it closes or when the client takes tracking over. From then
 * on its entries are dead, found so at their next lookup.
 */
export class FillOwner {
    alive = true;
    kill() {
        this.alive = false;
    }
}
const DEFAULT_USER = 'default';
function entryBytes(e) {
    if (typeof e === 'string')
        return e.length + SLOT_OVERHEAD;
    let n = 0;
    for (let s = e; s !== null; s = s.next)
        n += s.reply.length + SLOT_OVERHEAD;
    return n;
}
/** log2 of the slots that writes in flight and invalidations are counted in */
const SLOT_BITS = 16;
const SLOT_MASK = (1 << SLOT_BITS) - 1;
/** keys longer than this are hashed by their length and both ends */
const HASH_WHOLE_MAX = 64;
/** The slot of `key`: FNV-1a over its characters (both ends and the length of a long key). */
export function keySlot(key) {
    let h = 0x811c9dc5;
    const n = key.length;
    if (n <= HASH_WHOLE_MAX) {
        for (let i = 0; i < n; i++)
            h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    }
    else {
        const half = HASH_WHOLE_MAX >> 1;
        for (let i = 0; i < half; i++)
            h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
        for (let i = n - half; i < n; i++)
            h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
        h = Math.imul(h ^ n, 0x01000193);
    }
    return (h ^ (h >>> SLOT_BITS)) & SLOT_MASK;
}
/** keySlot of the key buf[off, off + len) (latin1), without making a string of it */
export function keySlotBytes(buf, off, len) {
    let h = 0x811c9dc5;
    if (len <= HASH_WHOLE_MAX) {
        for (let i = off, end = off + len; i < end; i++)
            h = Math.imul(h ^ buf[i], 0x01000193);
    }
    else {
        const half = HASH_WHOLE_MAX >> 1;
        for (let i = off, end = off + half; i < end; i++)
            h = Math.imul(h ^ buf[i], 0x01000193);
        for (let i = off + len - half, end = off + len; i < end; i++)
            h = Math.imul(h ^ buf[i], 0x01000193);
        h = Math.imul(h ^ len, 0x01000193);
    }
    return (h ^ (h >>> SLOT_BITS)) & SLOT_MASK;
}
/** What a GET sent to fill the cache must present when its reply is in (see completeFill). */
export class FillTicket {
    key;
    slot;
    gen;
    epoch;
    sentAt;
    user;
    db;
    constructor(key, slot, 
    /** the slot's generation and the cache's epoch when the GET was sent */
    gen, epoch, sentAt, user, db) {
        this.key = key;
        this.slot = slot;
        this.gen = gen;
        this.epoch = epoch;
        this.sentAt = sentAt;
        this.user = user;
        this.db = db;
    }
    /** the tracking generation of the connection it went on (see Upstream.fillGeneration) */
    trackGen = -1;
}
/** WriteHold's slot for a hold of the whole cache */
const ALL_SLOTS = -2;
/** A write's hold on its keys (see holdKeys): one per write, released exactly once. */
export class WriteHold {
    cache;
    slot;
    slots;
    held = true;
    constructor(cache, slot, slots) {
        this.cache = cache;
        this.slot = slot;
        this.slots = slots;
    }
    /** the write's reply is in, or will never come */
    release() {
        if (!this.held)
            return;
        this.held = false;
        this.cache.unhold(this.slot, this.slots);
    }
}
/** Per-entry bookkeeping counted against maxBytes besides the key and value bytes. */
const SLOT_OVERHEAD = 64;
export class ReplyCache {
    stats = new CacheStats();
    /** false while coherence cannot be guaranteed (invalidation link down): nothing served or filled */
    ready = false;
    epoch = 0;
    allWrites = 0;
    /** writes in flight per slot, and in all */
    writing = new Int32Array(SLOT_MASK + 1);
    writes = 0;
    /** invalidations per slot (only equality is ever compared, so wrapping is harmless) */
    gens = new Int32Array(SLOT_MASK + 1);
    lru;
    ttlMs;
    now;
    constructor(opts) {
        this.ttlMs = opts.ttlMs;
        this.now = opts.now ?? (() => performance.now());
        this.lru = this.makeLru(opts.capacity, opts.maxBytes ?? 0);
    }
    makeLru(capacity, maxBytes) {
        // each entry's deadline is the LRU's own (a number in a typed array, no object per entry)
        return new KeyLru({
            capacity,
            maxSize: maxBytes,
            sizeOf: (e, k) => entryBytes(e) + k.length,
            onRemove: (reason) => {
                if (reason === 'evict')
                    this.stats.evictions++;
                else
                    this.stats.expirations++;
            },
        });
    }
    /** Store `entry` until `expiresAt` (a miss from that moment on). */
    store(key, entry, expiresAt, now) {
        if (expiresAt <= now)
            return false;
        return this.lru.set(key, entry, expiresAt);
    }
    /**
     * Change the key and byte bounds live (a config reload). The LRU is rebuilt with
     * the entries copied from least to most recently used, so the order is kept and,
     * when the bounds shrink, the least recently used entries are the ones evicted.
     * Slots, the epoch and readiness are untouched: fills in flight complete into the
     * new LRU under the same race rules.
     */
    resize(capacity, maxBytes) {
        const old = this.lru;
        this.lru = this.makeLru(capacity, maxBytes);
        for (const [key, entry, deadline] of old.entries())
            this.lru.set(key, entry, deadline);
    }
    get size() {
        return this.lru.size;
    }
    /** the key bound (--capacity) */
    get capacity() {
        return this.lru.capacity;
    }
    get bytes() {
        return this.lru.totalSize;
    }
    isReady() {
        return this.ready;
    }
    /** Turn serving on or off; turning it off (or on again) empties the cache. */
    setReady(ready) {
        if (this.ready !== ready)
            this.invalidateAll();
        this.ready = ready;
    }
    /**
     * The cached reply for `key` as seen by (user, db): the reply string, null for a cached
     * missing key, or undefined for a miss (including "cannot serve now").
     */
    lookup(key, user, db) {
        if (!this.ready || this.allWrites > 0)
            return undefined;
        if (this.writes > 0 && this.writing[keySlot(key)] > 0)
            return undefined;
        return this.served(this.lru.get(key, this.now), key, null, 0, 0, user, db);
    }
    /**
     * lookup, with the key given as buf[off, off + len) (latin1), without making a string of it.
     * countMiss false: a miss is not counted (the caller will look the key up again).
     */
    lookupBytes(buf, off, len, user, db, countMiss = true) {
        if (!this.ready || this.allWrites > 0)
            return undefined;
        if (this.writes > 0 && this.writing[keySlotBytes(buf, off, len)] > 0)
            return undefined;
        return this.served(this.lru.getBytes(buf, off, len, this.now), null, buf, off, len, user, db, countMiss);
    }
    /** What (user, db) may be served of `entry`; the key is `key`, or buf[off, off + len) when key is null. */
    served(entry, key, buf, off, len, user, db, countMiss = true) {
        if (typeof entry === 'string') {
            if (db === 0 && user === DEFAULT_USER) {
                this.stats.hits++;
                return entry === NIL_ENTRY ? null : entry;
            }
        }
        else if (entry !== undefined) {
            for (let s = entry; s !== null; s = s.next) {
                if (s.db !== db || s.user !== user)
                    continue;
                if (s.owner !== null && !s.owner.alive) {
                    // nobody is told of this key's changes any more
                    this.stats.invalidations++;
                    this.removeSlot(key ?? buf.toString('latin1', off, off + len), entry, s);
                    break;
                }
                if (s.expiresAt <= this.now()) {
                    this.stats.expirations++;
                    this.removeSlot(key ?? buf.toString('latin1', off, off + len), entry, s);
                    break;
                }
                this.stats.hits++;
                return s.reply === NIL_ENTRY ? null : s.reply;
            }
        }
        if (countMiss)
            this.stats.misses++;
        return undefined;
    }
    /**
     * A GET for `key` is about to be sent for (user, db) (user null: not proven yet; a reply
     * without an error proves the default user). Returns the ticket its reply must present to
     * completeFill, or null when it must not fill (the cache is not ready, or the key is held
     * by a write in flight).
     */
    beginFill(key, user, db) {
        if (!this.ready || this.allWrites > 0)
            return null;
        const slot = keySlot(key);
        if (this.writing[slot] > 0)
            return null;
        return new FillTicket(key, slot, this.gens[slot], this.epoch, this.now(), user, db);
    }
    /** writes in flight (with a key), for tests and stats */
    get writesInFlight() {
        return this.writes;
    }
    /**
     * The GET of `ticket` returned `reply`; `ttlCapMs` is the key's remaining time to live in
     * Redis (null: no expiry). Stores it unless anything invalidated the key (or wrote it)
     * since the ticket was issued. `owner`: the connection whose tracking reports the key from
     * now on (null: a shared connection, or no tracking).
     */
    completeFill(ticket, reply, ttlCapMs, owner = null) {
        const { key, slot, sentAt, db } = ticket;
        const user = ticket.user ?? DEFAULT_USER;
        const clean = this.ready && ticket.epoch === this.epoch && ticket.gen === this.gens[slot] && this.writing[slot] === 0 && this.allWrites === 0;
        if (!clean) {
            this.stats.fillsDiscarded++;
            return false;
        }
        const now = this.now();
        let expiresAt = now + this.ttlMs;
        // The key's expiry in Redis bounds the entry. Redis measured the remaining time
        // at or after `sentAt`, so counting from `sentAt` can only end the entry early.
        if (ttlCapMs !== null)
            expiresAt = Math.min(expiresAt, sentAt + ttlCapMs);
        const value = reply ?? NIL_ENTRY;
        const existing = this.lru.peek(key, now);
        let stored;
        const plain = owner === null && user === DEFAULT_USER && db === 0;
        if (existing === undefined || (typeof existing === 'string' && plain)) {
            stored = plain
                ? this.store(key, value, expiresAt, now)
                : this.store(key, { user, db, reply: value, expiresAt, owner, next: null }, expiresAt, now);
        }
        else {
            // replace this partition's slot, keep the others behind it
            let rest = null;
            let last = expiresAt;
            for (let s = this.asSlots(key, existing); s !== null; s = s.next) {
                if (s.db === db && s.user === user)
                    continue;
                rest = { ...s, next: rest };
                last = Math.max(last, s.expiresAt);
            }
            stored = this.store(key, { user, db, reply: value, expiresAt, owner, next: rest }, last, now);
        }
        if (stored)
            this.stats.fills++;
        return stored;
    }
    /**
     * A write naming `keys` is being sent: drop them, and hold them until the hold is
     * released (at the write's reply, or when it will never come). While held, a key is
     * neither served nor filled, and a fill already in flight is discarded (its slot's
     * generation moves), so nothing read before the write's reply can be stored: the reply
     * has nothing to drop again.
     */
    holdKeys(keys) {
        const slots = keys.map((key) => {
            const slot = this.holdSlot(keySlot(key));
            if (this.lru.delete(key))
                this.stats.invalidations++;
            return slot;
        });
        return new WriteHold(this, -1, slots);
    }
    /** holdKeys of one key given as buf[off, off + len) (latin1), without making a string of it */
    holdKeyBytes(buf, off, len) {
        const slot = this.holdSlot(keySlotBytes(buf, off, len));
        if (this.lru.deleteBytes(buf, off, len))
            this.stats.invalidations++;
        return new WriteHold(this, slot, null);
    }
    /** A write whose keys cannot be told (or that touches whole databases) is being sent. */
    holdAll() {
        this.allWrites++;
        this.invalidateAll();
        return new WriteHold(this, ALL_SLOTS, null);
    }
    holdSlot(slot) {
        this.writing[slot]++;
        this.writes++;
        this.gens[slot]++;
        return slot;
    }
    /** (WriteHold.release's) */
    unhold(slot, slots) {
        if (slot === ALL_SLOTS) {
            // (nothing was served or filled while it was in flight: no second drop needed)
            this.allWrites--;
            return;
        }
        if (slot >= 0) {
            this.writing[slot]--;
            this.writes--;
        }
        if (slots !== null) {
            for (const s of slots)
                this.writing[s]--;
            this.writes -= slots.length;
        }
    }
    /** Drop `key` in every partition (tracking has one namespace for all databases). */
    invalidate(key) {
        if (this.lru.delete(key))
            this.stats.invalidations++;
        this.gens[keySlot(key)]++;
    }
    invalidateAll() {
        this.epoch++;
        if (this.lru.size === 0)
            return;
        this.stats.flushes++;
        this.lru.clear();
    }
    /** An entry as a chain of partitions (the default partition's reply becomes a slot). */
    asSlots(key, entry) {
        if (typeof entry !== 'string')
            return entry;
        return { user: DEFAULT_USER, db: 0, reply: entry, expiresAt: this.lru.deadlineOf(key), owner: null, next: null };
    }
    removeSlot(key, entry, gone) {
        let rest = null;
        for (let s = entry; s !== null; s = s.next)
            if (s !== gone)
                rest = { ...s, next: rest };
        if (rest === null)
            this.lru.delete(key);
        else
            this.lru.set(key, rest, this.lru.deadlineOf(key));
    }
    /** Change bounds live (a config reload); shrinking evicts. */
    setTtl(ttlMs) {
        this.ttlMs = ttlMs;
    }
}
//# sourceMappingURL=reply-cache.js.map