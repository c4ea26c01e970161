// RequestDecoder: property tests (chunking never changes the outcome, garbage never throws)
// and a differential against a real redis-server: for malformed input the decoder must
// decode exactly the requests Redis executes before its protocol error, and the same error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { RequestDecoder, DecodeStatus, INLINE_MAX } from '../../src/resp/request-decoder.js';
import { splitInlineArgs } from '../../src/resp/inline-split.js';
import { encodeError } from '../../src/resp/encode.js';
import { escapeBytes, RawClient, splitFrames, startRedis, type RedisServer } from '../helpers/index.js';

/** Redis's default proto-max-bulk-len (512 MB), which is what the differential runs against. */
const LIMITS = { maxBulkLen: 512 * 1024 * 1024 };
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const show = (buf: Buffer | string, max = 160): string => escapeBytes(typeof buf === 'string' ? b(buf) : buf, max);

// ───────────────────────────── running the decoder ─────────────────────────────

interface Decoded {
  args: string[]; // latin1: one char per byte
  raw: string; // buffer.subarray(requestStart, end)
  inline: boolean;
}
interface Outcome {
  requests: Decoded[];
  status: 'incomplete' | 'error';
  error?: string;
  /** bytes held for an unfinished request, when incomplete */
  buffered?: number;
}

/**
 * Feeds `chunks` one by one, draining next() after each, and stops at the first protocol
 * error (the decoder is never used after one). Args and raw bytes are converted only at the
 * end, so a decoder that reused memory behind earlier results would be caught.
 */
function decode(chunks: Buffer[]): Outcome {
  const d = new RequestDecoder(LIMITS);
  const got: { args: Buffer[]; raw: Buffer; inline: boolean }[] = [];
  const finish = (status: Outcome['status'], extra: Partial<Outcome>): Outcome => ({
    requests: got.map((r) => ({ args: r.args.map((a) => a.toString('latin1')), raw: r.raw.toString('latin1'), inline: r.inline })),
    status,
    ...extra,
  });
  let calls = 0;
  for (const chunk of chunks) {
    d.push(chunk);
    for (;;) {
      // every call either returns a request (consuming bytes) or stops: a bound well above that
      if (++calls > 4 * (chunks.length + 1) + 1_000_000) throw new Error('decoder does not make progress');
      const st = d.next();
      if (st === DecodeStatus.Incomplete) break;
      if (st === DecodeStatus.ProtocolError) return finish('error', { error: d.error });
      assert.equal(st, DecodeStatus.Request);
      assert.ok(d.requestStart >= 0 && d.requestStart < d.end && d.end <= d.buffer.length, 'request range inside buffer');
      got.push({ args: d.args, raw: d.buffer.subarray(d.requestStart, d.end), inline: d.inline });
    }
  }
  return finish('incomplete', { buffered: d.buffered });
}

/** Cuts `buf` at the given offsets (any order, duplicates and out-of-range ignored). */
function cutAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    if (p <= prev) continue;
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

const everyByte = (buf: Buffer): Buffer[] => Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));
const chunksOf = (buf: Buffer, size: number): Buffer[] => {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out.length ? out : [buf];
};

// ───────────────────────────── valid streams ─────────────────────────────

/** One piece of a client stream: its bytes, and the request it is (null: an empty request Redis skips). */
interface Segment {
  bytes: Buffer;
  args: Buffer[] | null;
  inline: boolean;
}

const interestingByte = fc.constantFrom(0x0d, 0x0a, 0x00, 0x24, 0x2a, 0x22, 0x27, 0x5c, 0x20, 0x09, 0xff, 0x2d);
const anyByte = fc.oneof({ weight: 1, arbitrary: interestingByte }, { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) });
const binArg = fc.array(anyByte, { maxLength: 24 }).map((a) => Buffer.from(a));
/** a large argument (longer than one 16 KB read), patterned so misaligned slices show */
const bigArg = fc.integer({ min: 16 * 1024, max: 80 * 1024 }).map((n) => {
  const x = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) x[i] = (i * 7 + 13) & 0xff;
  return x;
});

/**
 * A multibulk request. With `sloppy`, the byte after each header's '\r' and the two bytes
 * after each bulk are arbitrary: Redis skips them unchecked, and so must the decoder.
 */
function encodeMultibulk(args: Buffer[], sloppy: number[] | null): Buffer {
  let k = 0;
  const junk = (dflt: number): number => (sloppy && sloppy.length ? sloppy[k++ % sloppy.length] : dflt);
  const parts: Buffer[] = [b(`*${args.length}\r`), Buffer.from([junk(0x0a)])];
  for (const a of args) {
    parts.push(b(`$${a.length}\r`), Buffer.from([junk(0x0a)]), a, Buffer.from([junk(0x0d), junk(0x0a)]));
  }
  return Buffer.concat(parts);
}

const multibulkSeg: fc.Arbitrary<Segment> = fc
  .record({
    args: fc.array(binArg, { minLength: 1, maxLength: 6 }),
    sloppy: fc.option(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }), { freq: 5 }),
  })
  .map(({ args, sloppy }) => ({ bytes: encodeMultibulk(args, sloppy), args, inline: false }));

const bigMultibulkSeg: fc.Arbitrary<Segment> = fc
  .tuple(binArg, bigArg, binArg)
  .map((args) => ({ bytes: encodeMultibulk(args, null), args, inline: false }));

