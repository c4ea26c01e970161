import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplyCache, FillOwner, keySlot, keySlotBytes } from '../../src/cache/reply-cache.js';

// The cache on a fake clock: no sleeping, exact TTL edges.

function makeCache(capacity = 3, ttlMs = 1000) {
  const clock = { t: 1000 };
  const cache = new ReplyCache({ capacity, ttlMs, now: () => clock.t });
  cache.setReady(true);
  return { cache, clock };
}

// the cache keeps replies as latin1 strings
const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;

/** Fill `key` the way a session does: beginFill when the GET is sent, completeFill when its PTTL reply is in. */
function fill(cache: ReplyCache, key: string, value: string | null, opts: { user?: string; db?: number; pttl?: number | null } = {}) {
  const ticket = cache.beginFill(key, opts.user ?? 'default', opts.db ?? 0);
  assert.notEqual(ticket, null, 'fill allowed');
  return cache.completeFill(ticket!, value === null ? null : bulk(value), opts.pttl ?? null);
}

test('a filled GET is served until its ttl passes, then it is a miss as if never there', () => {
  const { cache, clock } = makeCache(3, 1000);
  assert.equal(cache.lookup('k', 'default', 0), undefined);
  assert.ok(fill(cache, 'k', 'v'));
  assert.deepEqual(cache.lookup('k', 'default', 0), bulk('v'));
  clock.t += 999;
  assert.deepEqual(cache.lookup('k', 'default', 0), bulk('v'));
  clock.t += 1;
  assert.equal(cache.lookup('k', 'default', 0), undefined);
  assert.equal(cache.stats.expirations, 1);
  assert.equal(cache.size, 0);
});

test("a key's remaining time in Redis caps the entry's life", () => {
  const { cache, clock } = makeCache(3, 60_000);
  assert.ok(fill(cache, 'k', 'v', { pttl: 200 }));
  clock.t += 199;
  assert.deepEqual(cache.lookup('k', 'default', 0), bulk('v'));
  clock.t += 1;
  assert.equal(cache.lookup('k', 'default', 0), undefined);
});

test('a missing key is cached as nil (null), distinct from a miss (undefined)', () => {
  const { cache } = makeCache();
  assert.ok(fill(cache, 'absent', null));
  assert.equal(cache.lookup('absent', 'default', 0), null);
});

test('the least recently used key is evicted when capacity is full', () => {
  const { cache } = makeCache(3);
  fill(cache, 'a', '1');
  fill(cache, 'b', '2');
  fill(cache, 'c', '3');
  cache.lookup('a', 'default', 0); // a is now most recent; b is the oldest
  fill(cache, 'd', '4');
  assert.equal(cache.size, 3);
  assert.equal(cache.lookup('b', 'default', 0), undefined);
  assert.deepEqual(cache.lookup('a', 'default', 0), bulk('1'));
  assert.deepEqual(cache.lookup('d', 'default', 0), bulk('4'));
  assert.equal(cache.stats.evictions, 1);
});

test('capacity 1 holds exactly the last key', () => {
  const { cache } = makeCache(1);
  fill(cache, 'a', '1');
  fill(cache, 'b', '2');
  assert.equal(cache.lookup('a', 'default', 0), undefined);
  assert.deepEqual(cache.lookup('b', 'default', 0), bulk('2'));
});

test('entries are partitioned by user and database', () => {
  const { cache } = makeCache();
  fill(cache, 'k', 'db0', { db: 0 });
  fill(cache, 'k', 'db1', { db: 1 });
  fill(cache, 'k', 'alice', { user: 'alice', db: 0 });
  assert.deepEqual(cache.lookup('k', 'default', 0), bulk('db0'));
  assert.deepEqual(cache.lookup('k', 'default', 1), bulk('db1'));
  assert.deepEqual(cache.lookup('k', 'alice', 0), bulk('alice'));
  assert.equal(cache.lookup('k', 'bob', 0), undefined);
  assert.equal(cache.lookup('k', 'alice', 1), undefined);
  assert.equal(cache.size, 1, 'capacity counts keys');
});

test('an invalidation drops the key in every partition', () => {
  const { cache } = makeCache();
  fill(cache, 'k', 'a', { db: 0 });
  fill(cache, 'k', 'b', { db: 5 });
  cache.invalidate('k');
  assert.equal(cache.lookup('k', 'default', 0), undefined);
  assert.equal(cache.lookup('k', 'default', 5), undefined);
});

