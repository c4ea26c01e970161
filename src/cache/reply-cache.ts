import { LRUCache } from 'lru-cache';
import { CacheStats } from './cache-stats.js';

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
// So each key with a fill or write in flight has a guard whose generation is bumped
// by every invalidation; a fill stores only if the generation (and the global epoch,
// bumped by flushes and link loss) is still the one it saw when it was sent.
// Guards exist only while something is in flight, so memory stays bounded.
//
// Writes through the proxy hold their keys' guards for as long as they are in flight:
// no GET for such a key is served from the cache until the write's reply is back,
// so a client always reads its own writes and nobody reads across a write in progress.

/**
 * A cached GET reply as a latin1 string: the complete bulk reply (`$n\r\n...\r\n`), or
 * NIL_ENTRY for a missing key. A string costs 16 bytes beside its characters where a
 * Buffer costs about a hundred, and sockets write it as it is.
 */
export type CachedReply = string;
const NIL_ENTRY = '';

/**
 * The reply of one (user, database) that is not the default user's database 0. Most keys
 * are only read by that one partition: their LRU value is the reply string itself and
 * their expiry is the LRU's own. A key read by others too holds a chain of these.
 */
interface PartitionSlot {
  user: string;
  db: number;
  reply: CachedReply;
  expiresAt: number;
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

export interface KeyGuard {
  fills: number;
  writes: number;
  gen: number;
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
/** see store() */
const TTL_EDGE = 1e-6;

export class ReplyCache {
  readonly stats = new CacheStats();
  /** false while coherence cannot be guaranteed (invalidation link down): nothing served or filled */
  private ready = false;
  private epoch = 0;
  private allWrites = 0;
  private readonly guards = new Map<string, KeyGuard>();
  private lru: LRUCache<string, KeyEntry>;
  private ttlMs: number;
  readonly now: () => number;

  constructor(opts: ReplyCacheOptions) {
    this.ttlMs = opts.ttlMs;
    this.now = opts.now ?? (() => performance.now());
    this.lru = this.makeLru(opts.capacity, opts.maxBytes ?? 0);
  }

  private makeLru(capacity: number, maxBytes: number): LRUCache<string, KeyEntry> {
    return new LRUCache<string, KeyEntry>({
      max: capacity,
      // Each entry's life is the LRU's per-entry ttl (two numbers in typed arrays, no
      // object per entry), read on our clock at every get.
      ttl: 0,
      ttlResolution: 0,
      perf: { now: this.now },
      ...(maxBytes ? { maxSize: maxBytes, sizeCalculation: (e: KeyEntry, k: string) => entryBytes(e) + k.length } : {}),
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.stats.evictions++;
        else if (reason === 'expire') this.stats.expirations++;
      },
    });
  }

  /**
   * Store `entry` until `expiresAt`. The LRU counts an entry stale once its age is
   * *over* its ttl; a hair less makes it stale *at* expiresAt, as this cache's rule is.
   */
  private store(key: string, entry: KeyEntry, expiresAt: number, now: number, noUpdateTTL = false): boolean {
    const ttl = expiresAt - now - TTL_EDGE;
    if (!(ttl > 0)) return false; // (a ttl of 0 would mean "forever" to the LRU)
    this.lru.set(key, entry, { ttl, noUpdateTTL });
    return true;
  }

  /**
   * Change the key and byte bounds live (a config reload). The LRU is rebuilt with
   * the entries copied from least to most recently used, so the order is kept and,
   * when the bounds shrink, the least recently used entries are the ones evicted.
   * Guards, the epoch and readiness are untouched: fills in flight complete into the
   * new LRU under the same race rules.
   */
  resize(capacity: number, maxBytes: number): void {
    const old = this.lru;
    this.lru = this.makeLru(capacity, maxBytes);
    for (const [key, entry] of old.rentries() as Iterable<[string, KeyEntry]>) {
      const left = old.getRemainingTTL(key);
      if (left > 0) this.lru.set(key, entry, { ttl: left });
    }
  }