const emptySeg: fc.Arbitrary<Segment> = fc
  .constantFrom('*0\r\n', '*-1\r\n', '*-7\r\n', '\r\n', '\n', ' \t \r\n', '\t\n', '\x0b\x0c\r\n')
  .map((s) => ({ bytes: b(s), args: null, inline: false }));

const HEX = '0123456789abcdefABCDEF';
const hex2 = (x: number, upper: boolean): string => {
  const h = x.toString(16).padStart(2, '0');
  return upper ? h.toUpperCase() : h;
};

/** Encodes `arg` inside "double quotes", choosing among the escapes sdssplitargs understands. */
function encodeDq(arg: Buffer, choices: number[]): string {
  let out = '"';
  arg.forEach((x, i) => {
    const c = choices.length ? choices[i % choices.length] : 0;
    const ch = String.fromCharCode(x);
    const viaHex = '\\x' + hex2(x, (c & 4) !== 0);
    const named: Record<number, string> = { 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x08: '\\b', 0x07: '\\a', 0x22: '\\"', 0x5c: '\\\\' };
    if (named[x] !== undefined) out += c % 2 === 0 ? named[x] : viaHex;
    else if (x === 0x00) out += viaHex;
    else if (x >= 0x20 && x <= 0x7e) {
      // raw, hex, or "\c" which stands for c itself unless c is one of n r t b a x
      if (c % 3 === 0) out += ch;
      else if (c % 3 === 1 || 'nrtbax'.includes(ch)) out += viaHex;
      else out += '\\' + ch;
    } else out += c % 2 === 0 ? ch : viaHex; // other control bytes and 0x80-0xff may be raw
  });
  return out + '"';
}

