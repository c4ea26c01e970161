import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc16, keyHashSlot, SLOT_COUNT } from '../../src/cluster/key-slot.js';
import { startCluster, type RedisCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { cmd } from '../helpers/resp.js';

// A reference written differently from the one under test: bit by bit, on a latin1 string.
function crc16Reference(s: string): number {
  let crc = 0;
  for (let i = 0; i < s.length; i++) {
    crc ^= s.charCodeAt(i) << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function slotReference(s: string): number {
  const open = s.indexOf('{');
  if (open >= 0) {
    const close = s.indexOf('}', open + 1);
    if (close > open + 1) return crc16Reference(s.slice(open + 1, close)) % 16384;
  }
  return crc16Reference(s) % 16384;
}

const latin1 = (s: string) => Buffer.from(s, 'latin1');
/** keys that often hold braces, so the tag rule is exercised */
const keyArb = fc.array(fc.oneof(fc.constantFrom(0x7b, 0x7d), fc.integer({ min: 0, max: 255 })), { maxLength: 40 }).map((a) => Buffer.from(a));

test('crc16 is XMODEM: the check value of "123456789" is 0x31c3', () => {
  assert.equal(crc16(latin1('123456789')), 0x31c3);
  assert.equal(crc16(Buffer.alloc(0)), 0);
});

test('slots of the examples in the cluster spec', () => {
  const slot = (s: string) => keyHashSlot(latin1(s));
  assert.equal(slot('foo'), 12182);
  assert.equal(slot('{user1000}.following'), slot('{user1000}.followers'));
  assert.equal(slot('{user1000}.following'), slot('user1000'));
  assert.equal(slot('foo{}{bar}'), crc16(latin1('foo{}{bar}')) % SLOT_COUNT, 'an empty tag: the whole key');
  assert.equal(slot('foo{{bar}}zap'), slot('{bar'), 'the tag is "{bar"');
  assert.equal(slot('foo{bar}{zap}'), slot('bar'), 'only the first tag counts');
  assert.equal(slot('foo{bar'), crc16(latin1('foo{bar')) % SLOT_COUNT, 'no closing brace: the whole key');
  assert.equal(slot('}foo{bar}'), slot('bar'), 'a } before the { is just a byte');
});

test('crc16 and the slot match a bitwise reference for any bytes', () => {
  fc.assert(
    fc.property(keyArb, (key) => {
      const s = key.toString('latin1');
      assert.equal(crc16(key), crc16Reference(s));
      assert.equal(keyHashSlot(key), slotReference(s));
    }),
    { numRuns: 2000 },
  );
});

test('the slot of a key inside a larger buffer looks only at its range', () => {
  fc.assert(
    fc.property(keyArb, keyArb, keyArb, (pre, key, post) => {
      const buf = Buffer.concat([pre, key, post]);
      assert.equal(keyHashSlot(buf, pre.length, pre.length + key.length), keyHashSlot(key));
    }),
    { numRuns: 1000 },
  );
});

test('keys sharing a tag share a slot', () => {
  fc.assert(
    fc.property(keyArb, keyArb, keyArb, (tag, a, b) => {
      fc.pre(tag.length > 0 && !tag.includes(0x7d) && !a.includes(0x7b));
      const k1 = Buffer.concat([a, latin1('{'), tag, latin1('}'), b]);
      const k2 = Buffer.concat([latin1('{'), tag, latin1('}')]);
      assert.equal(keyHashSlot(k1), keyHashSlot(k2));
      assert.equal(keyHashSlot(k1), keyHashSlot(tag));
    }),
    { numRuns: 1000 },
  );
});

// the real cluster, started once for the file
let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster();
});
after(async () => {
  await cluster?.stop();
});

test('the slot agrees with CLUSTER KEYSLOT of a real cluster for thousands of random keys, binary ones too', async () => {
  const keys = fc.sample(keyArb, { numRuns: 5000, seed: 42 });
  keys.push(latin1(''), latin1('{}'), latin1('{'), latin1('}{'), latin1('\xff{\x00}'), Buffer.alloc(1000, 0xff));
  const c = await RawClient.connect(cluster.ports[0]);
  try {
    c.write(keys.map((k) => cmd('CLUSTER', 'KEYSLOT', k)).join(''));
    const frames = await c.readFrames(keys.length, 20_000);
    for (let i = 0; i < keys.length; i++) {
      assert.equal(frames[i].toString('latin1'), `:${keyHashSlot(keys[i])}\r\n`, `key ${JSON.stringify(keys[i].toString('latin1'))}`);
    }
  } finally {
    c.destroy();
  }
});
