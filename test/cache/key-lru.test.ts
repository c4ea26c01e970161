import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyLru, hashKey, hashKeyBytes } from '../../src/cache/key-lru.js';

// KeyLru against a model: an array of [key, value, deadline, size] from oldest to newest.

type Op =
  | { op: 'get'; key: string; bytes: boolean }
  | { op: 'peek'; key: string }
  | { op: 'set'; key: string; value: number; life: number; size: number }
  | { op: 'delete'; key: string; bytes: boolean }
  | { op: 'tick'; ms: number }
  | { op: 'clear' };

// More keys than the index has cells at small capacities (8 or 16), so probe runs form,
// wrap around the table's end and are cut by deletions and evictions.
const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', '', 'ab', 'ba', '\u00ff\u0000', 'key:1', 'key:10', 'x'.repeat(70), '\r\n', 'Z');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  // bytes: looked up with getBytes from the key's latin1 bytes inside a larger buffer, as a request holds it
  { weight: 4, arbitrary: fc.record({ op: fc.constant('get' as const), key: keyArb, bytes: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('peek' as const), key: keyArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), key: keyArb, value: fc.integer(), life: fc.integer({ min: -5, max: 50 }), size: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb, bytes: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
);

/** the key's bytes at offset 7 of a buffer with other bytes around them */
function asRequest(key: string): Buffer {
  return Buffer.concat([Buffer.from('$99\r\nab'), Buffer.from(key, 'latin1'), Buffer.from('yz\r\n')]);
}

test('model: gets, sets, deletes, deadlines and both bounds behave as an exact LRU', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.constantFrom(0, 20), fc.array(opArb, { maxLength: 150 }), (capacity, maxSize, ops) => {
      const removed = { evict: 0, expire: 0 };
      const lru = new KeyLru<number>({ capacity, maxSize, sizeOf: (v) => Math.abs(v % 7) + 1, onRemove: (r) => removed[r]++ });
      let model: { key: string; value: number; deadline: number; size: number }[] = [];
      let now = 100;
      const live = (k: string) => model.findIndex((e) => e.key === k);
      let modelEvicts = 0;
      let modelExpires = 0;
      for (const o of ops) {
        if (o.op === 'get' || o.op === 'peek') {
          const i = live(o.key);
          const got = o.op === 'peek' ? lru.peek(o.key, now) : o.bytes ? lru.getBytes(asRequest(o.key), 7, o.key.length, () => now) : lru.get(o.key, () => now);
          if (i < 0) {
            assert.equal(got, undefined);
          } else if (model[i].deadline <= now) {
            assert.equal(got, undefined, `${o.key} past its deadline`);
            if (o.op === 'get') {
              model.splice(i, 1);
              modelExpires++;
            }
          } else {
            assert.equal(got, model[i].value);
            if (o.op === 'get') model.push(...model.splice(i, 1));
          }
        } else if (o.op === 'set') {
          const size = Math.abs(o.value % 7) + 1;
          const i = live(o.key);
          if (maxSize > 0 && size > maxSize) {
            assert.equal(lru.set(o.key, o.value, now + o.life), false);
            if (i >= 0) model.splice(i, 1);
            continue;
          }
          assert.equal(lru.set(o.key, o.value, now + o.life), true);
          if (i >= 0) model.splice(i, 1);
          else if (model.length >= capacity) {
            model.shift();
            modelEvicts++;
          }
          model.push({ key: o.key, value: o.value, deadline: now + o.life, size });
          while (maxSize > 0 && model.reduce((n, e) => n + e.size, 0) > maxSize) {
            model.shift();
            modelEvicts++;
          }
        } else if (o.op === 'delete') {
          const i = live(o.key);
          assert.equal(o.bytes ? lru.deleteBytes(asRequest(o.key), 7, o.key.length) : lru.delete(o.key), i >= 0);
          if (i >= 0) model.splice(i, 1);
        } else if (o.op === 'tick') {
          now += o.ms;
        } else {
          lru.clear();
          model = [];
        }
        assert.equal(lru.size, model.length);
        assert.ok(lru.size <= capacity);
        assert.deepEqual([...lru.entries()].map(([k, v, d]) => [k, v, d]), model.map((e) => [e.key, e.value, e.deadline]), 'order, oldest first');
        if (maxSize > 0) {
          assert.equal(lru.totalSize, model.reduce((n, e) => n + e.size, 0));
          assert.ok(lru.totalSize <= maxSize);
        }
        assert.equal(removed.evict, modelEvicts);
        assert.equal(removed.expire, modelExpires);
      }
    }),
    { numRuns: 300 },
  );
});