/** 'single quotes': everything literal except \' for a quote; null when not expressible. */
function encodeSq(arg: Buffer): string | null {
  if (arg.includes(0x00) || arg.includes(0x0a) || (arg.length > 0 && arg[arg.length - 1] === 0x5c)) return null;
  return "'" + arg.toString('latin1').replace(/'/g, "\\'") + "'";
}

const plainToken = fc
  .array(fc.integer({ min: 0x21, max: 0x7e }).filter((c) => c !== 0x22 && c !== 0x27), { minLength: 1, maxLength: 12 })
  .map((a) => Buffer.from(a));

type Tok = { text: string; arg: Buffer; quoted: boolean };
const inlineToken: fc.Arbitrary<Tok> = fc.oneof(
  { weight: 3, arbitrary: plainToken.map((arg) => ({ text: arg.toString('latin1'), arg, quoted: false })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(binArg, fc.array(fc.nat(), { minLength: 1, maxLength: 6 }))
      .map(([arg, ch]) => ({ text: encodeDq(arg, ch), arg, quoted: true })),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.integer({ min: 0x01, max: 0xff }), { maxLength: 12 })
      .map((a) => Buffer.from(a))
      .map((arg) => {
        const sq = encodeSq(arg);
        return sq === null ? { text: encodeDq(arg, [0]), arg, quoted: true } : { text: sq, arg, quoted: true };
      }),
  },
);

const inlineSeg: fc.Arbitrary<Segment> = fc
  .record({
    toks: fc.array(inlineToken, { minLength: 1, maxLength: 5 }),
    seps: fc.array(fc.constantFrom(' ', '\t', '  ', ' \t'), { minLength: 5, maxLength: 5 }),
    quotedSeps: fc.array(fc.constantFrom(' ', '\t', '\x0b', '\x0c', ' \x0b'), { minLength: 5, maxLength: 5 }),
    lead: fc.constantFrom('', '', ' ', '\t ', '\x0b'),
    trail: fc.constantFrom('', '', ' ', '\t'),
    eol: fc.constantFrom('\r\n', '\n'),
  })
  .map(({ toks, seps, quotedSeps, lead, trail, eol }) => {
    let line = lead;
    toks.forEach((t, i) => {
      line += t.text;
      // after an unquoted token only ' ' and '\t' end it ('\v' would become part of it)
      if (i < toks.length - 1) line += t.quoted ? quotedSeps[i] : seps[i];
    });
    line += trail;
    if (line.startsWith('*')) line = ' ' + line; // '*' first would make it a multibulk
    return { bytes: b(line + eol), args: toks.map((t) => t.arg), inline: true };
  });

const validStream = (opts: { big?: boolean; maxSegs?: number } = {}) =>
  fc.array(
    fc.oneof(
      { weight: 5, arbitrary: multibulkSeg },
      { weight: 4, arbitrary: inlineSeg },
      { weight: 1, arbitrary: emptySeg },
      ...(opts.big ? [{ weight: 1, arbitrary: bigMultibulkSeg }] : []),
    ),
    { minLength: 1, maxLength: opts.maxSegs ?? 8 },
  );

function expectedOf(segs: Segment[]): Decoded[] {
  return segs
    .filter((s) => s.args !== null)
    .map((s) => ({ args: s.args!.map((a) => a.toString('latin1')), raw: s.bytes.toString('latin1'), inline: s.inline }));
}

function assertDecodes(segs: Segment[], chunks: Buffer[], how: string): void {
  const out = decode(chunks);
  const expected = expectedOf(segs);
  assert.equal(out.status, 'incomplete', `${how}: unexpected protocol error ${JSON.stringify(out.error)}`);
  assert.deepEqual(out.requests, expected, `${how}: requests differ`);
  assert.equal(out.buffered, 0, `${how}: bytes left over after the last request`);
}

// ───────────────────────────── (a) chunking never matters ─────────────────────────────

test('inline tokens: the test encoder and splitInlineArgs agree (sanity of the generator)', () => {
  fc.assert(
    fc.property(inlineSeg, (seg) => {
      const line = seg.bytes.subarray(0, seg.bytes.length - (seg.bytes[seg.bytes.length - 2] === 0x0d ? 2 : 1));
      const got = splitInlineArgs(line);
      assert.ok(got !== null, `unbalanced: ${show(line)}`);
      assert.deepEqual(
        got.map((a) => a.toString('latin1')),
        seg.args!.map((a) => a.toString('latin1')),
        show(line),
      );
    }),
    { numRuns: 500 },
  );
});

test('valid streams decode to the same requests and byte ranges whole and split at arbitrary points', () => {
  fc.assert(
    fc.property(validStream(), fc.array(fc.nat(), { maxLength: 30 }), (segs, cuts) => {
      const all = Buffer.concat(segs.map((s) => s.bytes));
      assertDecodes(segs, [all], 'whole');
      const chunks = cutAt(all, cuts);
      assertDecodes(segs, chunks, `cut at ${JSON.stringify(cuts)}`);
      // empty pushes (a zero-length read) anywhere change nothing
      const EMPTY = Buffer.alloc(0);
      assertDecodes(segs, [EMPTY, ...chunks.flatMap((c) => [c, EMPTY])], `cut at ${JSON.stringify(cuts)}, with empty chunks`);
    }),
    { numRuns: 600 },
  );
});

test('valid streams decode identically when fed one byte at a time', () => {
  fc.assert(
    fc.property(validStream({ maxSegs: 6 }), (segs) => {
      const all = Buffer.concat(segs.map((s) => s.bytes));
      assertDecodes(segs, everyByte(all), 'byte by byte');
    }),
    { numRuns: 150 },
  );
});

test('streams with arguments larger than a read decode identically in arbitrary and 16 KB chunks', () => {
  fc.assert(
    fc.property(validStream({ big: true, maxSegs: 5 }), fc.array(fc.nat(), { maxLength: 40 }), fc.integer({ min: 1, max: 20000 }), (segs, cuts, size) => {
      const all = Buffer.concat(segs.map((s) => s.bytes));
      assertDecodes(segs, [all], 'whole');
      assertDecodes(segs, cutAt(all, cuts), 'arbitrary cuts');
      assertDecodes(segs, chunksOf(all, size), `chunks of ${size}`);
    }),
    { numRuns: 40 },
  );
});

test('a request is decoded as soon as its last byte arrives, not later', () => {
  // the prefix of a valid stream that ends exactly after request i yields requests 0..i
  fc.assert(
    fc.property(validStream({ maxSegs: 5 }), (segs) => {
      let len = 0;
      let n = 0;
      for (const s of segs) {
        len += s.bytes.length;
        if (s.args !== null) n++;
        const all = Buffer.concat(segs.map((x) => x.bytes)).subarray(0, len);
        const out = decode([all]);
        assert.equal(out.requests.length, n);
        assert.equal(out.buffered, 0);
        if (len > 1) {
          const short = decode([all.subarray(0, len - 1)]);
          assert.equal(short.status, 'incomplete');
          assert.equal(short.requests.length, n - (s.args !== null ? 1 : 0), `one byte short of ${show(s.bytes)}`);
        }
      }
    }),
    { numRuns: 200 },
  );
});

test('while a multibulk is unfinished, partialArgc/partialName/partialBytes describe exactly the bytes received for it', () => {
  fc.assert(
    fc.property(validStream({ maxSegs: 6 }), fc.array(fc.nat(), { maxLength: 30 }), fc.nat(), (segs, cuts, off) => {
      const all = Buffer.concat(segs.map((s) => s.bytes));
      const starts: number[] = [];
      let at = 0;
      for (const s of segs) {
        starts.push(at);
        at += s.bytes.length;
      }
      const requests = segs.map((s, i) => ({ s, start: starts[i] })).filter((x) => x.s.args !== null);
      const d = new RequestDecoder(LIMITS);
      let fed = 0;
      let decoded = 0;
      for (const chunk of cutAt(all, cuts)) {
        d.push(chunk);
        fed += chunk.length;
        for (let st = d.next(); st !== DecodeStatus.Incomplete; st = d.next()) {
          assert.equal(st, DecodeStatus.Request);
          decoded++;
        }
        if (d.partialArgc === -1) continue;
        const cur = requests[decoded];
        assert.ok(cur && !cur.s.inline, 'partialArgc is only set inside a multibulk');
        assert.equal(d.partialArgc, cur.s.args!.length);
        const name = d.partialName();
        if (name !== null) assert.equal(name.toString('latin1'), cur.s.args![0].toString('latin1'));
        const received = all.subarray(cur.start, fed);
        assert.ok(received.length < cur.s.bytes.length, 'an unfinished request has bytes missing');
        assert.deepEqual(Buffer.concat(d.partialBytes(0)), received, 'partialBytes(0)');
        const o = off % (received.length + 1);
        assert.deepEqual(Buffer.concat(d.partialBytes(o)), received.subarray(o), `partialBytes(${o})`);
      }
      assert.equal(decoded, requests.length);
      assert.equal(d.partialArgc, -1);
    }),
    { numRuns: 300 },
  );
});

test('runs of empty requests (blank lines, *0, *-1) are skipped without growing the stack', () => {
  // Redis skips these in a loop; a client can send thousands in one packet.
  for (const [unit, count] of [
    ['\n', 100_000],
    ['\r\n', 50_000],
    ['*0\r\n', 30_000],
    ['*-1\r\n', 30_000],
  ] as const) {
    const input = b(unit.repeat(count) + 'PING\r\n');
    let out: Outcome | undefined;
    assert.doesNotThrow(() => {
      out = decode([input]);
    }, `${count} x ${JSON.stringify(unit)} then PING`);
    assert.deepEqual(out!.requests.map((r) => r.args), [['PING']]);
    assert.equal(out!.buffered, 0);
  }
});

// ───────────────────────────── (b) garbage never throws ─────────────────────────────

const ERROR_TEXT =
  /^(invalid bulk length|invalid multibulk length|expected '\$', got '[\s\S]'|too big inline request|too big mbulk count string|too big bulk count string|unbalanced quotes in request)$/;

const garbageByte = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...b('*$\r\n0123456789-+? "\'\\x\0\t')) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const garbage = fc.array(garbageByte, { maxLength: 300 }).map((a) => Buffer.from(a));

