import { hashKey, hashKeyBytes, KeyLru } from './key-lru.js';
import { CacheStats } from './cache-stats.js';
import { keyHashSlotLatin1, SLOT_COUNT } from '../cluster/key-slot.js';

// The GET reply cache: at most `capacity` keys (least recently used evicted first),
// each holding one slot per (ACL user, database) that read it.
//
// Fill races. A GET's reply may only be stored if nothing invalidated its key
// between the moment the GET was sent and the moment its reply arrived:
//
//   client A: GET k ──────────────▶ Redis reads old v ──────────────▶ reply v arrives
//   anyone:          SET k v2 ──▶ Redis ──▶ invalidation(k) arrives ─┘ (before the reply)
//
// Without a check the old v would be stored after the invalidation and stay stale.
// So every invalidation bumps a generation, and a fill stores only if the generation
// (and the global epoch, bumped by flushes and link loss) is still the one it saw
// when it was sent.
//
// Writes through the proxy hold their keys for as long as they are in flight: no GET
// for such a key is served from the cache or fills it until the write's reply is
// back, so a client always reads its own writes and nobody reads across a write in
// progress.
//
// Both are counted per *slot*, not per key: a key's hash picks one of SLOTS counters
// of writes in flight and one of SLOTS generations. Two keys that share a slot only
// make each other look busier than they are (a hit becomes a miss, a fill is not
// stored), never the other way round, and nothing is allocated or left behind per key.

/**
 * A cached GET reply as a latin1 string: the complete bulk reply (`$n\r\n...\r\n`), or
 * NIL_ENTRY for a missing key. A string costs 16 bytes beside its characters where a
 * Buffer costs about a hundred, and sockets write it as it is.
 */
export type CachedReply = string;
const NIL_ENTRY = '';

/**
 * Whose tracking reports a key's changes to the proxy, when it is not the shared
 * connections' (whose loss empties the whole cache): a client's own connection, which
 * Redis stops tracking when it closes or when the client takes tracking over. From then
 * on its entries are dead, found so at their next lookup.
 */
export class FillOwner {
  alive = true;

  kill(): void {
    this.alive = false;
  }
}

/**
 * The reply of one (user, database), filled through one connection. Most keys are only
 * read by the default user in database 0 through the shared connections: their LRU value
 * is the reply string itself and their expiry is the LRU's own. Any other key holds a
 * chain of these.
 */
interface PartitionSlot {
  user: string;
  db: number;
  reply: CachedReply;
  expiresAt: number;
  /** null: the shared connections' tracking */
  owner: FillOwner | null;
  next: PartitionSlot | null;
}

type KeyEntry = CachedReply | PartitionSlot;

const DEFAULT_USER = 'default';

function entryBytes(e: KeyEntry): number {
  if (typeof e === 'string') return e.length + SLOT_OVERHEAD;
  let n = 0;
  for (let s: PartitionSlot | null = e; s !== null; s = s.next) n += s.reply.length + SLOT_OVERHEAD;
  return n;
}

/**
 * log2 of the slots that writes in flight and invalidations are counted in. Every write
 * touches its slot twice (hold, release), so the counters must stay in the CPU's nearer
 * caches: 2^14 slots are 128 KiB of them (2^16 cost ~0.1 µs more per write at SET -P 16,
 * measured, mostly in cache and TLB misses). Keys that share a slot only cost each other hits
 * while a write is in flight: with 80 writes in flight, 0.5% of the reads.
 */
const SLOT_BITS = 14;

/**
 * The slot of a key whose index hash (hashKey, hashKeyBytes: seeded per process, whole key)
 * is `h`: its top bits. One hash serves both the slot and the LRU's index (whose probes start
 * from the low bits), so a write hashes its key once.
 */
function slotOfHash(h: number): number {
  return h >>> (32 - SLOT_BITS);
}

/** where a slot's writes in flight and its generation are in ReplyCache's slotState */
function writingAt(slot: number): number {
  return slot << 1;
}
function genAt(slot: number): number {
  return (slot << 1) | 1;
}

/** The slot of `key`. */
export function keySlot(key: string): number {
  return slotOfHash(hashKey(key));
}

