// ReplyScanner: generated RESP2/RESP3 replies (nested, attributes, pushes, streamed forms,
// big bulks), concatenated and split anywhere, must be framed exactly at reply boundaries;
// garbage must end in ReplyProtocolError or boundaries, never a hang or another exception;
// and real redis-server output (RESP2 and RESP3) must split into one reply per command.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplyScanner, ReplyProtocolError } from '../../src/resp/reply-scanner.js';
import { decodeReply } from '../../src/resp/reply-value.js';
import { cmd, escapeBytes, RawClient, startRedis, type RedisServer } from '../helpers/index.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const show = (x: Buffer, max = 120): string => escapeBytes(x, max);

// ───────────────────────────── running the scanner ─────────────────────────────

interface ScanResult {
  /** absolute offsets just past each complete reply */
  ends: number[];
  /** message of the ReplyProtocolError that stopped the scan, if any */
  error: string | null;
  /** midFrame after each chunk */
  mid: boolean[];
}

/** Feeds chunks the way the session does: scan from 0, then from each returned end, until -1. */
function scanAll(chunks: Buffer[]): ScanResult {
  const sc = new ReplyScanner();
  const ends: number[] = [];
  const mid: boolean[] = [];
  let base = 0;
  try {
    for (const c of chunks) {
      let pos = 0;
      // each call that does not return -1 consumes at least one byte: c.length + 1 calls at most
      for (let calls = 0; ; calls++) {
        assert.ok(calls <= c.length + 1, 'scanner makes no progress');
        const end = sc.scan(c, pos);
        if (end < 0) break;
        assert.ok(end > pos && end <= c.length, `scan(…, ${pos}) returned ${end} for a chunk of ${c.length}`);
        ends.push(base + end);
        pos = end;
      }
      mid.push(sc.midFrame);
      base += c.length;
    }
  } catch (e) {
    if (e instanceof ReplyProtocolError) return { ends, error: e.message, mid };
    throw e;
  }
  return { ends, error: null, mid };
}

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

function cumulative(lengths: number[]): number[] {
  let at = 0;
  return lengths.map((n) => (at += n));
}

// ───────────────────────────── generated replies ─────────────────────────────

const anyByte = fc.oneof(fc.constantFrom(0x0d, 0x0a, 0x00, 0x24, 0x2a, 0x2e, 0x3b, 0x7c), fc.integer({ min: 0, max: 255 }));
const blob = fc.array(anyByte, { maxLength: 40 }).map((a) => Buffer.from(a));
const lineText = fc.array(fc.integer({ min: 0, max: 255 }).filter((c) => c !== 0x0d && c !== 0x0a), { maxLength: 30 }).map((a) => Buffer.from(a));
const bigBlob = fc.integer({ min: 16 * 1024, max: 200 * 1024 }).map((n) => {
  const x = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) x[i] = (i * 31 + 7) & 0xff;
  return x;
});

const cat = (...parts: (Buffer | string)[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? b(p) : p)));
const bulkOf = (t: string, x: Buffer): Buffer => cat(`${t}${x.length}\r\n`, x, '\r\n');

const leaf = (big: boolean): fc.Arbitrary<Buffer> =>
  fc.oneof(
    lineText.map((x) => cat('+', x, '\r\n')),
    lineText.map((x) => cat('-ERR ', x, '\r\n')),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => b(`:${n}\r\n`)),
    blob.map((x) => bulkOf('$', x)),
    fc.constantFrom('$-1\r\n', '*-1\r\n', '%-1\r\n', '~-1\r\n', '_\r\n', '#t\r\n', '#f\r\n', ',inf\r\n', ',-inf\r\n', ',nan\r\n', '$0\r\n\r\n').map(b),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => b(`,${d}\r\n`)),
    fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map((n) => b(`(${n}\r\n`)),
    fc.tuple(fc.constantFrom('txt', 'mkd'), blob).map(([f, x]) => bulkOf('=', cat(f, ':', x))),
    blob.map((x) => bulkOf('!', cat('ERR ', x))),
    // streamed string: $? then ;n chunks and ;0
    fc.array(blob.filter((x) => x.length > 0), { maxLength: 4 }).map((xs) => cat('$?\r\n', ...xs.map((x) => bulkOf(';', x)), ';0\r\n')),
    ...(big ? [bigBlob.map((x) => bulkOf('$', x))] : []),
  );