type Mutation = { op: 'set' | 'insert' | 'delete' | 'truncate'; pos: number; bytes: number[] };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('set', 'set', 'insert', 'delete', 'truncate'),
  pos: fc.nat(),
  bytes: fc.array(garbageByte, { minLength: 1, maxLength: 4 }),
});

function mutate(buf: Buffer, muts: Mutation[]): Buffer {
  let x = Buffer.from(buf);
  for (const m of muts) {
    const p = x.length === 0 ? 0 : m.pos % (x.length + 1);
    if (m.op === 'set' && p < x.length) x[p] = m.bytes[0];
    else if (m.op === 'insert') x = Buffer.concat([x.subarray(0, p), Buffer.from(m.bytes), x.subarray(p)]);
    else if (m.op === 'delete') x = Buffer.concat([x.subarray(0, p), x.subarray(p + m.bytes.length)]);
    else if (m.op === 'truncate') x = x.subarray(0, p);
  }
  return x;
}

const mutatedStream = fc
  .tuple(validStream({ maxSegs: 5 }), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([segs, muts]) => mutate(Buffer.concat(segs.map((s) => s.bytes)), muts));

/**
 * Invariants of any outcome on any input (shorter than INLINE_MAX, so that no
 * "too big" limit, whose check depends on how much is buffered, can be reached):
 * no throw, split-invariance, known error texts, and each request's raw bytes are
 * themselves exactly that request.
 */
function checkAnyInput(input: Buffer, cuts: number[]): void {
  assert.ok(input.length < INLINE_MAX);
  let whole!: Outcome;
  let split!: Outcome;
  let bytewise!: Outcome;
  assert.doesNotThrow(() => (whole = decode([input])), `whole: ${show(input)}`);
  assert.doesNotThrow(() => (split = decode(cutAt(input, cuts))), `split: ${show(input)}`);
  assert.doesNotThrow(() => (bytewise = decode(everyByte(input))), `byte by byte: ${show(input)}`);
  assert.deepEqual(split, whole, `split differs from whole for ${show(input)} cut at ${JSON.stringify(cuts)}`);
  assert.deepEqual(bytewise, whole, `byte by byte differs from whole for ${show(input)}`);
  if (whole.status === 'error') assert.match(whole.error!, ERROR_TEXT);
  let from = 0;
  for (const r of whole.requests) {
    assert.ok(r.args.length > 0, 'a request has at least one argument');
    const at = input.indexOf(b(r.raw), from);
    assert.ok(at >= from, `raw bytes ${show(r.raw)} are not the next part of the input`);
    from = at + r.raw.length;
    const alone = decode([b(r.raw)]);
    assert.equal(alone.status, 'incomplete');
    assert.deepEqual(alone.requests, [r], `raw bytes ${show(r.raw)} decoded alone differ`);
    assert.equal(alone.buffered, 0);
  }
}

test('random garbage, split arbitrarily, never throws and decodes the same in any split', () => {
  fc.assert(fc.property(garbage, fc.array(fc.nat(), { maxLength: 20 }), checkAnyInput), { numRuns: 1500 });
});

test('mutated valid streams, split arbitrarily, never throw and decode the same in any split', () => {
  fc.assert(fc.property(mutatedStream, fc.array(fc.nat(), { maxLength: 20 }), checkAnyInput), { numRuns: 1000 });
});

