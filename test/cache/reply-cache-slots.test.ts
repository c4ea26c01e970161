import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplyCache } from '../../src/cache/reply-cache.js';
import { KeyLru } from '../../src/cache/key-lru.js';
import { keyHashSlot, keyHashSlotLatin1, SLOT_COUNT } from '../../src/cluster/key-slot.js';

// The cache's Redis Cluster side, with no Redis: dropping the entries of some slots
// (invalidateSlots) and refusing fills of blocked slots (blockSlots/unblockSlots).

function makeCache(capacity = 1000) {
  const cache = new ReplyCache({ capacity, ttlMs: 60_000, now: () => 1000 });
  cache.setReady(true);
  return cache;
}

const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
const slotOf = (key: string) => keyHashSlotLatin1(key);

function fill(cache: ReplyCache, key: string, value: string, user = 'default', db = 0): boolean {
  const t = cache.beginFill(key, user, db);
  return t !== null && cache.completeFill(t, bulk(value), null);
}

function mask(...slots: number[]): Uint8Array {
  const m = new Uint8Array(SLOT_COUNT);
  for (const s of slots) m[s] = 1;
  return m;
}

test('keyHashSlotLatin1 agrees with keyHashSlot on the same bytes (hash tags included)', () => {
  const keyArb = fc.array(fc.oneof(fc.constantFrom(0x7b, 0x7d), fc.integer({ min: 0, max: 255 })), { maxLength: 40 }).map((a) => Buffer.from(a));
  fc.assert(
    fc.property(keyArb, (b) => keyHashSlotLatin1(b.toString('latin1')) === keyHashSlot(b)),
    { numRuns: 2000 },
  );
  // Redis's own examples
  assert.equal(keyHashSlotLatin1('123456789'), 0x31c3 & (SLOT_COUNT - 1));
  assert.equal(keyHashSlotLatin1('{user1000}.following'), keyHashSlotLatin1('user1000'));
  // an empty tag: the whole key is hashed
  assert.notEqual(keyHashSlotLatin1('foo{}{bar}'), keyHashSlotLatin1('bar'));
  assert.equal(keyHashSlotLatin1('foo{}{bar}'), keyHashSlot(Buffer.from('foo{}{bar}')));
});

test('invalidateSlots drops exactly the keys of the given slots, in every partition, and counts them by reason', () => {
  const cache = makeCache();
  const keys = Array.from({ length: 300 }, (_, i) => `k:${i}`);
  for (const k of keys) assert.ok(fill(cache, k, k));
  // partitions: another user and another db on a few keys
  assert.ok(fill(cache, 'k:1', 'alice', 'alice', 0));
  assert.ok(fill(cache, 'k:2', 'db3', 'default', 3));
  const target = new Set([slotOf('k:1'), slotOf('k:2'), slotOf('k:77')]);
  const expected = keys.filter((k) => target.has(slotOf(k)));
  const n = cache.invalidateSlots(mask(...target), 'owner-changed');
  assert.equal(n, expected.length);
  assert.equal(cache.stats.slotDropsOwnerChanged, expected.length);
  assert.equal(cache.stats.slotDropsLinkLost, 0);
  for (const k of keys) {
    const gone = target.has(slotOf(k));
    assert.equal(cache.lookup(k, 'default', 0) === undefined, gone, `${k} (slot ${slotOf(k)}) ${gone ? 'dropped' : 'kept'}`);
  }
  assert.equal(cache.lookup('k:1', 'alice', 0), undefined);
  assert.equal(cache.lookup('k:2', 'default', 3), undefined);
  assert.equal(cache.size, keys.length - expected.length);

  const m = cache.invalidateSlots(mask(slotOf('k:5')), 'link-lost');
  assert.equal(cache.stats.slotDropsLinkLost, m);
  assert.ok(m >= 1);
  cache.invalidateSlots(mask(slotOf('k:6')), 'node-flush');
  assert.ok(cache.stats.slotDropsNodeFlush >= 1);
  assert.equal(cache.stats.flushes, 0, 'not a whole-cache flush');
});

test('hash-tagged keys go with their tag\'s slot', () => {
  const cache = makeCache();
  for (const k of ['{u1}.a', '{u1}.b', 'u1', '{u2}.a']) assert.ok(fill(cache, k, 'x'));
  cache.invalidateSlots(mask(slotOf('u1')), 'owner-changed');
  assert.equal(cache.lookup('{u1}.a', 'default', 0), undefined);
  assert.equal(cache.lookup('{u1}.b', 'default', 0), undefined);
  assert.equal(cache.lookup('u1', 'default', 0), undefined);
  assert.equal(cache.lookup('{u2}.a', 'default', 0), bulk('x'));
});

