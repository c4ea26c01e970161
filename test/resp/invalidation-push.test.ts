import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeInvalidation } from '../../src/resp/invalidation-push.js';
import { decodeReply, asString } from '../../src/resp/reply-value.js';

const push = (keys: Buffer[] | null): Buffer =>
  Buffer.concat([
    Buffer.from('>2\r\n$10\r\ninvalidate\r\n'),
    keys === null
      ? Buffer.from('_\r\n')
      : Buffer.concat([Buffer.from(`*${keys.length}\r\n`), ...keys.flatMap((k) => [Buffer.from(`$${k.length}\r\n`), k, Buffer.from('\r\n')])]),
  ]);

test('an invalidation push decodes to the same keys as the generic decoder, as latin1 strings', () => {
  fc.assert(
    fc.property(fc.option(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 30 }), { nil: null }), (raw) => {
      const keys = raw === null ? null : raw.map((k) => Buffer.from(k));
      const bytes = push(keys);
      const fast = decodeInvalidation(bytes, 0);
      assert.ok(fast);
      assert.equal(fast.end, bytes.length);
      const generic = decodeReply(bytes, 0);
      assert.ok(generic);
      const gkeys = (generic.value as unknown[])[1];
      if (keys === null) assert.equal(fast.keys, null);
      else assert.deepEqual(fast.keys, (gkeys as Buffer[]).map((k) => k.toString('latin1')));
      assert.equal(asString((generic.value as unknown[])[0] as Buffer), 'invalidate');
    }),
  );
});

test('a cut-short push is incomplete (null) at every split point, never misread', () => {
  const bytes = push([Buffer.from('a'), Buffer.from('key:\r\n2'), Buffer.alloc(0)]);
  for (let i = 0; i < bytes.length; i++) assert.equal(decodeInvalidation(bytes.subarray(0, i), 0), null, `cut at ${i}`);
  assert.deepEqual(decodeInvalidation(bytes, 0)?.keys, ['a', 'key:\r\n2', '']);
});

test('other pushes are left to the generic decoder', () => {
  assert.equal(decodeInvalidation(Buffer.from('>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n'), 0), undefined);
  assert.equal(decodeInvalidation(Buffer.from('>2\r\n$10\r\ninvalidatX\r\n_\r\n'), 0), undefined);
  assert.equal(decodeInvalidation(Buffer.from('+OK\r\n'), 0), undefined);
});

test('a flush is a null in any of its spellings: `_`, and `$-1` or `*-1` (sent for a RESP2 connection tracked for the link)', () => {
  for (const nil of ['_\r\n', '$-1\r\n', '*-1\r\n']) {
    const bytes = Buffer.from(`>2\r\n$10\r\ninvalidate\r\n${nil}+OK\r\n`);
    const d = decodeInvalidation(bytes, 0);
    assert.ok(d, nil);
    assert.equal(d.keys, null, nil);
    assert.equal(bytes.toString('latin1', d.end), '+OK\r\n', `${JSON.stringify(nil)} ends where it should`);
  }
  assert.equal(decodeInvalidation(Buffer.from('>2\r\n$10\r\ninvalidate\r\n$3\r\nabc\r\n'), 0), undefined, 'a bulk is not a key list');
});
