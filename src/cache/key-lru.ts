// An exact LRU of string keys with a deadline per entry, for the reply cache's hot path.
//
// A cache hit is one probe of a hash index, a comparison with the deadline and four
// integer stores that move the entry to the recent end of a doubly linked list kept in
// typed arrays. lru-cache, which the cache used first, does the same plus an options
// object per call and its fetch/diagnostics bookkeeping, and keeps ttls as start + length
// with "stale once older than" (the cache needs "a miss from its deadline on", exactly).
//
//   oldest ◀── prev ── [slot] ── next ──▶ newest        index: hash(key) → slot
//
// The index is our own open-addressing table (linear probing, twice the capacity, so at
// most half full) rather than a Map, so that a GET can be looked up from the request's
// bytes where they lie (getBytes): a Map needs a key string, which costs a string made
// from the socket's bytes and its hashing, about 180 ns of a hit's 240 ns measured on
// 10,000 keys. The hash is seeded per process, as V8's own string hash is, so keys
// cannot be chosen ahead to collide.
//
// Slots are reused through a free list. The arrays are sized for the capacity at the
// start, as lru-cache does: growing them by doubling would leave the discarded copies as
// garbage (about as much again) in the middle of filling. Typed arrays are zero-filled by
// the allocator, so their pages become resident only as slots are used.

const NONE = -1;
/** an unused cell; a used one holds slot + 1, so that a new table needs no fill */
const EMPTY = 0;

/** Per-process seed of the index hash (see above). */
const SEED = (Math.random() * 0x100000000) | 0;

/** A 32-bit avalanche, so that linear probing sees well-spread bits. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The index hash of a key given as a string (latin1: one byte per character). */
export function hashKey(key: string): number {
  let h = SEED;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return finish(h);
}

