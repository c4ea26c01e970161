import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WriteBatch, joinParts, type OutBytes } from '../../src/io/write-batch.js';
import { UPSTREAM_READ_BUFFER } from '../../src/io/upstream-read-buffer.js';

// The batching writer without a socket: what it merges, and that what it gathers comes
// out byte-exact and in order.

const asBuffer = (p: OutBytes) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p);

test('adjacent slices of one buffer merge into one part, a view of that buffer', () => {
  const buf = Buffer.from('+OK\r\n:1\r\n$1\r\nx\r\n');
  const w = new WriteBatch();
  w.addSlice(buf, 0, 5);
  w.addSlice(buf, 5, 9);
  w.addSlice(buf, 9, buf.length);
  assert.equal(w.empty, false);
  const parts = w.take();
  assert.equal(parts.length, 1);
  const part = parts[0] as Buffer;
  assert.equal(part.buffer, buf.buffer, 'not a copy');
  assert.equal(part.byteOffset, buf.byteOffset);
  assert.equal(part.toString(), buf.toString());
});

test('slices that do not follow each other, or come from another buffer, stay apart', () => {
  const a = Buffer.from('aaaaaaaaaa');
  const b = Buffer.from('bbbbbbbbbb');
  const w = new WriteBatch();
  w.addSlice(a, 0, 2);
  w.addSlice(a, 3, 5); // a gap
  w.addSlice(b, 5, 7); // where a's run ended, but in b
  w.addSlice(a, 7, 8);
  const parts = w.take().map((p) => asBuffer(p).toString());
  assert.deepEqual(parts, ['aa', 'aa', 'bb', 'a']);
});

test('add() and closeRun() end the run: what comes next goes behind, unmerged', () => {
  const buf = Buffer.from('0123456789');
  const w = new WriteBatch();
  w.addSlice(buf, 0, 3);
  w.add('mid');
  w.addSlice(buf, 3, 6);
  w.closeRun();
  w.addSlice(buf, 6, 8);
  assert.equal(w.bytes, 3 + 3 + 3 + 2 - 2, 'the open run is not counted yet');
  const parts = w.take().map((p) => asBuffer(p).toString());
  assert.deepEqual(parts, ['012', 'mid', '345', '67']);
  // an empty slice leaves no part
  w.addSlice(buf, 4, 4);
  assert.deepEqual(w.take(), []);
});

test('take() hands everything over and empties the batch; clear() drops it', () => {
  const buf = Buffer.from('abcdef');
  const w = new WriteBatch();
  assert.equal(w.empty, true);
  w.add(Buffer.from('x'));
  w.addSlice(buf, 1, 4);
  assert.equal(w.take().length, 2);
  assert.equal(w.empty, true);
  assert.equal(w.bytes, 0);
  assert.deepEqual(w.take(), []);
  w.addSlice(buf, 0, 2);
  w.add('yz');
  w.clear();
  assert.equal(w.empty, true);
  assert.equal(w.bytes, 0);
  assert.deepEqual(w.take(), []);
});

test('joinParts joins strings (latin1) and buffers byte-exact', () => {
  const parts: OutBytes[] = ['$3\r\n\u00e9\u00ff\u0000\r\n', Buffer.from([0, 1, 2, 0xfe]), '', Buffer.from('+OK\r\n')];
  const bytes = parts.reduce((n, p) => n + p.length, 0);
  const out = joinParts(parts, bytes);
  assert.equal(out.length, bytes);
  assert.deepEqual([...out], [...Buffer.concat(parts.map(asBuffer))]);
  // one buffer is handed back as it is
  const only = Buffer.from('only');
  assert.equal(joinParts([only], only.length), only);
  // one string is still made a buffer
  assert.deepEqual(joinParts(['\u00e9'], 1), Buffer.from([0xe9]));
});

type Op = { slice: [number, number] } | { add: string | number[] } | { close: true };

test('property: whatever is gathered comes out of joinParts(take()) byte-exact, adjacent slices merged', () => {
  const source = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff));
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.tuple(fc.nat(64), fc.nat(64)).map(([x, y]): Op => ({ slice: [Math.min(x, y), Math.max(x, y)] })),
    fc.oneof(fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 8 }), fc.array(fc.nat(255), { maxLength: 8 })).map((add): Op => ({ add })),
    fc.constant<Op>({ close: true }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      const w = new WriteBatch();
      const expected: number[] = [];
      // the batch's model: the open run of slices, and how many parts it must hand over
      let run: { start: number; end: number } | null = null;
      let parts = 0;
      const closeRun = () => {
        if (run !== null && run.end > run.start) parts++;
        run = null;
      };
      for (const o of ops) {
        if ('slice' in o) {
          const [s, e] = o.slice;
          w.addSlice(source, s, e);
          expected.push(...source.subarray(s, e));
          if (run !== null && run.end === s) run.end = e;
          else {
            closeRun();
            run = { start: s, end: e };
          }
        } else if ('add' in o) {
          const bytes: OutBytes = typeof o.add === 'string' ? o.add : Buffer.from(o.add);
          w.add(bytes);
          expected.push(...asBuffer(bytes));
          closeRun();
          parts++;
        } else {
          w.closeRun();
          closeRun();
        }
      }
      closeRun();
      w.closeRun();
      const bytes = w.bytes;
      const taken = w.take();
      assert.equal(bytes, expected.length);
      assert.equal(taken.length, parts, 'adjacent slices merged, nothing else');
      assert.deepEqual([...joinParts(taken, bytes)], expected);
      assert.equal(w.empty, true);
      assert.equal(w.bytes, 0);
    }),
    { numRuns: 300 },
  );
});

test('a slice of the shared upstream read buffer is copied when it becomes a part (the next read overwrites it)', () => {
  const n = UPSTREAM_READ_BUFFER.write('+OK\r\n:1\r\n', 0, 'latin1');
  const w = new WriteBatch();
  w.addSlice(UPSTREAM_READ_BUFFER, 0, 5);
  w.addSlice(UPSTREAM_READ_BUFFER, 5, n);
  const parts = w.take();
  UPSTREAM_READ_BUFFER.fill(0x21, 0, n);
  assert.equal(parts.length, 1);
  assert.equal((parts[0] as Buffer).toString('latin1'), '+OK\r\n:1\r\n');
  assert.notEqual((parts[0] as Buffer).buffer, UPSTREAM_READ_BUFFER.buffer);
});