test('an entry is a miss exactly at its deadline, not a moment before', () => {
  const lru = new KeyLru<string>({ capacity: 2 });
  lru.set('k', 'v', 1000);
  assert.equal(lru.get('k', () => 999.999), 'v');
  assert.equal(lru.remaining('k', 999), 1);
  assert.equal(lru.get('k', () => 1000), undefined);
  assert.equal(lru.size, 0);
});

test('it grows past its first arrays and reuses freed slots', () => {
  const lru = new KeyLru<number>({ capacity: 1000 });
  for (let i = 0; i < 1000; i++) lru.set(`k${i}`, i, Infinity);
  for (let i = 0; i < 500; i++) lru.delete(`k${i}`);
  for (let i = 1000; i < 1500; i++) lru.set(`k${i}`, i, Infinity);
  assert.equal(lru.size, 1000);
  lru.set('one-more', -1, Infinity);
  assert.equal(lru.get('k500', () => 0), undefined, 'the oldest went');
  assert.equal(lru.get('k501', () => 0), 501);
  assert.equal(lru.get('one-more', () => 0), -1);
});

test('a key hashes the same from its string and from its bytes, and getBytes compares every byte', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat({ max: 8 }), (bytes, pad) => {
      const key = Buffer.from(bytes).toString('latin1');
      const buf = Buffer.concat([Buffer.alloc(pad, 0x2a), Buffer.from(bytes), Buffer.alloc(3, 0x2a)]);
      assert.equal(hashKeyBytes(buf, pad, bytes.length), hashKey(key));
      const lru = new KeyLru<number>({ capacity: 4 });
      lru.set(key, 1, Infinity);
      assert.equal(lru.getBytes(buf, pad, bytes.length, () => 0), 1);
      if (bytes.length > 0) {
        // the same length, one byte different: never the same entry, even when the hashes meet
        const other = Buffer.from(buf);
        other[pad + bytes.length - 1] ^= 1;
        assert.equal(lru.getBytes(other, pad, bytes.length, () => 0), undefined);
        // a prefix of it
        assert.equal(lru.getBytes(buf, pad, bytes.length - 1, () => 0), undefined);
      }
    }),
    { numRuns: 300 },
  );
});

test('a full index keeps every key findable through many evictions (probe runs cut by removals)', () => {
  const capacity = 64;
  const lru = new KeyLru<number>({ capacity });
  const live: number[] = [];
  let seed = 7;
  for (let n = 0; n < 20_000; n++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const k = seed % 500;
    if (seed % 5 === 0) {
      assert.equal(lru.delete(`k${k}`), live.includes(k));
      if (live.includes(k)) live.splice(live.indexOf(k), 1);
      continue;
    }
    lru.set(`k${k}`, k, Infinity);
    if (live.includes(k)) live.splice(live.indexOf(k), 1);
    else if (live.length === capacity) live.shift();
    live.push(k);
    if (n % 97 === 0) {
      assert.equal(lru.size, live.length);
      for (const x of live) assert.equal(lru.getBytes(Buffer.from(`k${x}`), 0, `k${x}`.length, () => 0), x, `k${x} findable`);
      // (the gets above made them the newest, in this order: the model follows)
      for (let i = 0; i < 20; i++) assert.equal(lru.peek(`k${(k + i * 37) % 500}`, 0) !== undefined, live.includes((k + i * 37) % 500));
    }
  }
});

for (const wantSameLength of [true, false]) test(`two keys whose 32-bit hashes are equal stay two entries (the bytes decide; ${wantSameLength ? 'any pair' : 'keys of different lengths'})`, () => {
  // a birthday search: among 600,000 random keys ~40 pairs share a hash, whatever the seed
  const seen = new Map<number, string>();
  let pair: [string, string] | null = null;
  let x = 12345;
  const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  for (let i = 0; i < 600_000 && pair === null; i++) {
    // lengths 7 and 8 alternate: the pair found differs in length about half the time
    let k = '';
    for (let j = 0; j < 7 + (i & 1); j++) k += String.fromCharCode(rnd());
    const h = hashKey(k);
    const other = seen.get(h);
    if (other !== undefined && (other.length !== k.length || wantSameLength)) pair = [other, k];
    else seen.set(h, k);
  }
  assert.ok(pair !== null, 'a colliding pair was found');
  const [a, b] = pair;
  const lru = new KeyLru<string>({ capacity: 4 });
  lru.set(a, 'A', Infinity);
  assert.equal(lru.get(b, () => 0), undefined);
  assert.equal(lru.getBytes(Buffer.from(b, 'latin1'), 0, b.length, () => 0), undefined);
  lru.set(b, 'B', Infinity);
  assert.equal(lru.getBytes(Buffer.from(a, 'latin1'), 0, a.length, () => 0), 'A');
  assert.equal(lru.getBytes(Buffer.from(b, 'latin1'), 0, b.length, () => 0), 'B');
  assert.equal(lru.delete(a), true);
  assert.equal(lru.getBytes(Buffer.from(b, 'latin1'), 0, b.length, () => 0), 'B');
  assert.equal(lru.size, 1);
});

