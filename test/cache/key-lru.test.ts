import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyLru } from '../../src/cache/key-lru.js';

// KeyLru against a model: an array of [key, value, deadline, size] from oldest to newest.

type Op =
  | { op: 'get'; key: string }
  | { op: 'peek'; key: string }
  | { op: 'set'; key: string; value: number; life: number; size: number }
  | { op: 'delete'; key: string }
  | { op: 'tick'; ms: number }
  | { op: 'clear' };

const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('get' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('peek' as const), key: keyArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), key: keyArb, value: fc.integer(), life: fc.integer({ min: -5, max: 50 }), size: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
);

test('model: gets, sets, deletes, deadlines and both bounds behave as an exact LRU', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.constantFrom(0, 20), fc.array(opArb, { maxLength: 120 }), (capacity, maxSize, ops) => {
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
          const got = o.op === 'get' ? lru.get(o.key, () => now) : lru.peek(o.key, now);
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
          assert.equal(lru.delete(o.key), i >= 0);
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