test('limits: lines, counts and bulk headers longer than 64 KB are refused once buffered, never before', () => {
  const big = (prefix: string, fill: string, n: number) => Buffer.concat([b(prefix), Buffer.alloc(n, fill)]);
  const cases: [Buffer, string][] = [
    [big('', 'A', INLINE_MAX + 1), 'too big inline request'],
    [big('*', '1', INLINE_MAX), 'too big mbulk count string'],
    [big('*1\r\n$', '1', INLINE_MAX), 'too big bulk count string'],
    [big('*2\r\n$4\r\nECHO\r\n', '1', INLINE_MAX + 1), 'too big bulk count string'],
  ];
  for (const [input, err] of cases) {
    for (const chunks of [[input], chunksOf(input, 16 * 1024), chunksOf(input, 1000)]) {
      const out = decode(chunks);
      assert.equal(out.status, 'error', show(input, 40));
      assert.equal(out.error, err);
    }
    // one byte less is still waited on
    const short = decode([input.subarray(0, input.length - 1)]);
    assert.equal(short.status, 'incomplete', `one byte under the limit: ${show(input, 40)}`);
  }
  // a bulk of exactly proto-max-bulk-len is waited for; one more is refused
  assert.equal(decode([b(`*1\r\n$${LIMITS.maxBulkLen}\r\n`)]).status, 'incomplete');
  assert.equal(decode([b(`*1\r\n$${LIMITS.maxBulkLen + 1}\r\n`)]).error, 'invalid bulk length');
});

// ───────────────────────────── (c) differential against redis-server ─────────────────────────────

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

interface RedisOutcome {
  replies: Buffer[]; // replies to executed commands
  errorLine: Buffer | null; // the whole "-ERR Protocol error: ...\r\n" line
  error: string | null; // its text after "Protocol error: " (latin1)
  closed: boolean;
  note?: string;
}

/**
 * Sends `input` to Redis on a fresh connection and watches: replies, then either a
 * protocol error and close, or silence (Redis waits for more bytes: "incomplete").
 * The server is never password-protected here, so the "unauthenticated multibulk/bulk
 * length" variants Redis 7 uses before AUTH cannot occur.
 */
function sendToRedis(input: Buffer, quietMs = 150, maxMs = 3000, expect?: Outcome): Promise<RedisOutcome> {
  // Silence only counts once what the decoder predicts has arrived (on a loaded machine a
  // reply may take longer than quietMs): a divergence then costs maxMs, agreement does not.
  const wantFrames = expect ? expect.requests.length + (expect.status === 'error' ? 1 : 0) : 0;
  return new Promise((resolve, reject) => {
    const s = net.connect({ port: redis.port, host: '127.0.0.1' });
    let data = Buffer.alloc(0);
    let closed = false;
    let quiet: NodeJS.Timeout | undefined;
    const hard = setTimeout(done, maxMs);
    function armQuiet() {
      clearTimeout(quiet);
      quiet = setTimeout(onQuiet, quietMs);
    }
    function onQuiet() {
      if (wantFrames > 0 && splitFrames(data).frames.length < wantFrames) return; // keep waiting (hard cap)
      done();
    }
    function done() {
      clearTimeout(quiet);
      clearTimeout(hard);
      s.destroy();
      const { frames, rest } = splitFrames(data);
      const out: RedisOutcome = { replies: frames, errorLine: null, error: null, closed };
      if (rest.length) out.note = `trailing partial bytes ${show(rest)}`;
      const last = frames[frames.length - 1];
      const prefix = '-ERR Protocol error: ';
      if (closed && last && last.toString('latin1').startsWith(prefix)) {
        out.replies = frames.slice(0, -1);
        out.errorLine = last;
        out.error = last.toString('latin1', prefix.length, last.length - 2);
      } else if (closed) {
        out.note = (out.note ?? '') + ' closed without a protocol error';
      }
      resolve(out);
    }
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return; // 'close' follows
      clearTimeout(hard);
      clearTimeout(quiet);
      reject(e);
    });
    s.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      armQuiet();
    });
    s.on('close', () => {
      closed = true;
      done();
    });
    s.on('connect', () => {
      s.write(input);
      armQuiet();
    });
  });
}

/** What Redis does to any error text before sending it (sdsmapchars "\r\n" -> "  "). */
const asRedisSends = (text: string): string => text.replace(/[\r\n]/g, ' ');

/** The replies Redis gives to `requests` when they arrive as clean multibulks. */
async function canonicalReplies(requests: Decoded[]): Promise<Buffer[]> {
  if (requests.length === 0) return [];
  const c = await RawClient.connect(redis.port);
  try {
    const enc = requests.map((r) => {
      const parts = [b(`*${r.args.length}\r\n`)];
      for (const a of r.args) parts.push(b(`$${a.length}\r\n`), b(a), b('\r\n'));
      return Buffer.concat(parts);
    });
    c.write(Buffer.concat(enc));
    return await c.readFrames(requests.length, 5000);
  } finally {
    c.destroy();
  }
}

