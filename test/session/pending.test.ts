import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kind, Pending, PendingQueue } from '../../src/session/pending.js';
import { RequestBatch } from '../../src/session/request-batch.js';
import { ReplyCache } from '../../src/cache/reply-cache.js';

// The pending queue without a session: what it merges, what it counts into the batch of
// requests, when the wait for Redis starts; and a write's hold released exactly once.

function queue(timed = false) {
  const batch = new RequestBatch();
  return { batch, q: new PendingQueue(batch, timed) };
}

test('pushPass merges a run of alike passes into one record, counting each reply', () => {
  const { batch, q } = queue();
  q.pushPass(true);
  q.pushPass(true);
  q.pushPass(true);
  assert.equal(q.length, 1);
  assert.equal(q.peek()!.count, 3);
  assert.equal(batch.replies, 3);
  // one that does not prove the connection is a run of its own
  q.pushPass(false);
  q.pushPass(false);
  assert.equal(q.length, 2);
  assert.equal(q.last()!.count, 2);
  assert.equal(q.last()!.proves, false);
  assert.equal(batch.replies, 5);
});

test('pushPass does not merge with metrics on, nor into a blocking or access-changing record, nor into another kind', () => {
  {
    const { batch, q } = queue(true);
    q.pushPass(true);
    q.pushPass(true);
    assert.equal(q.length, 2, 'each request keeps its own latency');
    assert.ok(q.peek()!.t0 > 0 && q.last()!.t0 > 0);
    assert.equal(batch.replies, 2);
  }
  {
    const { batch, q } = queue();
    q.pushBlocking();
    q.pushPass(true);
    assert.equal(q.length, 2);
    assert.equal(q.peek()!.blocking, true);
    assert.equal(q.peek()!.count, 1);
    assert.equal(q.last()!.blocking, false);
    assert.equal(batch.replies, 2);
  }
  {
    const { batch, q } = queue();
    const acl = new Pending(Kind.Pass);
    acl.accessChange = true;
    q.push(acl);
    q.pushPass(true);
    assert.equal(q.length, 2);
    assert.equal(acl.count, 1);
    assert.equal(batch.replies, 2);
  }
  {
    const { q } = queue();
    q.push(new Pending(Kind.Write));
    q.pushPass(true);
    assert.equal(q.length, 2);
    assert.equal(q.last()!.kind, Kind.Pass);
  }
  {
    const { q } = queue();
    q.pushPass(true);
    q.push(new Pending(Kind.Ready));
    q.pushPass(true);
    assert.equal(q.length, 3, 'a pass behind a ready reply is not merged across it');
  }
});

test('push counts the replies each kind brings: Fill 2 (GET and PTTL), Ready 0, others 1', () => {
  const expect: [Kind, number][] = [
    [Kind.Fill, 2],
    [Kind.Ready, 0],
    [Kind.Pass, 1],
    [Kind.Write, 1],
    [Kind.State, 1],
    [Kind.Subscribe, 1],
    [Kind.Internal, 1],
  ];
  for (const [kind, n] of expect) {
    const { batch, q } = queue();
    q.push(new Pending(kind));
    assert.equal(batch.replies, n, `kind ${kind}`);
  }
  const { batch, q } = queue();
  for (const [kind] of expect) q.push(new Pending(kind));
  assert.equal(batch.replies, 7);
  assert.equal(q.length, expect.length);
});

test('the wait for Redis starts when a record is pushed onto an empty queue, not behind others', () => {
  const { q } = queue();
  q.waitSince = 0;
  const before = Date.now();
  q.pushPass(true);
  assert.ok(q.waitSince >= before, 'started by the first record');
  q.waitSince = 1;
  q.push(new Pending(Kind.Write));
  q.pushBlocking();
  assert.equal(q.waitSince, 1, 'already waiting: unchanged');
  q.drain();
  q.push(new Pending(Kind.State));
  assert.ok(q.waitSince >= before, 'empty again: a new wait');
});