test('clear empties the index whether it is nearly empty (cell by cell) or full (all at once)', () => {
  for (const n of [5, 900]) {
    const lru = new KeyLru<number>({ capacity: 1000 });
    for (let i = 0; i < n; i++) lru.set(`k${i}`, i, Infinity);
    lru.clear();
    assert.equal(lru.size, 0);
    for (let i = 0; i < n; i++) assert.equal(lru.getBytes(Buffer.from(`k${i}`), 0, `k${i}`.length, () => 0), undefined, `k${i} gone after clearing ${n}`);
    // every cell is free again: the cache fills to capacity and finds each key
    for (let i = 0; i < 1000; i++) lru.set(`n${i}`, i, Infinity);
    for (let i = 0; i < 1000; i++) assert.equal(lru.peek(`n${i}`, 0), i);
    assert.equal(lru.size, 1000);
  }
});

test('churn at small capacities against a Map model: mixed key lengths, wrap-around, deletes, evictions (deterministic)', () => {
  const keys = ['', 'a', 'b', 'ab', 'ba', 'abc', '\u00ff\u0080', 'k'.repeat(70), 'k'.repeat(71)];
  for (let i = 0; i < 24; i++) keys.push(`key:${i}`);
  let x = 99;
  const rnd = (n: number): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % n;
  for (let capacity = 1; capacity <= 12; capacity++) {
    const lru = new KeyLru<number>({ capacity });
    const model = new Map<string, number>(); // insertion order = recency, oldest first
    for (let round = 0; round < 3000; round++) {
      const k = keys[rnd(keys.length)];
      const op = rnd(10);
      if (op < 4) {
        const want = model.get(k);
        const got = rnd(2) === 0 ? lru.get(k, () => 0) : lru.getBytes(Buffer.from(`*${k}#`, 'latin1'), 1, k.length, () => 0);
        assert.equal(got, want, `capacity ${capacity} round ${round}: get ${JSON.stringify(k)}`);
        if (want !== undefined) {
          model.delete(k);
          model.set(k, want);
        }
      } else if (op < 8) {
        model.delete(k);
        if (model.size >= capacity) model.delete(model.keys().next().value as string);
        model.set(k, round);
        lru.set(k, round, Infinity);
      } else if (op < 9) {
        const gone = rnd(2) === 0 ? lru.delete(k) : lru.deleteBytes(Buffer.from(`*${k}#`, 'latin1'), 1, k.length);
        assert.equal(gone, model.delete(k));
      } else if (rnd(20) === 0) {
        lru.clear();
        model.clear();
      }
      assert.equal(lru.size, model.size);
    }
    assert.deepEqual([...lru.entries()].map(([k, v]) => [k, v]), [...model.entries()]);
  }
});

test('deletes find every key of a crowded hash bucket: past the presence filter byte sticking, after removals and clears', () => {
  // 300 keys whose hashes share their top 16 bits (the filter's bucket), found by search
  const bucket = (k: string) => hashKey(k) >>> 16;
  const want = bucket('k0');
  const same: string[] = [];
  for (let i = 0; same.length < 300 && i < 100_000_000; i++) if (bucket(`k${i}`) === want) same.push(`k${i}`);
  assert.equal(same.length, 300);
  const lru = new KeyLru<number>({ capacity: 4000 });
  const del = (k: string, bytes: boolean) => (bytes ? lru.deleteBytes(asRequest(k), 7, k.length) : lru.delete(k));
  for (const k of same) lru.set(k, 1, Infinity);
  // removals while the byte is stuck (300 > 255) never make a held key look absent
  for (let i = 0; i < 290; i++) assert.equal(del(same[i], i % 2 === 0), true, `${same[i]} held`);
  assert.equal(del(same[0], false), false, 'deleted once');
  for (let i = 290; i < 300; i++) assert.equal(lru.peek(same[i], 0), 1);
  for (let i = 290; i < 300; i++) assert.equal(del(same[i], true), true, `${same[i]} still held`);
  // a clear (cell by cell: few keys) resets the bucket; counting is exact again below the sticking point
  lru.set(same[0], 2, Infinity);
  lru.clear();
  assert.equal(del(same[0], true), false);
  for (let i = 0; i < 10; i++) lru.set(same[i], 3, Infinity);
  for (let i = 0; i < 10; i++) lru.delete(same[i]);
  lru.set(same[5], 4, Infinity);
  assert.equal(del(same[5], true), true, 'the one left is found');
  assert.equal(lru.size, 0);
});