/** keySlot of the key buf[off, off + len) (latin1), without making a string of it */
export function keySlotBytes(buf: Uint8Array, off: number, len: number): number {
  return slotOfHash(hashKeyBytes(buf, off, len));
}

/** What a GET sent to fill the cache must present when its reply is in (see completeFill). */
export class FillTicket {
  constructor(
    readonly key: string,
    readonly slot: number,
    /** the slot's generation and the cache's epoch when the GET was sent */
    readonly gen: number,
    readonly epoch: number,
    readonly sentAt: number,
    readonly user: string | null,
    readonly db: number,
  ) {}
  /** the tracking generation of the connection it went on (see Upstream.fillGeneration) */
  trackGen = -1;
}

/** Why the entries of Redis Cluster slots are dropped (invalidateSlots; counted apart in the stats). */
export type SlotDropReason = 'link-lost' | 'owner-changed' | 'node-flush' | 'tracking-lost';

/** WriteHold's slot for a hold of the whole cache */
const ALL_SLOTS = -2;

/** A write's hold on its keys (see holdKeys): one per write, released exactly once. */
export class WriteHold {
  private held = true;
  constructor(
    private readonly cache: ReplyCache,
    private readonly slot: number,
    private readonly slots: number[] | null,
  ) {}

  /** the write's reply is in, or will never come */
  release(): void {
    if (!this.held) return;
    this.held = false;
    this.cache.unhold(this.slot, this.slots);
  }
}

export interface ReplyCacheOptions {
  capacity: number;
  ttlMs: number;
  /** bytes of cached keys and values; 0 = no byte bound */
  maxBytes?: number;
  /** monotonic milliseconds; injectable for tests */
  now?: () => number;
}

/** Per-entry bookkeeping counted against maxBytes besides the key and value bytes. */
const SLOT_OVERHEAD = 64;

export class ReplyCache {
  readonly stats = new CacheStats();
  /** false while coherence cannot be guaranteed (invalidation link down): nothing served or filled */
  private ready = false;
  private epoch = 0;
  private allWrites = 0;
  /**
   * Two counters per slot side by side, so that a write touches one cache line of them:
   * [2 × slot] its writes in flight (see writingAt), [2 × slot + 1] its invalidations, its
   * generation (see genAt; only equality is ever compared, so wrapping is harmless).
   */
  private readonly slotState = new Int32Array(2 << SLOT_BITS);
  /** writes in flight with a key, in all */
  private writes = 0;
  /**
   * Redis Cluster slots (CRC16, not the slots above) in which nothing may be filled: their
   * node's tracking is not known to be on (blockSlots). null until a cluster first blocks one.
   */
  private blocked: Uint8Array | null = null;
  private blockedCount = 0;
  private lru: KeyLru<KeyEntry>;
  private ttlMs: number;
  readonly now: () => number;

  constructor(opts: ReplyCacheOptions) {
    this.ttlMs = opts.ttlMs;
    this.now = opts.now ?? (() => performance.now());
    this.lru = this.makeLru(opts.capacity, opts.maxBytes ?? 0);
  }

  private makeLru(capacity: number, maxBytes: number): KeyLru<KeyEntry> {
    // each entry's deadline is the LRU's own (a number in a typed array, no object per entry)
    return new KeyLru<KeyEntry>({
      capacity,
      maxSize: maxBytes,
      sizeOf: (e, k) => entryBytes(e) + k.length,
      onRemove: (reason) => {
        if (reason === 'evict') this.stats.evictions++;
        else this.stats.expirations++;
      },
    });
  }

  /** Store `entry` until `expiresAt` (a miss from that moment on). */
  private store(key: string, entry: KeyEntry, expiresAt: number, now: number): boolean {
    if (expiresAt <= now) return false;
    return this.lru.set(key, entry, expiresAt);
  }

  /**
   * Change the key and byte bounds live (a config reload). The LRU is rebuilt with
   * the entries copied from least to most recently used, so the order is kept and,
   * when the bounds shrink, the least recently used entries are the ones evicted.
   * Slots, the epoch and readiness are untouched: fills in flight complete into the
   * new LRU under the same race rules.
   */
  resize(capacity: number, maxBytes: number): void {
    const old = this.lru;
    this.lru = this.makeLru(capacity, maxBytes);
    for (const [key, entry, deadline] of old.entries()) this.lru.set(key, entry, deadline);
  }