test('Pending.releaseHold releases a write hold once', () => {
  const cache = new ReplyCache({ capacity: 10, ttlMs: 1000 });
  cache.setReady(true);
  const other = cache.holdKeys(['other']);
  const p = new Pending(Kind.Write);
  p.hold = cache.holdKeys(['k']);
  const held = p.hold;
  assert.equal(cache.writesInFlight, 2);
  assert.equal(cache.beginFill('k', 'default', 0), null, 'a held key is not filled');
  p.releaseHold();
  assert.equal(cache.writesInFlight, 1);
  assert.equal(p.hold, null);
  assert.notEqual(cache.beginFill('k', 'default', 0), null, 'free again');
  p.releaseHold();
  held.release();
  assert.equal(cache.writesInFlight, 1, 'a second release changes nothing');
  other.release();
  assert.equal(cache.writesInFlight, 0);
  // a record without a hold has nothing to release
  new Pending(Kind.Pass).releaseHold();
  assert.equal(cache.writesInFlight, 0);
});

test('a hold of the whole cache is released once too', () => {
  const cache = new ReplyCache({ capacity: 10, ttlMs: 1000 });
  cache.setReady(true);
  const p = new Pending(Kind.State);
  p.hold = cache.holdAll();
  assert.equal(cache.beginFill('any', 'default', 0), null);
  p.releaseHold();
  p.releaseHold();
  assert.notEqual(cache.beginFill('any', 'default', 0), null);
  const second = cache.holdAll();
  p.releaseHold();
  assert.equal(cache.beginFill('any', 'default', 0), null, "an old record's release does not free another write's hold");
  second.release();
});

test('pushWrite: a run of one-key writes is one record, each reply frees the oldest slot, drain frees the rest', () => {
  const cache = new ReplyCache({ capacity: 100, ttlMs: 1000 });
  cache.setReady(true);
  const { batch, q } = queue();
  const key = (k: string) => Buffer.from(k, 'latin1');
  const hold = (k: string) => cache.holdSlotBytes(key(k), 0, k.length);
  // more writes than the ring's first size: it grows and keeps the order
  const keys = Array.from({ length: 40 }, (_, i) => `w${i}`);
  for (const k of keys) q.pushWrite(cache, hold(k), false);
  assert.equal(q.length, 1, 'one record for the run');
  assert.equal((q.peek() as Pending).count, 40);
  assert.equal(batch.replies, 40);
  assert.equal(cache.writesInFlight, 40);
  assert.equal(cache.beginFill('w0', 'default', 0), null, 'a held key is not filled');
  q.releaseSlot();
  assert.equal(cache.writesInFlight, 39);
  assert.notEqual(cache.beginFill('w0', 'default', 0), null, 'the oldest write is answered: its key is free');
  assert.equal(cache.beginFill('w1', 'default', 0), null, 'the next one is still held');
  // a blocking write keeps a record of its own, still with its slot in the ring
  q.pushWrite(cache, hold('b'), true);
  assert.equal(q.length, 2);
  q.drain();
  assert.equal(cache.writesInFlight, 0, 'what never got a reply is released');
  q.releaseSlot(); // (nothing left: no effect)
  assert.equal(cache.writesInFlight, 0);
});

test('pushWrite with metrics on keeps a record per write', () => {
  const cache = new ReplyCache({ capacity: 100, ttlMs: 1000 });
  cache.setReady(true);
  const { q } = queue(true);
  q.pushWrite(cache, cache.holdSlotBytes(Buffer.from('a'), 0, 1), false);
  q.pushWrite(cache, cache.holdSlotBytes(Buffer.from('b'), 0, 1), false);
  assert.equal(q.length, 2);
});

test('an answered pass or one-key write is reused for the next request, as new', () => {
  const cache = new ReplyCache({ capacity: 100, ttlMs: 1000 });
  cache.setReady(true);
  const { q } = queue();
  q.pushPass(false);
  const first = q.shift() as Pending;
  first.count = 0;
  first.accessChange = true;
  q.recycle(first);
  q.pushWrite(cache, cache.holdSlotBytes(Buffer.from('k'), 0, 1), true);
  const again = q.peek() as Pending;
  assert.equal(again, first, 'the answered record is taken again');
  assert.equal(again.kind, Kind.Write);
  assert.equal(again.count, 1);
  assert.equal(again.proves, true);
  assert.equal(again.blocking, true);
  assert.equal(again.accessChange, false);
  assert.equal(again.hold, null);
  // a record the queue did not make is never taken back
  const own = new Pending(Kind.Pass);
  q.shift();
  q.recycle(own);
  q.pushPass(true);
  assert.notEqual(q.peek(), own);
  q.drain();
  assert.equal(cache.writesInFlight, 0);
});