/** Any RESP value (one reply), nested at most a few levels. */
function valueArb(big: boolean): fc.Arbitrary<Buffer> {
  const { value } = fc.letrec<{
    value: Buffer;
    agg: Buffer;
    map: Buffer;
    attributed: Buffer;
    streamed: Buffer;
  }>((tie) => ({
    value: fc.oneof(
      { maxDepth: 4, depthIdentifier: 'resp' },
      { weight: 6, arbitrary: leaf(big) },
      { weight: 2, arbitrary: tie('agg') },
      { weight: 1, arbitrary: tie('map') },
      { weight: 1, arbitrary: tie('attributed') },
      { weight: 1, arbitrary: tie('streamed') },
    ),
    agg: fc
      .tuple(fc.constantFrom('*', '~', '>'), fc.array(tie('value'), { maxLength: 4, depthIdentifier: 'resp' }))
      .map(([t, xs]) => cat(`${t}${xs.length}\r\n`, ...xs)),
    map: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3, depthIdentifier: 'resp' }).map((kv) => cat(`%${kv.length}\r\n`, ...kv.flat())),
    // an attribute map is a prefix of the value it annotates: together they are one value
    attributed: fc
      .tuple(fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 2, depthIdentifier: 'resp' }), tie('value'))
      .map(([kv, v]) => cat(`|${kv.length}\r\n`, ...kv.flat(), v)),
    streamed: fc
      .tuple(fc.constantFrom('*', '~', '%', '>'), fc.array(tie('value'), { maxLength: 4, depthIdentifier: 'resp' }))
      .map(([t, xs]) => {
        const items = t === '%' ? xs.slice(0, xs.length & ~1) : xs; // a map streams pairs
        return cat(`${t}?\r\n`, ...items, '.\r\n');
      }),
  }));
  return value;
}

const replies = (big = false, max = 8) => fc.array(valueArb(big), { minLength: 1, maxLength: max });