  get size(): number {
    return this.lru.size;
  }

  /** the key bound (--capacity) */
  get capacity(): number {
    return this.lru.capacity;
  }

  get bytes(): number {
    return this.lru.totalSize;
  }

  isReady(): boolean {
    return this.ready;
  }

  /** Turn serving on or off; turning it off (or on again) empties the cache. */
  setReady(ready: boolean): void {
    if (this.ready !== ready) this.invalidateAll();
    this.ready = ready;
  }

  /**
   * The cached reply for `key` as seen by (user, db): the reply string, null for a cached
   * missing key, or undefined for a miss (including "cannot serve now").
   */
  lookup(key: string, user: string, db: number): CachedReply | null | undefined {
    if (!this.ready || this.allWrites > 0) return undefined;
    if (this.writes > 0 && this.slotState[writingAt(keySlot(key))] > 0) return undefined;
    return this.served(this.lru.get(key, this.now), key, null, 0, 0, user, db);
  }

  /**
   * lookup, with the key given as buf[off, off + len) (latin1), without making a string of it.
   * countMiss false: a miss is not counted (the caller will look the key up again).
   */
  lookupBytes(buf: Buffer, off: number, len: number, user: string, db: number, countMiss = true): CachedReply | null | undefined {
    if (!this.ready || this.allWrites > 0) return undefined;
    let entry: KeyEntry | undefined;
    if (this.writes > 0) {
      const h = hashKeyBytes(buf, off, len);
      if (this.slotState[writingAt(slotOfHash(h))] > 0) return undefined;
      entry = this.lru.getBytesHashed(buf, off, len, h, this.now);
    } else {
      entry = this.lru.getBytes(buf, off, len, this.now);
    }
    return this.served(entry, null, buf, off, len, user, db, countMiss);
  }

  /** What (user, db) may be served of `entry`; the key is `key`, or buf[off, off + len) when key is null. */
  private served(entry: KeyEntry | undefined, key: string | null, buf: Buffer | null, off: number, len: number, user: string, db: number, countMiss = true): CachedReply | null | undefined {
    if (typeof entry === 'string') {
      if (db === 0 && user === DEFAULT_USER) {
        this.stats.hits++;
        return entry === NIL_ENTRY ? null : entry;
      }
    } else if (entry !== undefined) {
      for (let s: PartitionSlot | null = entry; s !== null; s = s.next) {
        if (s.db !== db || s.user !== user) continue;
        if (s.owner !== null && !s.owner.alive) {
          // nobody is told of this key's changes any more
          this.stats.invalidations++;
          this.removeSlot(key ?? (buf as Buffer).toString('latin1', off, off + len), entry, s);
          break;
        }
        if (s.expiresAt <= this.now()) {
          this.stats.expirations++;
          this.removeSlot(key ?? (buf as Buffer).toString('latin1', off, off + len), entry, s);
          break;
        }
        this.stats.hits++;
        return s.reply === NIL_ENTRY ? null : s.reply;
      }
    }
    if (countMiss) this.stats.misses++;
    return undefined;
  }

  /**
   * A GET for `key` is about to be sent for (user, db) (user null: not proven yet; a reply
   * without an error proves the default user). Returns the ticket its reply must present to
   * completeFill, or null when it must not fill (the cache is not ready, or the key is held
   * by a write in flight).
   */
  beginFill(key: string, user: string | null, db: number): FillTicket | null {
    if (!this.ready || this.allWrites > 0) return null;
    const slot = keySlot(key);
    if (this.slotState[writingAt(slot)] > 0) return null;
    if (this.blockedCount !== 0 && (this.blocked as Uint8Array)[keyHashSlotLatin1(key)] !== 0) return null;
    return new FillTicket(key, slot, this.slotState[genAt(slot)], this.epoch, this.now(), user, db);
  }

  /** writes in flight (with a key), for tests and stats */
  get writesInFlight(): number {
    return this.writes;
  }

