import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplyReader } from '../../src/upstream/reply-reader.js';
import { ReplyProtocolError } from '../../src/resp/reply-scanner.js';
import { UPSTREAM_READ_BUFFER } from '../../src/io/upstream-read-buffer.js';

// The reply-framing loop without a socket: reads are handed in as the test cuts them.

const b = (s: string) => Buffer.from(s, 'latin1');

interface Seen {
  text: string;
  inChunk: boolean;
  /** the buffer handed over is the read's chunk itself */
  isChunk: boolean;
  start: number;
  end: number;
  bufLength: number;
}

/** A reader whose sink records every frame; `read` hands it chunks in order. */
function recorder(onFrame?: (reader: ReplyReader, seen: Seen[]) => void) {
  const seen: Seen[] = [];
  let current: Buffer | null = null;
  const reader: ReplyReader = new ReplyReader((buf, start, end, inChunk) => {
    seen.push({ text: buf.toString('latin1', start, end), inChunk, isChunk: buf === current, start, end, bufLength: buf.length });
    onFrame?.(reader, seen);
  });
  const read = (chunk: Buffer) => {
    current = chunk;
    reader.read(chunk);
  };
  return { reader, seen, read };
}

// ---- random RESP2 / RESP3 frames, as latin1 strings ----

const payload = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 12 });
const line = fc.string({ unit: fc.constantFrom(...'abcXYZ 019:-_*$.'.split('')), maxLength: 10 });
const bulk = (t: string) => payload.map((p) => `${t}${p.length}\r\n${p}\r\n`);

const leaf: fc.Arbitrary<string> = fc.oneof(
  line.map((s) => `+${s}\r\n`),
  line.map((s) => `-ERR ${s}\r\n`),
  fc.integer().map((n) => `:${n}\r\n`),
  bulk('$'),
  fc.constant('$-1\r\n'),
  fc.constant('*-1\r\n'),
  fc.constant('_\r\n'),
  fc.constantFrom('#t\r\n', '#f\r\n'),
  fc.double({ noNaN: true }).map((d) => `,${d}\r\n`),
  fc.bigInt().map((n) => `(${n}\r\n`),
  bulk('!'),
  payload.map((p) => `=${p.length + 4}\r\ntxt:${p}\r\n`),
  // a streamed string: chunks, then ;0
  fc.array(payload.filter((p) => p.length > 0), { maxLength: 3 }).map((ps) => `$?\r\n${ps.map((p) => `;${p.length}\r\n${p}\r\n`).join('')};0\r\n`),
);

const { frame } = fc.letrec<{ frame: string; value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(fc.constantFrom('*', '~', '>'), fc.array(tie('value'), { maxLength: 4 })).map(([t, xs]) => `${t}${xs.length}\r\n${xs.join('')}`),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((kv) => `%${kv.length}\r\n${kv.map(([k, v]) => k + v).join('')}`),
    fc.array(tie('value'), { maxLength: 3 }).map((xs) => `*?\r\n${xs.join('')}.\r\n`),
  ),
  // an attribute is no frame on its own: it extends over the value it annotates
  frame: fc.oneof(
    { weight: 4, arbitrary: tie('value') },
    { weight: 1, arbitrary: fc.tuple(tie('value'), tie('value'), tie('value')).map(([k, v, x]) => `|1\r\n${k}${v}${x}`) },
  ),
}));

/** Cut `stream` at `cuts` (positions inside it) into separate buffers. */
function cut(stream: Buffer, cuts: number[]): { chunk: Buffer; at: number }[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < stream.length))].sort((x, y) => x - y);
  const out: { chunk: Buffer; at: number }[] = [];
  let at = 0;
  for (const p of [...points, stream.length]) {
    out.push({ chunk: Buffer.from(stream.subarray(at, p)), at });
    at = p;
  }
  return out;
}

/** Feed `frames` cut at `cuts` and check each is delivered whole, in order, in its chunk when it lies in one. */
function checkDelivery(frames: string[], cuts: number[]): void {
  const stream = b(frames.join(''));
  const chunks = cut(stream, cuts);
  const { seen, read } = recorder();
  for (const { chunk } of chunks) read(chunk);
  assert.deepEqual(
    seen.map((s) => s.text),
    frames,
  );
  let fs = 0;
  for (let i = 0; i < frames.length; i++) {
    const fe = fs + frames[i].length;
    const home = chunks.find(({ chunk, at }) => at <= fs && fe <= at + chunk.length);
    const s = seen[i];
    if (home !== undefined) {
      assert.equal(s.inChunk, true, `frame ${i} lies in one chunk`);
      assert.equal(s.isChunk, true, `frame ${i} is a range of the chunk`);
      assert.equal(s.start, fs - home.at);
      assert.equal(s.end, fe - home.at);
    } else {
      assert.equal(s.inChunk, false, `frame ${i} spans chunks`);
      assert.equal(s.isChunk, false);
      assert.equal(s.start, 0);
      assert.equal(s.end, s.bufLength, 'a joined frame is the buffer alone');
    }
    fs = fe;
  }
}