test('a fill in flight when its slot is dropped or blocked is discarded', () => {
  for (const how of ['drop', 'block'] as const) {
    const cache = makeCache();
    const t = cache.beginFill('k', 'default', 0);
    assert.notEqual(t, null);
    if (how === 'drop') cache.invalidateSlots(mask(slotOf('k')), 'owner-changed');
    else {
      cache.blockSlots(mask(slotOf('k')));
      cache.unblockSlots(mask(slotOf('k')));
    }
    assert.equal(cache.completeFill(t!, bulk('old'), null), false, how);
    assert.equal(cache.lookup('k', 'default', 0), undefined, how);
    assert.equal(cache.stats.fillsDiscarded, 1, how);
  }
});

test('blocking slots that are blocked already discards no fill of other slots', () => {
  const cache = makeCache();
  cache.blockSlots(mask(slotOf('k')));
  const t = cache.beginFill('other', 'default', 0);
  assert.notEqual(t, null);
  cache.blockSlots(mask(slotOf('k')));
  cache.blockSlots(new Uint8Array(SLOT_COUNT));
  assert.equal(cache.completeFill(t!, bulk('o'), null), true);
  cache.blockSlots(mask(slotOf('x')));
  const t2 = cache.beginFill('other2', 'default', 0);
  cache.blockSlots(mask(slotOf('y')));
  assert.equal(cache.completeFill(t2!, bulk('o'), null), false, 'a new block discards what is in flight');
});

test('blocked slots start no fill; the other slots fill and serve; unblocking lets them fill again', () => {
  const cache = makeCache();
  assert.ok(fill(cache, 'other', 'o'));
  const s = slotOf('k');
  assert.notEqual(slotOf('other'), s);
  cache.blockSlots(mask(s));
  assert.equal(cache.isSlotBlocked(s), true);
  assert.equal(cache.blockedSlots, 1);
  assert.equal(cache.beginFill('k', 'default', 0), null, 'no fill of a blocked slot');
  assert.equal(cache.beginFill('{k}.tagged', 'default', 0), null, 'nor of a key tagged into it');
  assert.deepEqual(cache.lookup('other', 'default', 0), bulk('o'), 'block alone drops nothing elsewhere');
  assert.ok(fill(cache, 'other2', 'o2'), 'other slots fill');
  // blocking twice counts once; unblocking an unblocked slot changes nothing
  cache.blockSlots(mask(s));
  assert.equal(cache.blockedSlots, 1);
  cache.unblockSlots(mask(s + 1 < SLOT_COUNT ? s + 1 : 0));
  assert.equal(cache.blockedSlots, 1);
  cache.unblockSlots(mask(s));
  assert.equal(cache.blockedSlots, 0);
  assert.equal(cache.isSlotBlocked(s), false);
  assert.ok(fill(cache, 'k', 'v'));
  assert.deepEqual(cache.lookup('k', 'default', 0), bulk('v'));
});

test('blocking every slot, then unblocking them one range at a time', () => {
  const cache = makeCache();
  cache.blockSlots(new Uint8Array(SLOT_COUNT).fill(1));
  assert.equal(cache.blockedSlots, SLOT_COUNT);
  const keys = Array.from({ length: 200 }, (_, i) => `key${i}`);
  for (const k of keys) assert.equal(cache.beginFill(k, 'default', 0), null);
  const low = new Uint8Array(SLOT_COUNT);
  low.fill(1, 0, 8192);
  cache.unblockSlots(low);
  for (const k of keys) assert.equal(cache.beginFill(k, 'default', 0) !== null, slotOf(k) < 8192, k);
});

test('a cache that never saw a cluster has no block array (the single-Redis path pays a number compare)', () => {
  const cache = makeCache();
  assert.equal(cache.blockedSlots, 0);
  assert.equal(cache.isSlotBlocked(0), false);
  cache.unblockSlots(mask(1));
  assert.equal(cache.blockedSlots, 0);
  assert.ok(fill(cache, 'k', 'v'));
});

test('KeyLru.removeWhere removes exactly the keys named, keeps the order of the rest, and the index still finds them', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.string({ maxLength: 6 }), { maxLength: 60 }),
      fc.uniqueArray(fc.string({ maxLength: 6 }), { maxLength: 20 }),
      fc.integer({ min: 0, max: 3 }),
      (keys, later, mod) => {
        const lru = new KeyLru<number>({ capacity: 128, maxSize: 1000, sizeOf: () => 1 });
        keys.forEach((k, i) => lru.set(k, i, 1e9));
        const doomed = (k: string) => (k.length + mod) % 3 === 0;
        const n = lru.removeWhere(doomed);
        const kept = keys.filter((k) => !doomed(k));
        assert.equal(n, keys.length - kept.length);
        assert.equal(lru.size, kept.length);
        assert.equal(lru.totalSize, kept.length);
        assert.deepEqual([...lru.entries()].map(([k]) => k), kept);
        for (const k of keys) assert.equal(lru.peek(k, 0) === undefined, doomed(k), k);
        // the freed places are taken again
        for (const k of later) lru.set(`+${k}`, -1, 1e9);
        for (const k of kept) assert.notEqual(lru.peek(k, 0), undefined);
        for (const k of later) assert.equal(lru.peek(`+${k}`, 0), -1);
      },
    ),
    { numRuns: 500 },
  );
});