  /**
   * The GET of `ticket` returned `reply`; `ttlCapMs` is the key's remaining time to live in
   * Redis (null: no expiry). Stores it unless anything invalidated the key (or wrote it)
   * since the ticket was issued. `owner`: the connection whose tracking reports the key from
   * now on (null: a shared connection, or no tracking).
   */
  completeFill(ticket: FillTicket, reply: CachedReply | null, ttlCapMs: number | null, owner: FillOwner | null = null): boolean {
    const { key, slot, sentAt, db } = ticket;
    const user = ticket.user ?? DEFAULT_USER;
    const clean = this.ready && ticket.epoch === this.epoch && ticket.gen === this.slotState[genAt(slot)] && this.slotState[writingAt(slot)] === 0 && this.allWrites === 0;
    if (!clean) {
      this.stats.fillsDiscarded++;
      return false;
    }
    const now = this.now();
    let expiresAt = now + this.ttlMs;
    // The key's expiry in Redis bounds the entry. Redis measured the remaining time
    // at or after `sentAt`, so counting from `sentAt` can only end the entry early.
    if (ttlCapMs !== null) expiresAt = Math.min(expiresAt, sentAt + ttlCapMs);
    const value = reply ?? NIL_ENTRY;
    const existing = this.lru.peek(key, now);
    let stored: boolean;
    const plain = owner === null && user === DEFAULT_USER && db === 0;
    if (existing === undefined || (typeof existing === 'string' && plain)) {
      stored = plain
        ? this.store(key, value, expiresAt, now)
        : this.store(key, { user, db, reply: value, expiresAt, owner, next: null }, expiresAt, now);
    } else {
      // replace this partition's slot, keep the others behind it
      let rest: PartitionSlot | null = null;
      let last = expiresAt;
      for (let s: PartitionSlot | null = this.asSlots(key, existing); s !== null; s = s.next) {
        if (s.db === db && s.user === user) continue;
        rest = { ...s, next: rest };
        last = Math.max(last, s.expiresAt);
      }
      stored = this.store(key, { user, db, reply: value, expiresAt, owner, next: rest }, last, now);
    }
    if (stored) this.stats.fills++;
    return stored;
  }

  /**
   * A write naming `keys` is being sent: drop them, and hold them until the hold is
   * released (at the write's reply, or when it will never come). While held, a key is
   * neither served nor filled, and a fill already in flight is discarded (its slot's
   * generation moves), so nothing read before the write's reply can be stored: the reply
   * has nothing to drop again.
   */
  holdKeys(keys: string[]): WriteHold {
    const slots = keys.map((key) => {
      const h = hashKey(key);
      const slot = this.holdSlot(slotOfHash(h));
      if (this.lru.deleteHashed(key, h)) this.stats.invalidations++;
      return slot;
    });
    return new WriteHold(this, -1, slots);
  }

  /** holdKeys of one key given as buf[off, off + len) (latin1), without making a string of it */
  holdKeyBytes(buf: Buffer, off: number, len: number): WriteHold {
    return new WriteHold(this, this.holdSlotBytes(buf, off, len), null);
  }

  /**
   * holdKeyBytes without the hold object: returns the slot held, which the caller releases
   * exactly once with releaseSlot (a session keeps its writes' slots in a ring).
   */
  holdSlotBytes(buf: Buffer, off: number, len: number): number {
    // (one hash of the key for its slot and its place in the LRU: this runs for every write)
    const h = hashKeyBytes(buf, off, len);
    const slot = this.holdSlot(slotOfHash(h));
    if (this.lru.deleteBytesHashed(buf, off, len, h)) this.stats.invalidations++;
    return slot;
  }

  /** the write that holdSlotBytes held `slot` for is answered, or never will be */
  releaseSlot(slot: number): void {
    this.slotState[writingAt(slot)]--;
    this.writes--;
  }

  /** A write whose keys cannot be told (or that touches whole databases) is being sent. */
  holdAll(): WriteHold {
    this.allWrites++;
    this.invalidateAll();
    return new WriteHold(this, ALL_SLOTS, null);
  }

  private holdSlot(slot: number): number {
    this.slotState[writingAt(slot)]++;
    this.slotState[genAt(slot)]++;
    this.writes++;
    return slot;
  }