test('frames cut at every byte boundary are delivered whole and in order', () => {
  const frames = [
    '+OK\r\n',
    '$5\r\nh\r\nlo\r\n',
    '*2\r\n$1\r\na\r\n:-12\r\n',
    '%1\r\n+k\r\n~2\r\n_\r\n#t\r\n',
    '|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n',
    '$?\r\n;2\r\nab\r\n;0\r\n',
    '>3\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n*?\r\n,1.5\r\n.\r\n',
    '$-1\r\n',
    '-ERR x\r\n',
  ];
  const total = frames.join('').length;
  for (let k = 1; k < total; k++) checkDelivery(frames, [k]);
  checkDelivery(frames, Array.from({ length: total }, (_, i) => i)); // one byte a read
  checkDelivery(frames, []); // all in one read
});

test('property: random RESP2/RESP3 frames, random cuts: whole, in order, ranges of their chunk or joined', () => {
  fc.assert(
    fc.property(
      fc.array(frame, { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat(2000), { maxLength: 12 }),
      (frames, cuts) => {
        const total = frames.join('').length;
        checkDelivery(
          frames,
          cuts.map((c) => c % (total + 1)),
        );
      },
    ),
    { numRuns: 400 },
  );
});

test('raw mode set by the sink mid-chunk: the rest of the chunk and later chunks pass as they are', () => {
  const { seen, read } = recorder((reader, seen) => {
    if (seen.length === 2) reader.raw = true;
  });
  const first = b('+a\r\n+b\r\nnot RESP at all');
  read(first);
  read(b('?? nor this\r\n'));
  assert.deepEqual(
    seen.map((s) => [s.text, s.inChunk, s.isChunk]),
    [
      ['+a\r\n', true, true],
      ['+b\r\n', true, true],
      ['not RESP at all', true, true],
      ['?? nor this\r\n', true, true],
    ],
  );
  assert.equal(seen[2].start, 8);
  assert.equal(seen[2].end, first.length);
});

test('raw mode set at a frame that spanned reads: the rest of that read passes as it is', () => {
  const { seen, read } = recorder((reader, seen) => {
    if (seen.length === 2) reader.raw = true;
  });
  read(b('+a\r\n$3\r\nx'));
  read(b('yz\r\nREST'));
  assert.deepEqual(
    seen.map((s) => [s.text, s.inChunk]),
    [
      ['+a\r\n', true],
      ['$3\r\nxyz\r\n', false],
      ['REST', true],
    ],
  );
});

test('bytes that are no RESP throw ReplyProtocolError, after the frames before them', () => {
  const { seen, read } = recorder();
  assert.throws(() => read(b('hello\r\n')), ReplyProtocolError);
  const r = recorder();
  assert.throws(() => r.read(b('+OK\r\n$x\r\n')), ReplyProtocolError);
  assert.deepEqual(
    r.seen.map((s) => s.text),
    ['+OK\r\n'],
  );
  assert.equal(seen.length, 0);
});

test('reset() forgets a half-read frame', () => {
  const { reader, seen, read } = recorder();
  read(b('$5\r\nab'));
  reader.reset();
  read(b(':1234567\r\n'));
  assert.deepEqual(
    seen.map((s) => [s.text, s.inChunk]),
    [[':1234567\r\n', true]],
  );
  // and one spread over several reads
  read(b('*2\r\n:1'));
  read(b('\r\n'));
  reader.reset();
  read(b(':7\r\n'));
  assert.deepEqual(
    seen.map((s) => s.text),
    [':1234567\r\n', ':7\r\n'],
  );
});

test('reads into the shared read buffer: a frame spanning reads survives the buffer being overwritten', () => {
  const frames: string[] = [];
  const reader = new ReplyReader((buf, start, end) => frames.push(buf.toString('latin1', start, end)));
  const read = (s: string) => {
    const n = UPSTREAM_READ_BUFFER.write(s, 0, 'latin1');
    reader.read(UPSTREAM_READ_BUFFER.subarray(0, n));
    UPSTREAM_READ_BUFFER.fill(0x21, 0, 64); // the next read lands on the same bytes
  };
  read('+OK\r\n$10\r\n01234');
  read('56789\r\n:7');
  read('\r\n');
  assert.deepEqual(frames, ['+OK\r\n', '$10\r\n0123456789\r\n', ':7\r\n']);
});