test('a fill whose key was invalidated while its GET was in flight is discarded', () => {
  const { cache } = makeCache();
  const ticket = cache.beginFill('k', 'default', 0);
  assert.notEqual(ticket, null);
  cache.invalidate('k'); // a write elsewhere, reported by tracking before the GET's reply
  const stored = cache.completeFill(ticket!, bulk('old'), null);
  assert.equal(stored, false);
  assert.equal(cache.lookup('k', 'default', 0), undefined);
  assert.equal(cache.stats.fillsDiscarded, 1);
});

test('a fill that raced with a flush or a link loss is discarded', () => {
  const { cache } = makeCache();
  const ticket = cache.beginFill('k', 'default', 0);
  cache.invalidateAll();
  assert.equal(cache.completeFill(ticket!, bulk('old'), null), false);
  const t2 = cache.beginFill('k', 'default', 0);
  cache.setReady(false);
  cache.setReady(true);
  assert.equal(cache.completeFill(t2!, bulk('old'), null), false);
});

test('while a write to a key is in flight, that key is neither served nor filled', () => {
  const { cache } = makeCache();
  fill(cache, 'k', 'old');
  const hold = cache.holdKeys(['k']);
  assert.equal(cache.lookup('k', 'default', 0), undefined);
  assert.equal(cache.beginFill('k', 'default', 0), null);
  hold.release();
  assert.ok(fill(cache, 'k', 'new'));
  assert.deepEqual(cache.lookup('k', 'default', 0), bulk('new'));
});

