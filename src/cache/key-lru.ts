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
// Slots are reused through a free list. The arrays are sized for the capacity at the
// start, as lru-cache does: growing them by doubling would leave the discarded copies as
// garbage (about as much again) in the middle of filling. Typed arrays are zero-filled by
// the allocator, so their pages become resident only as slots are used.

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
  private keys: (string | undefined)[];
  private values: (V | undefined)[];
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly deadlines: Float64Array;
  /** only with a size bound */
  private readonly sizes: Float64Array;
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
    const n = this.capacity;
    this.keys = new Array<string | undefined>(n).fill(undefined);
    this.values = new Array<V | undefined>(n).fill(undefined);
    this.prev = new Int32Array(n);
    this.next = new Int32Array(n);
    this.deadlines = new Float64Array(n);
    this.sizes = new Float64Array(this.maxSize > 0 ? n : 0);
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
      if (this.maxSize > 0) this.total += size - this.sizes[slot];
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
    if (this.maxSize > 0) this.sizes[slot] = size;
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
    this.keys.fill(undefined, 0, this.used);
    this.values.fill(undefined, 0, this.used);
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
    if (this.maxSize > 0) this.total -= this.sizes[slot];
    this.keys[slot] = undefined;
    this.values[slot] = undefined;
    this.freeSlots.push(slot);
  }

  private takeSlot(): number {
    const free = this.freeSlots.pop();
    return free !== undefined ? free : this.used++;
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