test('generated replies are whole values for decodeReply, and their prefixes incomplete (sanity of the generator)', () => {
  // decodeReply handles every form except the streamed ones; check what it can
  fc.assert(
    fc.property(replies(), (rs) => {
      for (const r of rs) {
        if (r.includes(b('?\r\n'))) continue;
        const d = decodeReply(r, 0);
        assert.ok(d !== null && d.end === r.length, `not one whole value: ${show(r)}`);
        // and decodeReply waits (null) on every proper prefix
        for (let cut = 0; cut < r.length; cut += 1 + (r.length >> 6)) {
          assert.equal(decodeReply(r.subarray(0, cut), 0), null, `prefix of ${cut} bytes of ${show(r)}`);
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('replies split at arbitrary points are framed exactly at their boundaries', () => {
  fc.assert(
    fc.property(replies(), fc.array(fc.nat(), { maxLength: 30 }), (rs, cuts) => {
      const all = Buffer.concat(rs);
      const expected = cumulative(rs.map((r) => r.length));
      assert.deepEqual(scanAll([all]), { ends: expected, error: null, mid: [false] }, 'whole');
      const split = scanAll(cutAt(all, cuts));
      assert.equal(split.error, null);
      assert.deepEqual(split.ends, expected, `cut at ${JSON.stringify(cuts)}`);
    }),
    { numRuns: 500 },
  );
});

test('replies fed one byte at a time are framed exactly at their boundaries', () => {
  fc.assert(
    fc.property(replies(false, 5), (rs) => {
      const all = Buffer.concat(rs);
      const got = scanAll(everyByte(all));
      assert.equal(got.error, null);
      assert.deepEqual(got.ends, cumulative(rs.map((r) => r.length)));
    }),
    { numRuns: 200 },
  );
});

test('big bulks (larger than a socket read) inside replies are framed exactly, whole and split', () => {
  fc.assert(
    fc.property(replies(true, 4), fc.array(fc.nat(), { maxLength: 40 }), fc.integer({ min: 1, max: 70_000 }), (rs, cuts, size) => {
      const all = Buffer.concat(rs);
      const expected = cumulative(rs.map((r) => r.length));
      assert.deepEqual(scanAll([all]).ends, expected);
      assert.deepEqual(scanAll(cutAt(all, cuts)).ends, expected);
      const chunks: Buffer[] = [];
      for (let i = 0; i < all.length; i += size) chunks.push(all.subarray(i, i + size));
      assert.deepEqual(scanAll(chunks).ends, expected, `chunks of ${size}`);
    }),
    { numRuns: 40 },
  );
});

test('hand-written RESP3 edge cases are one reply each, at every split point', () => {
  const cases = [
    '|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n',
    '*3\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n:3\r\n', // attribute inside an aggregate is not an element
    '|0\r\n:1\r\n',
    '|1\r\n|1\r\n+a\r\n+b\r\n+c\r\n+d\r\n+e\r\n', // an attribute whose key is itself attributed
    '>4\r\n+pubsub\r\n+message\r\n+ch\r\n+hi\r\n',
    '$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n',
    '*?\r\n:1\r\n*?\r\n.\r\n$?\r\n;1\r\nx\r\n;0\r\n.\r\n',
    '%?\r\n+a\r\n:1\r\n+b\r\n*?\r\n.\r\n.\r\n',
    '~?\r\n|1\r\n+x\r\n+y\r\n:1\r\n.\r\n',
    '*2\r\n*0\r\n%0\r\n',
    '~0\r\n',
    '*1\r\n$-1\r\n',
    '=15\r\ntxt:Some string\r\n',
    '!21\r\nSYNTAX invalid syntax\r\n',
    '(3492890328409238509324850943850943825024385\r\n',
    '$6\r\n\r\n\r\n\r\n\r\n',
    '*-1\r\n',
    '$0\r\n\r\n',
  ].map(b);
  for (const c of cases) {
    for (let cut = 0; cut <= c.length; cut++) {
      const got = scanAll([c.subarray(0, cut), c.subarray(cut)]);
      assert.deepEqual(got.ends, [c.length], `${show(c)} cut at ${cut}`);
      assert.equal(got.error, null);
    }
    assert.deepEqual(scanAll(everyByte(c)).ends, [c.length], `${show(c)} byte by byte`);
    // twice in a row
    assert.deepEqual(scanAll([Buffer.concat([c, c])]).ends, [c.length, 2 * c.length], `${show(c)} twice`);
  }
});

test('midFrame is true exactly while a reply has been started and not finished', () => {
  // an attribute is the start of its reply: after it, the annotated value is still due
  for (const [head, rest] of [
    ['|1\r\n+a\r\n+b\r\n', ':1\r\n'],
    ['|0\r\n', ':1\r\n'],
    ['*2\r\n:1\r\n', ':2\r\n'],
    ['$?\r\n;1\r\nx\r\n', ';0\r\n'],
    ['*?\r\n', '.\r\n'],
    ['$3\r\nab', 'c\r\n'],
  ]) {
    const got = scanAll([b(head), b(rest)]);
    assert.deepEqual(got.ends, [head.length + rest.length], `${JSON.stringify(head + rest)}`);
    assert.deepEqual(got.mid, [true, false], `midFrame after ${JSON.stringify(head)}, then after ${JSON.stringify(rest)}`);
  }
  fc.assert(
    fc.property(replies(false, 4), fc.array(fc.nat(), { maxLength: 12 }), (rs, cuts) => {
      const all = Buffer.concat(rs);
      const chunks = cutAt(all, cuts);
      const got = scanAll(chunks);
      const bounds = new Set([0, ...cumulative(rs.map((r) => r.length))]);
      let fed = 0;
      chunks.forEach((c, i) => {
        fed += c.length;
        assert.equal(got.mid[i], !bounds.has(fed), `after ${fed} bytes of ${show(all)}`);
      });
    }),
    { numRuns: 500 },
  );
});

// ───────────────────────────── garbage ─────────────────────────────

const garbageByte = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...b('*$%~>|=!;.+-:_,#(?\r\n0123456789')) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const garbage = fc.array(garbageByte, { maxLength: 200 }).map((a) => Buffer.from(a));

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
const mutated = fc.tuple(replies(false, 4), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([rs, m]) => mutate(Buffer.concat(rs), m));

/** No exception but ReplyProtocolError, no hang (scanAll bounds the calls), and the split never matters. */
function checkGarbage(input: Buffer, cuts: number[]): void {
  let whole!: ScanResult;
  assert.doesNotThrow(() => (whole = scanAll([input])), `whole: ${show(input)}`);
  for (const chunks of [cutAt(input, cuts), everyByte(input)]) {
    let split!: ScanResult;
    assert.doesNotThrow(() => (split = scanAll(chunks)), `split: ${show(input)}`);
    assert.deepEqual({ ends: split.ends, error: split.error }, { ends: whole.ends, error: whole.error }, `split differs for ${show(input)}`);
  }
  for (let i = 1; i < whole.ends.length; i++) assert.ok(whole.ends[i] > whole.ends[i - 1]);
}

test('garbage ends in ReplyProtocolError or boundaries, never another exception or a hang, whatever the split', () => {
  fc.assert(fc.property(garbage, fc.array(fc.nat(), { maxLength: 16 }), checkGarbage), { numRuns: 2000 });
});

test('mutated valid replies end in ReplyProtocolError or boundaries, whatever the split', () => {
  fc.assert(fc.property(mutated, fc.array(fc.nat(), { maxLength: 16 }), checkGarbage), { numRuns: 1000 });
});

test('bytes that are not RESP are refused with ReplyProtocolError', () => {
  for (const s of ['x', '\r\n', '*1\r\nx', '$3x\r\n', '*1\r\r', '.\r\n', ';3\r\nabc\r\n', '*1\r\n.\r\n']) {
    const got = scanAll([b(s)]);
    assert.ok(got.error !== null, `${JSON.stringify(s)} should be refused, got ${JSON.stringify(got)}`);
  }
});

// ───────────────────────────── real Redis output ─────────────────────────────

let redis: RedisServer;
before(async () => {
  redis = await startRedis({ args: ['--enable-debug-command', 'yes'] });
});
after(async () => {
  await redis?.stop();
});

type Cmd = { args: (string | Buffer)[]; frames?: number };

/** A few hundred commands whose replies cover every type Redis 7.0 emits, in either protocol. */
function workload(resp: 2 | 3): Cmd[] {
  const p = `rs${resp}:`;
  const c = (...args: (string | Buffer)[]): Cmd => ({ args });
  const out: Cmd[] = [];
  if (resp === 3) out.push(c('HELLO', '3'));
  const sizes = [0, 1, 2, 100, 1000, 16 * 1024, 70_000, 300_000];
  sizes.forEach((n, i) => {
    const v = Buffer.alloc(n, 'x');
    for (let j = 0; j < n; j += 97) v[j] = 0x0d;
    for (let j = 1; j < n; j += 89) v[j] = 0x0a;
    out.push(c('SET', `${p}s${i}`, v), c('GET', `${p}s${i}`), c('STRLEN', `${p}s${i}`), c('GETRANGE', `${p}s${i}`, '0', '10'));
  });
  for (let i = 0; i < 20; i++) {
    out.push(
      c('HSET', `${p}h`, `f${i}`, `v${i}\r\n`),
      c('SADD', `${p}set`, `m${i}`),
      c('ZADD', `${p}z`, String(i / 3), `m${i}`),
      c('RPUSH', `${p}l`, `e${i}`),
      c('XADD', `${p}x`, '*', 'f', `v${i}`),
      c('INCRBYFLOAT', `${p}f`, '0.1'),
    );
  }
  out.push(
    c('MGET', `${p}s0`, `${p}nosuch`, `${p}s3`),
    c('HGETALL', `${p}h`),
    c('HGETALL', `${p}nosuch`),
    c('HRANDFIELD', `${p}h`, '-5', 'WITHVALUES'),
    c('HMGET', `${p}h`, 'f1', 'nosuch'),
    c('SMEMBERS', `${p}set`),
    c('SISMEMBER', `${p}set`, 'm1'),
    c('ZRANGE', `${p}z`, '0', '-1', 'WITHSCORES'),
    c('ZSCORE', `${p}z`, 'm4'),
    c('ZSCORE', `${p}z`, 'nosuch'),
    c('ZRANDMEMBER', `${p}z`, '3', 'WITHSCORES'),
    c('ZPOPMIN', `${p}z`),
    c('LRANGE', `${p}l`, '0', '-1'),
    c('LPOP', `${p}nosuch`),
    c('LPOS', `${p}l`, 'e3'),
    c('XRANGE', `${p}x`, '-', '+', 'COUNT', '5'),
    c('XINFO', 'STREAM', `${p}x`),
    c('XREAD', 'COUNT', '2', 'STREAMS', `${p}x`, '0'),
    c('GET', `${p}nosuch`),
    c('GET', `${p}h`), // WRONGTYPE
    c('NOSUCHCOMMAND', 'a'),
    c('TTL', `${p}s1`),
    c('EXISTS', `${p}s1`, `${p}s2`),
    c('TYPE', `${p}h`),
    c('OBJECT', 'ENCODING', `${p}h`),
    c('CONFIG', 'GET', 'maxmemory*'),
    c('CLIENT', 'INFO'),
    c('INFO', 'server'),
    c('MEMORY', 'STATS'),
    c('COMMAND', 'INFO', 'GET', 'SET', 'XREAD'),
    c('COMMAND', 'DOCS', 'GET'),
    c('SCAN', '0', 'COUNT', '5'),
    c('LOLWUT', 'VERSION', '5'),
    c('EVAL', "return {1, {2, 'x', {}}, {err='e'}, {ok='fine'}, false, true}", '0'),
    c('EVAL', 'redis.setresp(3); return {double=3.5}', '0'),
    c('EVAL', "redis.setresp(3); return {big_number='12345678901234567890123'}", '0'),
    c('EVAL', "redis.setresp(3); return {map={a=1, b={1,2}}, set={x=true}}", '0'),
    c('EVAL', 'return redis.error_reply("MY err")', '0'),
    c('MULTI'),
    c('GET', `${p}s1`),
    c('HGETALL', `${p}h`),
    c('EXEC'),
    c('WATCH', `${p}s1`),
    c('MULTI'),
    c('SET', `${p}s1`, 'y'),
    c('DISCARD'),
  );
  for (const t of ['string', 'integer', 'double', 'bignum', 'null', 'array', 'set', 'map', 'attrib', 'verbatim', 'true', 'false']) {
    out.push(c('DEBUG', 'PROTOCOL', t));
  }
  // in RESP3 a push comes first, then the command's own reply
  out.push({ args: ['DEBUG', 'PROTOCOL', 'push'], frames: resp === 3 ? 2 : 1 });
  for (let i = 0; i < 40; i++) out.push(c('PING'), c('ECHO', `e${i}`), c('GET', `${p}s${i % sizes.length}`));
  // pub/sub confirmations (pushes in RESP3) last: a subscribed RESP2 connection refuses most commands
  out.push(c('SUBSCRIBE', `${p}ch`), c('PING'), c('UNSUBSCRIBE', `${p}ch`), c('PSUBSCRIBE', `${p}*`), c('PUNSUBSCRIBE'));
  return out;
}

for (const resp of [2, 3] as const) {
  test(`real redis-server RESP${resp} replies to ${workload(resp).length} pipelined commands split into exactly one reply per command`, async () => {
    const cmds = workload(resp);
    const client = await RawClient.connect(redis.port);
    let raw: Buffer;
    let frames: Buffer[];
    try {
      const want = cmds.reduce((n, c) => n + (c.frames ?? 1), 0);
      client.write(Buffer.concat(cmds.map((c) => Buffer.from(cmd(...c.args), 'latin1'))));
      frames = await client.readFrames(want, 10_000);
      const extra = await client.readBytes(1000, 100);
      assert.equal(extra.length, 0, `unexpected bytes after the last reply: ${show(extra)}`);
      raw = Buffer.concat(frames);
    } finally {
      client.destroy();
    }
    if (resp === 3) {
      assert.ok(frames.some((f) => f[0] === 0x7c), 'an attribute reply was captured');
      assert.ok(frames.some((f) => f[0] === 0x3e), 'a push was captured');
      assert.ok(frames.some((f) => f[0] === 0x25), 'a map was captured');
      assert.ok(frames.some((f) => f[0] === 0x3d), 'a verbatim string was captured');
    }
    assert.ok(raw.length > 500_000, 'big bulks were captured');
    const expected = cumulative(frames.map((f) => f.length));
    // as one buffer, as it came off a 16 KB socket read, and at seeded random cuts
    assert.deepEqual(scanAll([raw]).ends, expected, 'whole');
    const reads: Buffer[] = [];
    for (let i = 0; i < raw.length; i += 16 * 1024) reads.push(raw.subarray(i, i + 16 * 1024));
    assert.deepEqual(scanAll(reads).ends, expected, '16 KB reads');
    fc.assert(
      fc.property(fc.array(fc.nat({ max: raw.length }), { maxLength: 300 }), (cuts) => {
        assert.deepEqual(scanAll(cutAt(raw, cuts)).ends, expected);
      }),
      { numRuns: 30, seed: resp },
    );
    // the small replies byte by byte (the big bulks would only make this slow)
    const small = frames.filter((f) => f.length < 4096);
    assert.deepEqual(scanAll(everyByte(Buffer.concat(small))).ends, cumulative(small.map((f) => f.length)), 'byte by byte');
  });
}

test('lengths below -1, or a sign or "?" out of place, are refused: they would move the cursor backwards', () => {
  // found by the mutation property above: a streamed-string chunk of length "5-0" used to scan to -48
  const counterexample = Buffer.from([42,50,13,10,33,52,13,10,69,82,82,32,13,10,36,63,13,10,59,53,45,48,13,10,124,48,13,10,42,52,13,10,40,48,13,10,61,55,13,10,116,120,116,58,13,13,0,13,10,43,0,0,13,10,45,69,82,82,32,0,0,0,0,0,13,10]);
  for (const bad of [counterexample, Buffer.from('$-2\r\n'), Buffer.from('*-5\r\n'), Buffer.from('$?\r\n;-1\r\n'), Buffer.from('$1-\r\n'), Buffer.from('*?1\r\n'), Buffer.from('$\r\n')]) {
    assert.throws(() => {
      const s = new ReplyScanner();
      for (let p = 0; p < bad.length; ) {
        const e = s.scan(bad, p);
        if (e < 0) break;
        p = e;
      }
    }, ReplyProtocolError, JSON.stringify(bad.toString('latin1')));
  }
});