  /** (WriteHold.release's) */
  unhold(slot: number, slots: number[] | null): void {
    if (slot === ALL_SLOTS) {
      // (nothing was served or filled while it was in flight: no second drop needed)
      this.allWrites--;
      return;
    }
    if (slot >= 0) {
      this.slotState[writingAt(slot)]--;
      this.writes--;
    }
    if (slots !== null) {
      for (const s of slots) this.slotState[writingAt(s)]--;
      this.writes -= slots.length;
    }
  }

  /** Drop `key` in every partition (tracking has one namespace for all databases). */
  invalidate(key: string): void {
    const h = hashKey(key);
    if (this.lru.deleteHashed(key, h)) this.stats.invalidations++;
    this.slotState[genAt(slotOfHash(h))]++;
  }

  invalidateAll(): void {
    this.epoch++;
    if (this.lru.size === 0) return;
    this.stats.flushes++;
    this.lru.clear();
  }

  /**
   * Redis Cluster: drop every entry whose key hashes (CRC16, hash tags) to a slot set in
   * `slots` (SLOT_COUNT entries, non-zero: drop), and discard every fill in flight (the
   * epoch moves: what they read may come from a node that no longer reports the key).
   * Walks the whole cache: for rare events (a node's link lost, a failover, a moved slot).
   * Returns how many keys were dropped.
   */
  invalidateSlots(slots: Uint8Array, reason: SlotDropReason): number {
    this.epoch++;
    const n = this.lru.removeWhere((key) => slots[keyHashSlotLatin1(key)] !== 0);
    if (reason === 'link-lost') this.stats.slotDropsLinkLost += n;
    else if (reason === 'owner-changed') this.stats.slotDropsOwnerChanged += n;
    else if (reason === 'node-flush') this.stats.slotDropsNodeFlush += n;
    else this.stats.slotDropsTrackingLost += n;
    return n;
  }

  /**
   * Redis Cluster: no fill of a key in these slots starts (beginFill refuses) until they are
   * unblocked; fills already in flight are discarded (the epoch moves), so none completes either.
   */
  blockSlots(slots: Uint8Array): void {
    const b = (this.blocked ??= new Uint8Array(SLOT_COUNT));
    const before = this.blockedCount;
    for (let s = 0; s < SLOT_COUNT; s++) {
      if (slots[s] !== 0 && b[s] === 0) {
        b[s] = 1;
        this.blockedCount++;
      }
    }
    // (a slot blocked already has no fill in flight: the block before discarded them)
    if (this.blockedCount !== before) this.epoch++;
  }

  /** Fills of these slots may start again (their node's link is tracking). */
  unblockSlots(slots: Uint8Array): void {
    const b = this.blocked;
    if (b === null) return;
    for (let s = 0; s < SLOT_COUNT; s++) {
      if (slots[s] !== 0 && b[s] !== 0) {
        b[s] = 0;
        this.blockedCount--;
      }
    }
  }

  /** is `slot` (a Redis Cluster slot) blocked (for tests and stats) */
  isSlotBlocked(slot: number): boolean {
    return this.blocked !== null && this.blocked[slot] !== 0;
  }

  /** how many Redis Cluster slots are blocked */
  get blockedSlots(): number {
    return this.blockedCount;
  }

  /** An entry as a chain of partitions (the default partition's reply becomes a slot). */
  private asSlots(key: string, entry: KeyEntry): PartitionSlot {
    if (typeof entry !== 'string') return entry;
    return { user: DEFAULT_USER, db: 0, reply: entry, expiresAt: this.lru.deadlineOf(key), owner: null, next: null };
  }

  private removeSlot(key: string, entry: PartitionSlot, gone: PartitionSlot): void {
    let rest: PartitionSlot | null = null;
    for (let s: PartitionSlot | null = entry; s !== null; s = s.next) if (s !== gone) rest = { ...s, next: rest };
    if (rest === null) this.lru.delete(key);
    else this.lru.set(key, rest, this.lru.deadlineOf(key));
  }

  /** Change bounds live (a config reload); shrinking evicts. */
  setTtl(ttlMs: number): void {
    this.ttlMs = ttlMs;
  }
}