async function compareWithRedis(input: Buffer): Promise<string | null> {
  // Redis reads at most 16 KB per read(2) and parses after each; feed the decoder the same way.
  let mine: Outcome;
  try {
    mine = decode(chunksOf(input, 16 * 1024));
  } catch (e) {
    return `input "${show(input, 100)}": decoder threw ${(e as Error).name}: ${(e as Error).message}`;
  }
  const theirs = await sendToRedis(input, 150, 3000, mine);
  const problems: string[] = [];
  if (theirs.note) problems.push(`redis: ${theirs.note}`);
  if (mine.requests.length !== theirs.replies.length) {
    problems.push(
      `decoder decoded ${mine.requests.length} request(s) ${JSON.stringify(mine.requests.map((r) => r.args))}, Redis executed ${theirs.replies.length}`,
    );
  } else {
    const expected = await canonicalReplies(mine.requests);
    for (let i = 0; i < expected.length; i++) {
      if (!expected[i].equals(theirs.replies[i])) {
        problems.push(
          `request ${i} ${JSON.stringify(mine.requests[i].args)}: Redis replied ${show(theirs.replies[i])} but these args give ${show(expected[i])}`,
        );
      }
    }
  }
  const myErr = mine.status === 'error' ? asRedisSends(mine.error!) : null;
  if (myErr !== theirs.error) {
    problems.push(`decoder: ${myErr === null ? 'incomplete (waits)' : `error "${show(myErr)}"`}; Redis: ${theirs.error === null ? (theirs.closed ? 'closed' : 'waits') : `error "${show(theirs.error)}"`}`);
  }
  return problems.length ? `input "${show(input, 100)}": ${problems.join('; ')}` : null;
}

async function runDifferential(inputs: Buffer[]): Promise<string[]> {
  const failures: string[] = [];
  const CONCURRENCY = 24;
  for (let i = 0; i < inputs.length; i += CONCURRENCY) {
    const batch = await Promise.all(inputs.slice(i, i + CONCURRENCY).map(compareWithRedis));
    for (const f of batch) if (f !== null) failures.push(f);
  }
  return failures;
}

const PING = '*1\r\n$4\r\nPING\r\n';
const ECHO = (x: string) => `*2\r\n$4\r\nECHO\r\n$${x.length}\r\n${x}\r\n`;

/** Hand-picked malformed and borderline inputs; each is a byte string (one char = one byte). */
const LISTED: string[] = [
  // multibulk count
  `${PING}*x\r\n`,
  `${PING}*\r\n`,
  '*01\r\nPING\r\n',
  '*+1\r\n',
  '* 1\r\n',
  '*1 \r\n',
  '*-\r\n',
  '*-0\r\n',
  '*1x\r\n',
  '*2147483647\r\n',
  '*2147483648\r\n',
  '*99999999999999999999\r\n',
  '*123456789012345678901\r\n',
  `*0\r\n*-1\r\n${PING}`,
  `*-9223372036854775808\r\n${PING}`,
  `*-9223372036854775809\r\n${PING}`,
  `*-9999999999999999999\r\n${PING}`,
  `*-99999999999999999999\r\n${PING}`,
  '*1\r',
  '*1\rX$4\rXPING\r\n',
  '*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n',
  '*1\0\r\n',
  // bulk headers
  '*1\r\n$-1\r\n',
  '*1\r\n$\r\n',
  '*1\r\n$01\r\n',
  '*1\r\n$-0\r\n',
  '*1\r\n$ 4\r\nPING\r\n',
  '*1\r\n$4 \r\nPING\r\n',
  '*1\r\n$abc\r\n',
  '*1\r\n$536870912\r\n',
  '*1\r\n$536870913\r\n',
  '*1\r\n$99999999999999999999\r\n',
  '*1\r\n$123456789012345678901\r\n',
  '*1\r\n$0\r\n\r\n',
  '*1\r\nx4\r\nPING\r\n',
  `${PING}*2\r\n$4\r\nECHO\r\n:1\r\n`,
  '*1\r\n\r\r\n',
  '*1\r\n\n\r\n',
  '*1\r\n\xff\r\n',
  '*1\r\n\x01\r\n',
  '*1\r\n\0\r\n',
  '*1\r\n$4\0\r\nPING\r\n',
  '*1\r\n*1\r\n',
  '*2\r\n$4\r\nECHO\r\n$3\r\na\r\n\r\n',
  ECHO('\r\n\0') + PING,
  // inline
  `PING\r\nECHO "a\r\n`,
  'ECHO "a"b\r\n',
  "ECHO 'a'b\r\n",
  "ECHO 'a\r\n",
  'ECHO "a\\"\r\n',
  'ECHO "\\x4\r\n',
  `ECHO a\0b\r\n${PING}`,
  `ECHO "a\0b"\r\n${PING}`,
  `\0\r\n${PING}`,
  `${PING}ECHO x\0`,
  'ECHO x\r\rPING\r\n',
  ' *1\r\n',
  '\r\n\n  \r\nPING\r\n',
  'PING\n\rPING\r\n',
  'ECHO a\x0bb\r\n',
  // thousands of empty requests in one read, then a command
  '\n'.repeat(5000) + PING,
  '\r\n'.repeat(4000) + 'PING\r\n',
  // a pipeline of good requests, then a bad one
  `${PING}PING\r\n${ECHO('x')}ECHO "y z"\r\n*1\r\n$4\r\nPING\r\n*1\r\nPING\r\n`,
];

/** Limit-sized inputs: sized so that Redis has read every byte when it refuses (no RST). */
const LISTED_BIG: Buffer[] = [
  b('A'.repeat(INLINE_MAX + 1)),
  b(`PING\r\n${'A'.repeat(INLINE_MAX + 1)}`),
  b('*' + '1'.repeat(INLINE_MAX)),
  b('*1\r\n$' + '1'.repeat(INLINE_MAX)),
  b(`ECHO a\0b\r\n${'x'.repeat(INLINE_MAX + 1 - 11)}`),
];

