// An exact LRU of string keys with a deadline per entry, for the reply cache's hot path.
//
// A cache hit is one Map lookup, a comparison with the deadline and four integer stores
// that move the entry to the recent end of a doubly linked list kept in typed arrays.
// lru-cache, which the cache used first, does the same plus an options object per call
// and its fetch/diagnostics bookkeeping, and keeps ttls as start + length with "stale once
// older than" (the cache needs "a miss from its deadline on", exactly). Measured on fresh
// key strings as a socket yields them: ~400 ns per lru-cache get with ttls against ~360
// here, most of both being the string's hashing; a miss here reads no clock.
//
//   oldest ◀── prev ── [slot] ── next ──▶ newest        index: key → slot
//
// Slots are reused through a free list; the arrays grow by doubling up to the capacity,
// so a small cache costs little and clear() is proportional to what it holds.

const NONE = -1;

export type EvictReason = 'evict' | 'expire';

export interface KeyLruOptions<V> {
  /** most entries */
  capacity: number;
  /** most total size (see sizeOf); 0: no size bound */
  maxSize?: number;
  sizeOf?: (value: V, key: string) => number;
  /** an entry left because of the bounds ('evict') or its deadline ('expire') */
  onRemove?: (reason: EvictReason) => void;
}

export class KeyLru<V> {
  private readonly index = new Map<string, number>();
  private keys: (string | undefined)[] = [];
  private values: (V | undefined)[] = [];
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private deadlines = new Float64Array(0);
  private sizes = new Float64Array(0);
  private oldest = NONE;
  private newest = NONE;
  private freeSlots: number[] = [];
  private used = 0;
  private total = 0;
  readonly capacity: number;
  readonly maxSize: number;
  private readonly sizeOf: ((value: V, key: string) => number) | null;
  private readonly onRemove: (reason: EvictReason) => void;

  constructor(opts: KeyLruOptions<V>) {
    if (!(opts.capacity >= 1)) throw new RangeError('capacity must be at least 1');
    this.capacity = opts.capacity;
    this.maxSize = opts.maxSize ?? 0;
    this.sizeOf = this.maxSize > 0 ? (opts.sizeOf ?? null) : null;
    this.onRemove = opts.onRemove ?? (() => undefined);
  }

  get size(): number {
    return this.index.size;
  }

  /** total size of the entries (0 without a size bound) */
  get totalSize(): number {
    return this.total;
  }

  /**
   * The value, made the most recent; undefined if absent or past its deadline (then
   * removed). `now` is asked only when the key is there (a miss costs no clock read).
   */
  get(key: string, now: () => number): V | undefined {
    const slot = this.index.get(key);
    if (slot === undefined) return undefined;
    if (this.deadlines[slot] <= now()) {
      this.remove(key, slot);
      this.onRemove('expire');
      return undefined;
    }
    if (slot !== this.newest) {
      this.unlink(slot);
      this.append(slot);
    }
    return this.values[slot];
  }

  /** The value without touching its recency; undefined if absent or past its deadline. */
  peek(key: string, now: number): V | undefined {
    const slot = this.index.get(key);
    return slot === undefined || this.deadlines[slot] <= now ? undefined : this.values[slot];
  }

  /** Milliseconds left before the entry's deadline (0 if absent). */
  remaining(key: string, now: number): number {
    const slot = this.index.get(key);
    return slot === undefined ? 0 : Math.max(0, this.deadlines[slot] - now);
  }

  deadlineOf(key: string): number {
    const slot = this.index.get(key);
    return slot === undefined ? 0 : this.deadlines[slot];
  }

  /**
   * Store `value` as the most recent entry until `deadline`, evicting the oldest entries
   * beyond the bounds. Returns false (and stores nothing) if it alone exceeds maxSize.
   */
  set(key: string, value: V, deadline: number): boolean {
    const size = this.sizeOf ? this.sizeOf(value, key) : 0;
    if (this.maxSize > 0 && size > this.maxSize) {
      this.delete(key);
      return false;
    }
    let slot = this.index.get(key);
    if (slot !== undefined) {
      this.total += size - this.sizes[slot];
      if (slot !== this.newest) {
        this.unlink(slot);
        this.append(slot);
      }
    } else {
      if (this.index.size >= this.capacity) this.evictOldest();
      slot = this.takeSlot();
      this.keys[slot] = key;
      this.index.set(key, slot);
      this.total += size;
      this.append(slot);
    }
    this.values[slot] = value;
    this.deadlines[slot] = deadline;
    this.sizes[slot] = size;
    while (this.maxSize > 0 && this.total > this.maxSize && this.oldest !== slot) this.evictOldest();
    return true;
  }

  delete(key: string): boolean {
    const slot = this.index.get(key);
    if (slot === undefined) return false;
    this.remove(key, slot);
    return true;
  }

  clear(): void {
    this.index.clear();
    this.keys = [];
    this.values = [];
    this.freeSlots = [];
    this.used = 0;
    this.total = 0;
    this.oldest = this.newest = NONE;
  }

  /** [key, value, deadline] from the oldest entry to the newest. */
  *entries(): IterableIterator<[string, V, number]> {
    for (let s = this.oldest; s !== NONE; s = this.next[s]) {
      yield [this.keys[s] as string, this.values[s] as V, this.deadlines[s]];
    }
  }

  private evictOldest(): void {
    const slot = this.oldest;
    if (slot === NONE) return;
    this.remove(this.keys[slot] as string, slot);
    this.onRemove('evict');
  }

  private remove(key: string, slot: number): void {
    this.index.delete(key);
    this.unlink(slot);
    this.total -= this.sizes[slot];
    this.keys[slot] = undefined;
    this.values[slot] = undefined;
    this.freeSlots.push(slot);
  }

  private takeSlot(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    const slot = this.used++;
    if (slot >= this.prev.length) this.grow(slot + 1);
    return slot;
  }

  private grow(atLeast: number): void {
    const n = Math.min(this.capacity, Math.max(atLeast, 16, this.prev.length * 2));
    const widen = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.prev = widen(this.prev, (k) => new Int32Array(k));
    this.next = widen(this.next, (k) => new Int32Array(k));
    this.deadlines = widen(this.deadlines, (k) => new Float64Array(k));
    this.sizes = widen(this.sizes, (k) => new Float64Array(k));
  }

  private unlink(slot: number): void {
    const p = this.prev[slot];
    const n = this.next[slot];
    if (p === NONE) this.oldest = n;
    else this.next[p] = n;
    if (n === NONE) this.newest = p;
    else this.prev[n] = p;
  }

  private append(slot: number): void {
    this.prev[slot] = this.newest;
    this.next[slot] = NONE;
    if (this.newest === NONE) this.oldest = slot;
    else this.next[this.newest] = slot;
    this.newest = slot;
  }
}