  get size(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize ?? 0;
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
   * The cached reply for `key` as seen by (user, db): a Buffer, null for a cached
   * missing key, or undefined for a miss (including "cannot serve now").
   */
  lookup(key: string, user: string, db: number): CachedReply | null | undefined {
    if (!this.ready || this.allWrites > 0) return undefined;
    if (this.guards.size > 0) {
      const guard = this.guards.get(key);
      if (guard !== undefined && guard.writes > 0) return undefined;
    }
    const entry = this.lru.get(key);
    if (typeof entry === 'string') {
      if (db === 0 && user === DEFAULT_USER) {
        this.stats.hits++;
        return entry === NIL_ENTRY ? null : entry;
      }
    } else if (entry !== undefined) {
      for (let s: PartitionSlot | null = entry; s !== null; s = s.next) {
        if (s.db !== db || s.user !== user) continue;
        if (s.expiresAt <= this.now()) {
          this.stats.expirations++;
          this.removeSlot(key, entry, s);
          break;
        }
        this.stats.hits++;
        return s.reply === NIL_ENTRY ? null : s.reply;
      }
    }
    this.stats.misses++;
    return undefined;
  }

  /** A GET for `key` is about to be sent. Returns its guard, or null if it must not fill. */
  beginFill(key: string): KeyGuard | null {
    if (!this.ready || this.allWrites > 0) return null;
    let guard = this.guards.get(key);
    if (guard === undefined) {
      guard = { fills: 0, writes: 0, gen: 0 };
      this.guards.set(key, guard);
    } else if (guard.writes > 0) {
      return null;
    }
    guard.fills++;
    return guard;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  /**
   * The GET sent with (guard, gen, epoch) at `sentAt` returned `reply`; `ttlCapMs`
   * is the key's remaining time to live in Redis (null: no expiry). Stores it unless
   * anything invalidated the key meanwhile. Always releases the guard.
   */
  completeFill(
    key: string,
    guard: KeyGuard,
    gen: number,
    epoch: number,
    sentAt: number,
    user: string,
    db: number,
    reply: CachedReply | null,
    ttlCapMs: number | null,
  ): boolean {
    const clean = this.ready && epoch === this.epoch && gen === guard.gen && guard.writes === 0 && this.allWrites === 0;
    this.release(key, guard);
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
    const existing = this.lru.peek(key);
    let stored: boolean;
    if (existing === undefined || (typeof existing === 'string' && user === DEFAULT_USER && db === 0)) {
      stored = user === DEFAULT_USER && db === 0
        ? this.store(key, value, expiresAt, now)
        : this.store(key, { user, db, reply: value, expiresAt, next: null }, expiresAt, now);
    } else {
      // replace this partition's slot, keep the others behind it
      let rest: PartitionSlot | null = null;
      let last = expiresAt;
      for (let s: PartitionSlot | null = this.asSlots(key, existing, now); s !== null; s = s.next) {
        if (s.db === db && s.user === user) continue;
        rest = { ...s, next: rest };
        last = Math.max(last, s.expiresAt);
      }
      stored = this.store(key, { user, db, reply: value, expiresAt, next: rest }, last, now);
    }
    if (stored) this.stats.fills++;
    return stored;
  }

  abortFill(key: string, guard: KeyGuard): void {
    this.release(key, guard);
  }

  private release(key: string, guard: KeyGuard): void {
    guard.fills--;
    if (guard.fills <= 0 && guard.writes <= 0) this.guards.delete(key);
  }

  /** A write naming `keys` is being sent: drop them and hold them until endWrite. */
  beginWrite(keys: string[]): void {
    for (const key of keys) {
      let guard = this.guards.get(key);
      if (guard === undefined) {
        guard = { fills: 0, writes: 0, gen: 0 };
        this.guards.set(key, guard);
      }
      guard.writes++;
      this.invalidate(key);
    }
  }

  /** The write's reply came back (or it was abandoned): drop the keys again and release them. */
  endWrite(keys: string[]): void {
    for (const key of keys) {
      this.invalidate(key);
      const guard = this.guards.get(key);
      if (guard === undefined) continue;
      guard.writes--;
      if (guard.fills <= 0 && guard.writes <= 0) this.guards.delete(key);
    }
  }

  /** A write whose keys cannot be told (or that touches whole databases) is in flight. */
  beginWriteAll(): void {
    this.allWrites++;
    this.invalidateAll();
  }

  endWriteAll(): void {
    this.invalidateAll();
    this.allWrites--;
  }

  /** Drop `key` in every partition (tracking has one namespace for all databases). */
  invalidate(key: string): void {
    if (this.lru.delete(key)) this.stats.invalidations++;
    const guard = this.guards.get(key);
    if (guard !== undefined) guard.gen++;
  }

  invalidateAll(): void {
    this.epoch++;
    if (this.lru.size > 0) this.stats.flushes++;
    this.lru.clear();
  }

  /** An entry as a chain of partitions (the default partition's reply becomes a slot). */
  private asSlots(key: string, entry: KeyEntry, now: number): PartitionSlot {
    if (typeof entry !== 'string') return entry;
    return { user: DEFAULT_USER, db: 0, reply: entry, expiresAt: now + this.lru.getRemainingTTL(key), next: null };
  }

  private removeSlot(key: string, entry: PartitionSlot, gone: PartitionSlot): void {
    let rest: PartitionSlot | null = null;
    for (let s: PartitionSlot | null = entry; s !== null; s = s.next) if (s !== gone) rest = { ...s, next: rest };
    if (rest === null) this.lru.delete(key);
    else this.lru.set(key, rest, { noUpdateTTL: true });
  }

  /** Change bounds live (a config reload); shrinking evicts. */
  setTtl(ttlMs: number): void {
    this.ttlMs = ttlMs;
  }
}