/** PING/ECHO pipelines with a few byte-level mutations: bounded and seeded, so reproducible. */
const diffBase = fc.array(
  fc.oneof(
    fc.constant(PING),
    binArg.map((x) => ECHO(x.subarray(0, 10).toString('latin1'))),
    fc.constantFrom('PING\r\n', 'PING\n', 'ECHO x\r\n', 'ECHO "a b"\r\n', "ECHO 'c d'\r\n", 'ECHO "\\x41\\n"\r\n', '\r\n', '*0\r\n'),
  ),
  { minLength: 1, maxLength: 4 },
);
const NUMBERS = ['-1', '0', '-0', '01', '', ' 1', '2147483648', '536870913', '-9999999999999999999', '99999999999999999999', '1?'];
const diffMutation = fc.oneof(
  { weight: 4, arbitrary: mutation },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('number' as const), pos: fc.nat(), bytes: fc.constantFrom(...NUMBERS).map((s) => [...b(s)]) }) },
);
function mutateDiff(input: string, muts: (Mutation | { op: 'number'; pos: number; bytes: number[] })[]): Buffer {
  let x = b(input);
  for (const m of muts) {
    if (m.op === 'number') {
      // replace the n-th run of digits with an interesting number
      const runs = [...x.toString('latin1').matchAll(/\d+/g)];
      if (!runs.length) continue;
      const r = runs[m.pos % runs.length];
      x = Buffer.concat([x.subarray(0, r.index!), Buffer.from(m.bytes), x.subarray(r.index! + r[0].length)]);
    } else x = mutate(x, [m]);
  }
  return x;
}

function safeForRedis(input: Buffer): boolean {
  // Only ever let Redis run PING/ECHO (or names that cannot be commands), as the decoder sees them.
  const out = decode(chunksOf(input, 16 * 1024));
  return out.requests.every((r) => /^(ping|echo)$/i.test(r.args[0]) || /[^A-Za-z_|]/.test(r.args[0]) || r.args[0] === '');
}

const GENERATED: Buffer[] = fc
  .sample(
    fc.tuple(diffBase, fc.array(diffMutation, { minLength: 1, maxLength: 3 })).map(([parts, muts]) => mutateDiff(parts.join(''), muts)),
    { numRuns: 200, seed: 20240607 },
  )
  .filter((x) => x.length > 0 && safeForRedis(x))
  .slice(0, 130);

test('differential: listed malformed inputs decode as Redis 7 parses them (requests executed, then the same error or wait)', async () => {
  const failures = await runDifferential([...LISTED.map(b), ...LISTED_BIG]);
  assert.deepEqual(failures, [], `${failures.length} input(s) differ from Redis:\n${failures.join('\n')}`);
});

test('differential: seeded mutations of PING/ECHO pipelines decode as Redis 7 parses them', async () => {
  assert.ok(GENERATED.length >= 100, `only ${GENERATED.length} generated cases`);
  const failures = await runDifferential(GENERATED);
  assert.deepEqual(failures, [], `${failures.length} of ${GENERATED.length} inputs differ from Redis:\n${failures.join('\n')}`);
});

test('differential: the protocol error line the proxy writes is byte-identical to Redis\'s', async () => {
  // The session sends encodeError(`ERR Protocol error: ${decoder.error}`) (client-session.ts).
  const failures: string[] = [];
  for (const input of [...LISTED.map(b), ...LISTED_BIG]) {
    const mine = decode(chunksOf(input, 16 * 1024));
    if (mine.status !== 'error') continue;
    const theirs = await sendToRedis(input, 100, 3000, mine);
    if (theirs.errorLine === null) continue; // a decoding difference, reported by the test above
    const ours = encodeError(`ERR Protocol error: ${mine.error}`);
    if (!ours.equals(theirs.errorLine)) failures.push(`input "${show(input, 60)}": proxy writes "${show(ours)}", Redis "${show(theirs.errorLine)}"`);
  }
  assert.deepEqual(failures, [], failures.join('\n'));
});

// ───────────────────────────── (d) inline splitting vs Redis ─────────────────────────────

/** Argument text of inline lines (one char = one byte); each is tried after ECHO and after RPUSH. */
const INLINE_CASES: string[] = [
  '"a b"',
  "'x y'",
  '"\\x41\\n"',
  '"a"b',
  "'it\\'s'",
  "'a\\b'",
  "'\\\\'",
  '"a\0b"',
  'a\0b',
  '\0',
  '"\\x00"',
  'a\tb',
  '"a\tb"',
  '"\\t"',
  "'a\tb'",
  '\ta\t',
  'a\x0bb',
  '"a"\x0b',
  "'a'\x0c",
  'a\rb',
  '"a\rb"',
  '"\\xZZ"',
  '"\\x4"',
  '"\\x4g"',
  '"\\xfF"',
  '"\\q\\""',
  '"\\\\"',
  '"a\\"',
  '"unterminated',
  "'unterminated",
  '""',
  "''",
  '"" ""',
  'a"b c"',
  'a"b c"d',
  "a'b c'",
  '"a\'b"',
  "'a\"b'",
  '\xe9\xff',
  '"\xe9"',
  '  spaced   out  ',
  'x "y" \'z\' w',
  '"\\n\\r\\t\\b\\a"',
  '"a"\t"b"',
];

interface LineResult {
  status: 'reply' | 'error' | 'waits';
  reply?: Buffer;
  error?: string;
}