test('a write named by its request bytes holds and drops its key as one named by a string does', () => {
  const { cache } = makeCache();
  for (const key of ['k', 'x'.repeat(100), '\u00ff\r\n']) {
    fill(cache, key, 'old');
    fill(cache, key + 'other', 'kept');
    const req = Buffer.from(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$1\r\nv\r\n`, 'latin1');
    const off = req.indexOf(key, 14, 'latin1');
    const ticket = cache.beginFill(key, 'default', 0);
    const held = cache.holdKeyBytes(req, off, key.length);
    assert.equal(cache.lookup(key, 'default', 0), undefined, 'dropped and held');
    assert.equal(cache.beginFill(key, 'default', 0), null, 'the slot held from the bytes is the one the string names');
    assert.equal(cache.completeFill(ticket!, bulk('old'), null), false, 'a fill in flight is discarded');
    assert.deepEqual(cache.lookup(key + 'other', 'default', 0), bulk('kept'), 'only that key');
    held.release();
    assert.equal(cache.writesInFlight, 0);
    assert.equal(cache.lookup(key, 'default', 0), undefined, 'the old value is gone, not only held');
    assert.ok(fill(cache, key, 'new'));
    assert.deepEqual(cache.lookup(key, 'default', 0), bulk('new'));
  }
});

test('a fill started before a write and finished during it is discarded', () => {
  const { cache } = makeCache();
  const ticket = cache.beginFill('k', 'default', 0);
  const hold = cache.holdKeys(['k']);
  assert.equal(cache.completeFill(ticket!, bulk('old'), null), false);
  hold.release();
  assert.equal(cache.lookup('k', 'default', 0), undefined);
  // ... and one that finishes after the write's reply, too: it may have read the old value
  const t2 = cache.beginFill('k', 'default', 0);
  cache.holdKeys(['k']).release();
  assert.equal(cache.completeFill(t2!, bulk('old'), null), false);
  assert.equal(cache.lookup('k', 'default', 0), undefined);
});

test('a write with unknown keys blocks every key until it is answered', () => {
  const { cache } = makeCache();
  fill(cache, 'a', '1');
  const hold = cache.holdAll();
  assert.equal(cache.size, 0);
  assert.equal(cache.lookup('a', 'default', 0), undefined);
  assert.equal(cache.beginFill('b', 'default', 0), null);
  hold.release();
  hold.release(); // (a second release is no second unhold)
  assert.ok(fill(cache, 'c', '3'), 'released once: fills again');
  assert.ok(fill(cache, 'b', '2'));
});

test('nothing is served or filled while the cache is not ready (link down)', () => {
  const { cache } = makeCache();
  fill(cache, 'a', '1');
  cache.setReady(false);
  assert.equal(cache.size, 0);
  assert.equal(cache.lookup('a', 'default', 0), undefined);
  assert.equal(cache.beginFill('a', 'default', 0), null);
});

/** Two different keys whose slots are the same. */
function collidingKeys(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const k = `c${i}`;
    const other = seen.get(keySlot(k));
    if (other !== undefined) return [other, k];
    seen.set(keySlot(k), k);
  }
}

test('keys that share a slot only make each other busier: a write to one turns the other into a miss, never a stale hit', () => {
  const { cache } = makeCache();
  const [a, b] = collidingKeys();
  fill(cache, a, 'a1');
  fill(cache, b, 'b1');
  const hold = cache.holdKeys([a]);
  assert.equal(cache.lookup(b, 'default', 0), undefined, 'b is not served while a is written');
  assert.equal(cache.beginFill(b, 'default', 0), null, 'nor filled');
  hold.release();
  assert.deepEqual(cache.lookup(b, 'default', 0), bulk('b1'), 'b was never dropped: only a was written');
  assert.equal(cache.lookup(a, 'default', 0), undefined, 'a was dropped');
  // an invalidation of a discards a fill of b that was in flight
  const ticket = cache.beginFill(b, 'default', 0);
  cache.invalidate(a);
  assert.equal(cache.completeFill(ticket!, bulk('b2'), null), false);
});

test('keySlot: long keys are told apart by both ends and their length; slots stay in range', () => {
  const head = 'x'.repeat(100);
  assert.notEqual(keySlot(head + 'a'), keySlot(head + 'b'));
  assert.notEqual(keySlot('a' + head), keySlot('b' + head));
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (k) => {
    const s = keySlot(k);
    assert.ok(Number.isInteger(s) && s >= 0 && s < 65536);
    assert.equal(keySlot(k), s, 'stable');
  }));
});

test('nothing is held after any mix of fills, writes and invalidations has finished', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom('fill', 'write', 'inv', 'all'), fc.constantFrom('a', 'b', 'c')), { maxLength: 40 }),
      (ops) => {
        const { cache } = makeCache(2);
        for (const [op, key] of ops) {
          if (op === 'fill') {
            const ticket = cache.beginFill(key, 'u', 0);
            if (ticket !== null) cache.completeFill(ticket, bulk(key), null);
          } else if (op === 'write') {
            cache.holdKeys([key]).release();
          } else if (op === 'inv') {
            cache.invalidate(key);
          } else {
            cache.holdAll().release();
          }
        }
        assert.equal(cache.writesInFlight, 0);
        for (const key of ['a', 'b', 'c']) assert.notEqual(cache.beginFill(key, 'u', 0), null, `${key} may fill again`);
        assert.ok(cache.size <= 2);
      },
    ),
  );
});

test('model: the cache never returns a value other than the last one stored for that key since its last invalidation', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('set' as const), key: fc.constantFrom('a', 'b', 'c', 'd'), v: fc.string({ maxLength: 3 }) }),
          fc.record({ op: fc.constant('inv' as const), key: fc.constantFrom('a', 'b', 'c', 'd') }),
          fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 600 }) }),
          fc.record({ op: fc.constant('get' as const), key: fc.constantFrom('a', 'b', 'c', 'd'), bytes: fc.boolean() }),
        ),
        { maxLength: 60 },
      ),
      (ops) => {
        const { cache, clock } = makeCache(3, 1000);
        const model = new Map<string, { v: string; exp: number }>();
        for (const o of ops) {
          if (o.op === 'set') {
            fill(cache, o.key, o.v);
            model.set(o.key, { v: o.v, exp: clock.t + 1000 });
          } else if (o.op === 'inv') {
            cache.invalidate(o.key);
            model.delete(o.key);
          } else if (o.op === 'tick') {
            clock.t += o.ms;
          } else {
            // (as a session's GET does: from the request's bytes)
            const got = o.bytes ? cache.lookupBytes(Buffer.from(`GET ${o.key}`), 4, 1, 'default', 0) : cache.lookup(o.key, 'default', 0);
            const m = model.get(o.key);
            if (got !== undefined) {
              assert.ok(m, `served ${o.key} that was never stored or was invalidated`);
              assert.ok(clock.t < m.exp, 'served after ttl');
              assert.deepEqual(got, bulk(m.v));
            }
          }
        }
      },
    ),
  );
});

test('resize to fewer keys keeps the most recently used entries and counts the rest as evictions', () => {
  const { cache } = makeCache(5);
  for (const k of ['a', 'b', 'c', 'd', 'e']) fill(cache, k, k);
  cache.lookup('a', 'default', 0); // a is now the most recent; b is the oldest
  cache.resize(2, 0);
  assert.equal(cache.size, 2);
  assert.equal(cache.stats.evictions, 3);
  assert.deepEqual(cache.lookup('a', 'default', 0), bulk('a'));
  assert.deepEqual(cache.lookup('e', 'default', 0), bulk('e'));
  for (const k of ['b', 'c', 'd']) assert.equal(cache.lookup(k, 'default', 0), undefined, `${k} evicted`);
  // the new bound holds for later fills, and the order survived: a is older than e now
  fill(cache, 'f', 'f');
  assert.equal(cache.size, 2);
  assert.equal(cache.lookup('a', 'default', 0), undefined);
});

test('resize to more keys keeps every entry and lets the cache grow', () => {
  const { cache } = makeCache(2);
  fill(cache, 'a', '1');
  fill(cache, 'b', '2');
  cache.resize(4, 0);
  fill(cache, 'c', '3');
  fill(cache, 'd', '4');
  assert.equal(cache.size, 4);
  assert.equal(cache.stats.evictions, 0);
  for (const k of ['a', 'b', 'c', 'd']) assert.notEqual(cache.lookup(k, 'default', 0), undefined);
});

test('resize adds or removes the byte bound, evicting the least recent entries to fit it', () => {
  const { cache } = makeCache(10);
  const big = 'x'.repeat(1000);
  for (const k of ['a', 'b', 'c']) fill(cache, k, big);
  assert.equal(cache.bytes, 0, 'no byte accounting without a byte bound');
  cache.resize(10, 2500); // room for two entries of ~1.1 kB
  assert.equal(cache.size, 2);
  assert.ok(cache.bytes > 0 && cache.bytes <= 2500);
  assert.equal(cache.lookup('a', 'default', 0), undefined, 'the oldest went first');
  cache.resize(10, 0);
  for (const k of ['d', 'e']) fill(cache, k, big);
  assert.equal(cache.size, 4);
});

test('a fill in flight across a resize completes into the resized cache', () => {
  const { cache } = makeCache(3);
  const ticket = cache.beginFill('k', 'default', 0);
  cache.resize(1, 0);
  assert.ok(cache.completeFill(ticket!, bulk('v'), null));
  assert.deepEqual(cache.lookup('k', 'default', 0), bulk('v'));
});

test('lookupBytes answers as lookup does: partitions, writes in flight, long keys, dead owners', () => {
  const { cache } = makeCache(8);
  const long = 'L'.repeat(100) + '\u00e9\u0000' + 'R'.repeat(100);
  const at = (key: string) => {
    const buf = Buffer.concat([Buffer.from('*2\r\n$3\r\nGET\r\n$999\r\n'), Buffer.from(key, 'latin1'), Buffer.from('\r\n')]);
    return [buf, 19, Buffer.byteLength(key, 'latin1')] as const;
  };
  const both = (key: string, user: string, db: number) => {
    const viaBytes = cache.lookupBytes(...at(key), user, db);
    assert.deepEqual(viaBytes, cache.lookup(key, user, db), `${key.slice(0, 8)} for ${user}/${db}`);
    return viaBytes;
  };
  for (const key of ['k', long, '']) {
    assert.equal(keySlotBytes(...at(key)), keySlot(key));
    fill(cache, key, 'db0');
    fill(cache, key, 'db1', { db: 1 });
    fill(cache, key, 'alice', { user: 'alice' });
    assert.equal(both(key, 'default', 0), bulk('db0'));
    assert.equal(both(key, 'default', 1), bulk('db1'));
    assert.equal(both(key, 'alice', 0), bulk('alice'));
    assert.equal(both(key, 'bob', 0), undefined);
    // a write in flight to the key hides it from both
    const hold = cache.holdKeys([key]);
    assert.equal(cache.lookupBytes(...at(key), 'default', 0), undefined);
    hold.release();
  }
  // an entry whose filler's tracking is gone is dropped when looked up through the bytes too
  const ticket = cache.beginFill('owned', 'default', 3);
  const owner = new FillOwner();
  cache.completeFill(ticket!, bulk('v'), null, owner);
  assert.equal(cache.lookupBytes(...at('owned'), 'default', 3), bulk('v'));
  owner.kill();
  assert.equal(cache.lookupBytes(...at('owned'), 'default', 3), undefined);
  assert.equal(cache.lookup('owned', 'default', 3), undefined);
});
