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
 * One (user, database)'s reply for a key. The LRU holds the first slot of each key;
 * other partitions that read the same key hang off `next` (rarely more than one), so
 * the common entry costs one small object besides its reply buffer.
 */
export interface CacheSlot {
  user: string;
  db: number;
  /** the complete reply bytes (`$n\r\n...\r\n`), or null for a missing key */
  reply: Buffer | null;
  expiresAt: number;
  next: CacheSlot | null;
}

type KeyEntry = CacheSlot;

function entryBytes(e: KeyEntry): number {
  let n = 0;
  for (let s: CacheSlot | null = e; s !== null; s = s.next) n += (s.reply?.length ?? 0) + SLOT_OVERHEAD;
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
      ...(maxBytes ? { maxSize: maxBytes, sizeCalculation: (e: KeyEntry, k: string) => entryBytes(e) + k.length } : {}),
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.stats.evictions++;
      },
    });
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
    for (const [key, entry] of old.rentries() as Iterable<[string, KeyEntry]>) this.lru.set(key, entry);
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
  lookup(key: string, user: string, db: number): Buffer | null | undefined {
    if (!this.ready || this.allWrites > 0) return undefined;
    if (this.guards.size > 0) {
      const guard = this.guards.get(key);
      if (guard !== undefined && guard.writes > 0) return undefined;
    }
    const entry = this.lru.get(key);
    if (entry === undefined) {
      this.stats.misses++;
      return undefined;
    }
    for (let s: CacheSlot | null = entry; s !== null; s = s.next) {
      if (s.db !== db || s.user !== user) continue;
      if (s.expiresAt <= this.now()) {
        this.stats.expirations++;
        this.removeSlot(key, entry, s);
        break;
      }
      this.stats.hits++;
      return s.reply;
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
    reply: Buffer | null,
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
    if (expiresAt <= now) return false;
    const slot: CacheSlot = { user, db, reply, expiresAt, next: null };
    let entry = this.lru.peek(key);
    if (entry === undefined) {
      entry = slot;
    } else {
      // replace this partition's slot, keep the others behind it
      let rest: CacheSlot | null = null;
      for (let s: CacheSlot | null = entry; s !== null; s = s.next) {
        if (s.db !== db || s.user !== user) rest = { ...s, next: rest };
      }
      slot.next = rest;
      entry = slot;
    }
    this.lru.set(key, entry);
    this.stats.fills++;
    return true;
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

  private removeSlot(key: string, entry: KeyEntry, gone: CacheSlot): void {
    let rest: CacheSlot | null = null;
    for (let s: CacheSlot | null = entry; s !== null; s = s.next) if (s !== gone) rest = { ...s, next: rest };
    if (rest === null) this.lru.delete(key);
    else this.lru.set(key, rest, { noUpdateTTL: true });
  }

  /** Change bounds live (a config reload); shrinking evicts. */
  setTtl(ttlMs: number): void {
    this.ttlMs = ttlMs;
  }
}