async function redisLine(line: string, after?: string, afterFrames = 1): Promise<{ line: LineResult; after: Buffer[] }> {
  const r = await sendToRedis(b(line + '\r\n'), 150, 3000, decode([b(line + '\r\n')]));
  const res: LineResult =
    r.error !== null ? { status: 'error', error: r.error } : r.replies.length ? { status: 'reply', reply: r.replies[0] } : { status: 'waits' };
  let afterReplies: Buffer[] = [];
  if (after) {
    const c = await RawClient.connect(redis.port);
    try {
      c.write(b(after));
      afterReplies = await c.readFrames(afterFrames, 3000);
    } finally {
      c.destroy();
    }
  }
  return { line: res, after: afterReplies };
}

/** One inline argument text, as ECHO <arg> and as RPUSH <key> <arg> (then LRANGE): decoder vs Redis. */
async function checkInlineCase(arg: string, id: string): Promise<string[]> {
  const failures: string[] = [];
  const key = `inline:${process.pid}:${id}`;
  const echoLine = `ECHO ${arg}`;
  const rpushLine = `RPUSH ${key} ${arg}`;
  // through the decoder, as the proxy sees the line
  const dEcho = decode([b(echoLine + '\r\n')]);
  const dPush = decode([b(rpushLine + '\r\n')]);
  const echo = await redisLine(echoLine);
  const push = await redisLine(rpushLine, cmdOf('LRANGE', key, '0', '-1') + cmdOf('DEL', key), 2);
  const tag = `case ${JSON.stringify(arg)}`;

  // ECHO: one argument -> its bytes; another count -> arity error; unbalanced -> protocol error
  const expectEcho = (d: Outcome): LineResult => {
    if (d.status === 'error') return { status: 'error', error: d.error };
    if (d.requests.length === 0) return { status: 'waits' };
    const args = d.requests[0].args;
    if (args.length === 2) return { status: 'reply', reply: b(`$${args[1].length}\r\n${args[1]}\r\n`) };
    return { status: 'reply', reply: b("-ERR wrong number of arguments for 'echo' command\r\n") };
  };
  const ee = expectEcho(dEcho);
  if (JSON.stringify(ee, replacer) !== JSON.stringify(echo.line, replacer)) {
    failures.push(`${tag} ECHO: decoder predicts ${JSON.stringify(ee, replacer)}, Redis ${JSON.stringify(echo.line, replacer)}`);
  }
  // RPUSH: the list Redis built must hold exactly the decoder's arguments 2..n
  const redisList = push.after[0]?.toString('latin1') ?? '';
  if (dPush.status === 'error' || dPush.requests.length === 0) {
    const want: LineResult = dPush.status === 'error' ? { status: 'error', error: dPush.error } : { status: 'waits' };
    if (JSON.stringify(want) !== JSON.stringify(push.line, replacer)) {
      failures.push(`${tag} RPUSH: decoder ${JSON.stringify(want)}, Redis ${JSON.stringify(push.line, replacer)}`);
    }
  } else {
    const values = dPush.requests[0].args.slice(2);
    const listReply = values.length === 0 ? '*0\r\n' : `*${values.length}\r\n${values.map((v) => `$${v.length}\r\n${v}\r\n`).join('')}`;
    if (listReply !== redisList) {
      failures.push(`${tag} RPUSH: decoder args ${JSON.stringify(values)}, Redis stored "${show(redisList)}" (line reply ${JSON.stringify(push.line, replacer)})`);
    }
  }
  // splitInlineArgs itself agrees with the decoder on lines without NUL (a NUL never reaches it in Redis)
  if (!arg.includes('\0')) {
    const split = splitInlineArgs(b(rpushLine));
    const viaDecoder = dPush.status === 'error' ? null : (dPush.requests[0]?.args ?? []);
    const got = split === null ? null : split.map((a) => a.toString('latin1'));
    if (JSON.stringify(got) !== JSON.stringify(viaDecoder)) failures.push(`${tag}: splitInlineArgs ${JSON.stringify(got)}, decoder ${JSON.stringify(viaDecoder)}`);
  }
  return failures;
}

const cmdOf = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`;

test('inline splitting: each listed case splits as Redis splits it (ECHO <arg> and RPUSH <key> <args>, then LRANGE)', async () => {
  const failures = (await Promise.all(INLINE_CASES.map((arg, i) => checkInlineCase(arg, `l${i}`)))).flat();
  assert.deepEqual(failures, [], failures.join('\n'));
});

test('inline splitting: seeded random lines of quotes, escapes and blanks split as Redis splits them', async () => {
  const alphabet = [...'ab \t"\'\\x41nrt0'.split(''), '\x0b', '\x0c', '\r', '\xe9'];
  const lines = fc.sample(fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 14 }).map((cs) => cs.join('')), {
    numRuns: 150,
    seed: 7,
  });
  const failures: string[] = [];
  for (let i = 0; i < lines.length; i += 25) {
    const batch = await Promise.all(lines.slice(i, i + 25).map((arg, j) => checkInlineCase(arg, `g${i + j}`)));
    failures.push(...batch.flat());
  }
  assert.deepEqual(failures, [], failures.join('\n'));
});

function replacer(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer') return Buffer.from((v as { data: number[] }).data).toString('latin1');
  return v;
}