/** The same hash of the key buf[off, off + len), as hashKey(buf.toString('latin1', off, off + len)). */
export function hashKeyBytes(buf: Uint8Array, off: number, len: number): number {
  let h = SEED;
  for (let i = off, end = off + len; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return finish(h);
}

function sameKey(key: string, buf: Uint8Array, off: number, len: number): boolean {
  if (key.length !== len) return false;
  for (let i = 0; i < len; i++) if (key.charCodeAt(i) !== buf[off + i]) return false;
  return true;
}

/**
 * The presence filter: how many keys of each hash bucket (the hash's top FILTER_BITS) are
 * held, a byte each that sticks at FILTER_STUCK once that many are (then it only ever
 * says "maybe"). A zero proves the key absent without a probe of the index, whose cells,
 * twice the capacity, are spread over hundreds of pages: a write of a key that is not
 * cached (the usual case) drops it from a 64 KiB array instead of paying a TLB and cache
 * miss in a megabyte-sized one. Only deletes use it: a hit would pay it as an extra access.
 */
const FILTER_BITS = 16;
const FILTER_STUCK = 255;

function bucketOf(h: number): number {
  return h >>> (32 - FILTER_BITS);
}

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
  /** the index: slot + 1, or EMPTY; cellHash holds the slot's key's hash */
  private readonly cells: Int32Array;
  private readonly cellHash: Int32Array;
  private readonly mask: number;
  /** keys per hash bucket, for deletes (see FILTER_BITS) */
  private readonly held = new Uint8Array(1 << FILTER_BITS);
  private count = 0;
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
    let cells = 8;
    while (cells < 2 * n) cells *= 2;
    this.cells = new Int32Array(cells);
    this.cellHash = new Int32Array(cells);
    this.mask = cells - 1;
  }

  get size(): number {
    return this.count;
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
    return this.take(this.find(key), now);
  }

  /** get, with the key given as buf[off, off + len) (latin1), without making a string of it. */
  getBytes(buf: Uint8Array, off: number, len: number, now: () => number): V | undefined {
    return this.take(this.findBytes(buf, off, len, hashKeyBytes(buf, off, len)), now);
  }

  /** getBytes with the key's hash (hashKeyBytes) already known */
  getBytesHashed(buf: Uint8Array, off: number, len: number, h: number, now: () => number): V | undefined {
    return this.take(this.findBytes(buf, off, len, h), now);
  }

  private take(slot: number, now: () => number): V | undefined {
    if (slot === NONE) return undefined;
    if (this.deadlines[slot] <= now()) {
      this.remove(slot);
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
    const slot = this.find(key);
    return slot === NONE || this.deadlines[slot] <= now ? undefined : this.values[slot];
  }

  /** Milliseconds left before the entry's deadline (0 if absent). */
  remaining(key: string, now: number): number {
    const slot = this.find(key);
    return slot === NONE ? 0 : Math.max(0, this.deadlines[slot] - now);
  }

  deadlineOf(key: string): number {
    const slot = this.find(key);
    return slot === NONE ? 0 : this.deadlines[slot];
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
    const h = hashKey(key);
    let slot = this.findHashed(key, h);
    if (slot !== NONE) {
      if (this.maxSize > 0) this.total += size - this.sizes[slot];
      if (slot !== this.newest) {
        this.unlink(slot);
        this.append(slot);
      }
    } else {
      if (this.count >= this.capacity) this.evictOldest();
      slot = this.takeSlot();
      this.keys[slot] = key;
      this.insertCell(slot, h);
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
    return this.deleteHashed(key, hashKey(key));
  }

  /** delete with the key's hash (hashKey) already known */
  deleteHashed(key: string, h: number): boolean {
    if (this.held[bucketOf(h)] === 0) return false;
    const slot = this.findHashed(key, h);
    if (slot === NONE) return false;
    this.remove(slot);
    return true;
  }

  /** delete, with the key given as buf[off, off + len) (latin1), without making a string of it. */
  deleteBytes(buf: Uint8Array, off: number, len: number): boolean {
    return this.deleteBytesHashed(buf, off, len, hashKeyBytes(buf, off, len));
  }

  /** deleteBytes with the key's hash (hashKeyBytes) already known */
  deleteBytesHashed(buf: Uint8Array, off: number, len: number, h: number): boolean {
    if (this.held[bucketOf(h)] === 0) return false;
    const slot = this.findBytes(buf, off, len, h);
    if (slot === NONE) return false;
    this.remove(slot);
    return true;
  }

  clear(): void {
    this.clearIndex();
    this.keys.fill(undefined, 0, this.used);
    this.values.fill(undefined, 0, this.used);
    this.freeSlots = [];
    this.used = 0;
    this.total = 0;
    this.oldest = this.newest = NONE;
  }

  /** Remove every entry whose key `doomed` names (a walk of them all: for rare bulk drops); returns how many. */
  removeWhere(doomed: (key: string) => boolean): number {
    let n = 0;
    for (let s = this.oldest; s !== NONE; ) {
      const after = this.next[s];
      if (doomed(this.keys[s] as string)) {
        this.remove(s);
        n++;
      }
      s = after;
    }
    return n;
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
    this.remove(slot);
    this.onRemove('evict');
  }

  private remove(slot: number): void {
    this.removeCell(slot);
    this.unlink(slot);
    if (this.maxSize > 0) this.total -= this.sizes[slot];
    this.keys[slot] = undefined;
    this.values[slot] = undefined;
    this.freeSlots.push(slot);
  }

  // ── the index ──

  private find(key: string): number {
    return this.findHashed(key, hashKey(key));
  }

  private findHashed(key: string, h: number): number {
    const { cells, cellHash, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const cell = cells[i];
      if (cell === EMPTY) return NONE;
      if (cellHash[i] === h && this.keys[cell - 1] === key) return cell - 1;
    }
  }

  private findBytes(buf: Uint8Array, off: number, len: number, h: number): number {
    const { cells, cellHash, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const cell = cells[i];
      if (cell === EMPTY) return NONE;
      if (cellHash[i] === h && sameKey(this.keys[cell - 1] as string, buf, off, len)) return cell - 1;
    }
  }

  /** Empty the index: cell by cell when few are used (a flush of a large, mostly empty cache costs no more than its entries). */
  private clearIndex(): void {
    const { cells, mask } = this;
    if (this.count * 16 >= cells.length) {
      cells.fill(EMPTY);
      this.held.fill(0);
    } else {
      for (let s = this.oldest; s !== NONE; s = this.next[s]) {
        const h = hashKey(this.keys[s] as string);
        let i = h & mask;
        while (cells[i] !== s + 1) i = (i + 1) & mask;
        cells[i] = EMPTY;
        this.held[bucketOf(h)] = 0;
      }
    }
    this.count = 0;
  }

  private insertCell(slot: number, h: number): void {
    const { cells, mask } = this;
    let i = h & mask;
    while (cells[i] !== EMPTY) i = (i + 1) & mask;
    cells[i] = slot + 1;
    this.cellHash[i] = h;
    this.count++;
    const b = bucketOf(h);
    if (this.held[b] !== FILTER_STUCK) this.held[b]++;
  }

  /** Take slot's cell out, shifting later cells of the run back so that no probe stops early. */
  private removeCell(slot: number): void {
    const { cells, cellHash, mask } = this;
    const h = hashKey(this.keys[slot] as string);
    let i = h & mask;
    while (cells[i] !== slot + 1) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; cells[j] !== EMPTY; j = (j + 1) & mask) {
      const home = cellHash[j] & mask;
      // the cell at j may move back to i only if its home is not within (i, j]
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        cells[i] = cells[j];
        cellHash[i] = cellHash[j];
        i = j;
      }
    }
    cells[i] = EMPTY;
    this.count--;
    const b = bucketOf(h);
    if (this.held[b] !== FILTER_STUCK) this.held[b]--;
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
