// The whole-keyspace plans without Redis: SCAN's cursor encoding, a full SCAN over fake
// masters, and the merges (sum, concatenation, AND, random, INFO keyspace) as properties.
// test/cluster/keyspace-commands.test.ts checks the same plans against a real cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { keyspacePlan, mergeRandom, KeyspaceReplyError, type KeyspacePlan } from '../../src/cluster/keyspace-commands.js';
import { decodeScanCursor, encodeScanCursor, MAX_CURSOR, nextScanCursor } from '../../src/cluster/keyspace-scan.js';
import { mergeKeyspaceLines, mergeInfoReplies } from '../../src/cluster/keyspace-info.js';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { frameEnd, cmd } from '../helpers/index.js';

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const SELF = { host: '127.0.0.1', port: 7777 };
const view = (masters: number) => ({ masters, self: SELF });
const planOf = (masters: number, ...args: string[]): KeyspacePlan => {
  const p = keyspacePlan(args[0].toLowerCase(), args.map(latin1), view(masters));
  assert.ok(p !== null, `${args.join(' ')} is a keyspace command`);
  return p;
};
const int = (n: number) => latin1(`:${n}\r\n`);
const bulk = (s: string) => latin1(`$${Buffer.byteLength(s, 'latin1')}\r\n${s}\r\n`);
const array = (els: Buffer[]) => Buffer.concat([latin1(`*${els.length}\r\n`), ...els]);

/** A whole frame and nothing else (checked with the tests' own RESP splitter). */
function assertOneFrame(b: Buffer): void {
  assert.equal(frameEnd(b, 0), b.length, `one whole frame: ${JSON.stringify(b.toString('latin1'))}`);
}

test('a SCAN cursor decodes to the master and master cursor it was encoded from; 0 is master 0 at its start', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), fc.nat(), fc.bigInt({ min: 0n, max: (1n << 54n) - 1n }), (masters, m, cursor) => {
      const master = m % masters;
      const text = encodeScanCursor(master, cursor, masters);
      assert.ok(text !== null);
      assert.match(text, /^(0|[1-9][0-9]*)$/);
      assert.ok(BigInt(text) <= MAX_CURSOR);
      assert.deepEqual(decodeScanCursor(text, masters), { master, cursor });
    }),
  );
  for (const masters of [1, 3, 7]) assert.deepEqual(decodeScanCursor('0', masters), { master: 0, cursor: 0n });
  assert.equal(encodeScanCursor(0, 0n, 3), '0');
});

test('any text as a SCAN cursor decodes without throwing: to a master in range, or to null when Redis could not have handed it out', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 64 }), fc.oneof(fc.string(), fc.bigInt({ min: 0n, max: 1n << 70n }).map(String), fc.constantFrom('-1', '+5', ' 5', '', '18446744073709551615', '18446744073709551616', '007')), (masters, text) => {
      const p = decodeScanCursor(text, masters);
      const wellFormed = /^[0-9]+$/.test(text) && BigInt(text) <= MAX_CURSOR;
      assert.equal(p !== null, wellFormed, text);
      if (p !== null) {
        assert.ok(p.master >= 0 && p.master < masters);
        assert.equal(encodeScanCursor(p.master, p.cursor, masters), BigInt(text).toString());
      }
      // the plan for it never throws either, and names a master in range
      const plan = planOf(masters, 'SCAN', text);
      assert.equal(plan.target.kind, 'one-master');
      if (plan.target.kind === 'one-master') assert.ok(plan.target.index < masters);
    }),
  );
});

test('a master that finishes hands the client the next master\'s start; the last one hands 0', () => {
  assert.equal(nextScanCursor(0, 0n, 3), '1');
  assert.equal(nextScanCursor(1, 0n, 3), '2');
  assert.equal(nextScanCursor(2, 0n, 3), '0');
  assert.equal(nextScanCursor(0, 0n, 1), '0');
  // a master cursor that would not fit 64 bits ends that master's part
  assert.equal(nextScanCursor(1, MAX_CURSOR, 3), '2');
});

/** A master's SCAN over a fixed list: the cursor is a position (Redis's is a reversed-bit one; any works). */
function fakeScan(keys: string[], request: Buffer): Buffer {
  const args = parseRequest(request);
  const cursor = Number(args[1]);
  const ci = args.findIndex((a) => a.toUpperCase() === 'COUNT');
  const count = ci < 0 ? 10 : Number(args[ci + 1]);
  const page = keys.slice(cursor, cursor + count);
  const next = cursor + count >= keys.length ? 0 : cursor + count;
  return array([bulk(String(next)), array(page.map(bulk))]);
}

function parseRequest(b: Buffer): string[] {
  const out: string[] = [];
  const s = b.toString('latin1');
  const lines = s.split('\r\n');
  const n = Number(lines[0].slice(1));
  for (let i = 0; i < n; i++) out.push(lines[2 + 2 * i]);
  return out;
}

test('a whole SCAN through the plans returns every key of every master exactly once, whatever the COUNT', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.nat({ max: 40 }), { maxLength: 30 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 1, max: 50 }),
      (shape, count) => {
        // distinct key names per master
        const masters = shape.map((ks, m) => [...new Set(ks)].map((k) => `m${m}k${k}`));
        const seen: string[] = [];
        let cursor = '0';
        let rounds = 0;
        do {
          const plan = planOf(masters.length, 'SCAN', cursor, 'COUNT', String(count));
          assert.equal(plan.target.kind, 'one-master');
          const index = plan.target.kind === 'one-master' ? plan.target.index : -1;
          const request = plan.requestFor(index) ?? latin1(cmd('SCAN', cursor, 'COUNT', String(count)));
          const merged = plan.merge([fakeScan(masters[index], request)], false);
          assertOneFrame(merged);
          const [c, ...keys] = parseScanReply(merged);
          cursor = c;
          seen.push(...keys);
          assert.ok(++rounds < 10_000, 'the scan ends');
        } while (cursor !== '0');
        assert.deepEqual([...seen].sort(), masters.flat().sort());
      },
    ),
  );
});

function parseScanReply(b: Buffer): string[] {
  const lines = b.toString('latin1').split('\r\n');
  // *2 $n cursor *k ($n key)*
  const out = [lines[2]];
  const k = Number(lines[3].slice(1));
  for (let i = 0; i < k; i++) out.push(lines[5 + 2 * i]);
  return out;
}

test('a SCAN cursor the proxy would not hand out goes to the first master as it came; its error is the reply', () => {
  for (const cursor of ['abc', '-1', '18446744073709551616', '']) {
    const plan = planOf(3, 'SCAN', cursor);
    assert.deepEqual(plan.target, { kind: 'one-master', index: 0 });
    assert.equal(plan.requestFor(0), null);
    const err = latin1('-ERR invalid cursor\r\n');
    assert.ok(plan.merge([err], false).equals(err));
  }
  const noCursor = planOf(3, 'SCAN');
  assert.equal(noCursor.requestFor(0), null);
});

test('SCAN passes MATCH, COUNT and TYPE on, with the master\'s cursor in place of the client\'s', () => {
  const plan = planOf(3, 'SCAN', String(5n * 3n + 2n), 'MATCH', 'user:*', 'COUNT', '7', 'TYPE', 'hash');
  assert.deepEqual(plan.target, { kind: 'one-master', index: 2 });
  assert.equal(plan.requestFor(2)!.toString('latin1'), cmd('SCAN', '5', 'MATCH', 'user:*', 'COUNT', '7', 'TYPE', 'hash'));
  // one master: the cursor is the master's own, sent as it came
  assert.equal(planOf(1, 'SCAN', '12345').requestFor(0), null);
});

const errorArb = fc.constantFrom(latin1('-ERR boom\r\n'), latin1('-NOPERM no\r\n'), latin1('!5\r\nERR x\r\n'));

test('DBSIZE is the sum of the masters\' counts; the first error, if any, is the reply', () => {
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 1e9 }), { minLength: 1, maxLength: 8 }), fc.boolean(), (counts, resp3) => {
      const plan = planOf(counts.length, 'DBSIZE');
      assert.deepEqual(plan.target, { kind: 'all-masters' });
      assert.equal(plan.requestFor(0), null);
      assert.ok(plan.merge(counts.map(int), resp3).equals(int(counts.reduce((a, b) => a + b, 0))));
    }),
  );
  fc.assert(
    fc.property(fc.array(fc.option(errorArb, { nil: null }), { minLength: 1, maxLength: 6 }), (errs) => {
      const replies = errs.map((e) => e ?? int(3));
      const first = errs.find((e) => e !== null);
      const merged = planOf(replies.length, 'DBSIZE').merge(replies, false);
      if (first) assert.ok(merged.equals(first));
      else assert.ok(merged.equals(int(3 * replies.length)));
    }),
  );
  assert.throws(() => planOf(2, 'DBSIZE').merge([int(1)], false), KeyspaceReplyError);
  assert.throws(() => planOf(2, 'DBSIZE').merge([int(1), latin1('+OK\r\n')], false), KeyspaceReplyError);
});

test('KEYS is one array holding every master\'s keys; SCRIPT EXISTS is 1 only where every master says 1', () => {
  fc.assert(
    fc.property(fc.array(fc.array(fc.string(), { maxLength: 10 }), { minLength: 1, maxLength: 5 }), (lists) => {
      const merged = planOf(lists.length, 'KEYS', '*').merge(lists.map((l) => array(l.map(bulk))), false);
      assertOneFrame(merged);
      assert.ok(merged.equals(array(lists.flat().map(bulk))));
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), { minLength: 5, maxLength: 5 }), fc.integer({ min: 1, max: 5 }), (masters, bits, n) => {
      const replies = bits.slice(0, masters).map((row) => array(row.slice(0, n).map((b) => int(b ? 1 : 0))));
      const expected = array(Array.from({ length: n }, (_, i) => int(bits.slice(0, masters).every((row) => row[i]) ? 1 : 0)));
      assert.ok(planOf(masters, 'SCRIPT', 'EXISTS', ...Array(n).fill('x')).merge(replies, false).equals(expected));
    }),
  );
});

test('RANDOMKEY takes a key from a master that has one; nil only when every master is empty', () => {
  fc.assert(
    fc.property(fc.array(fc.option(fc.string({ minLength: 1 }), { nil: null }), { minLength: 1, maxLength: 6 }), fc.boolean(), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (keys, resp3, r) => {
      const nil = latin1(resp3 ? '_\r\n' : '$-1\r\n');
      const replies = keys.map((k) => (k === null ? nil : bulk(k)));
      const merged = mergeRandom(() => r)(replies, resp3);
      if (keys.every((k) => k === null)) assert.ok(merged.equals(nil));
      else assert.ok(keys.some((k) => k !== null && bulk(k).equals(merged)));
    }),
  );
});

test('RANDOMKEY\'s nil is in the client\'s protocol', () => {
  assert.ok(mergeRandom()([latin1('$-1\r\n'), latin1('_\r\n')], true).equals(latin1('_\r\n')));
  assert.ok(mergeRandom()([latin1('_\r\n'), latin1('_\r\n')], false).equals(latin1('$-1\r\n')));
});

test('FLUSHALL, SCRIPT FLUSH, FUNCTION DELETE are +OK when every master says so, else the first error', () => {
  const ok = latin1('+OK\r\n');
  for (const args of [['FLUSHALL'], ['FLUSHDB', 'ASYNC'], ['SCRIPT', 'FLUSH'], ['FUNCTION', 'FLUSH'], ['FUNCTION', 'DELETE', 'lib']]) {
    const plan = planOf(3, ...args);
    assert.deepEqual(plan.target, { kind: 'all-masters' });
    assert.ok(plan.merge([ok, ok, ok], false).equals(ok));
    const err = latin1('-ERR Library not found\r\n');
    assert.ok(plan.merge([ok, err, ok], false).equals(err));
  }
  // SCRIPT KILL: done when one master was running a script
  const notBusy = latin1('-NOTBUSY No scripts in execution right now.\r\n');
  assert.ok(planOf(3, 'SCRIPT', 'KILL').merge([notBusy, ok, notBusy], false).equals(ok));
  assert.ok(planOf(3, 'SCRIPT', 'KILL').merge([notBusy, notBusy, notBusy], false).equals(notBusy));
});

test('INFO keyspace: counts summed per database, avg_ttl weighted by expires', () => {
  const lineArb = fc.record({ keys: fc.integer({ min: 1, max: 1e6 }), expires: fc.nat({ max: 1000 }), ttl: fc.nat({ max: 1e7 }) });
  fc.assert(
    fc.property(fc.array(fc.option(lineArb, { nil: null }), { minLength: 1, maxLength: 6 }), (dbs) => {
      const lines = dbs.map((d) => (d === null ? [] : [`db0:keys=${d.keys},expires=${d.expires},avg_ttl=${d.expires === 0 ? 0 : d.ttl}`]));
      const merged = mergeKeyspaceLines(lines);
      const present = dbs.filter((d) => d !== null);
      if (present.length === 0) return assert.deepEqual(merged, []);
      const keys = present.reduce((s, d) => s + d.keys, 0);
      const expires = present.reduce((s, d) => s + d.expires, 0);
      const weighted = present.reduce((s, d) => s + (d.expires === 0 ? 0 : d.ttl) * d.expires, 0);
      assert.equal(merged.length, 1);
      const m = /^db0:keys=(\d+),expires=(\d+),avg_ttl=(\d+)$/.exec(merged[0]);
      assert.ok(m, merged[0]);
      assert.equal(Number(m[1]), keys);
      assert.equal(Number(m[2]), expires);
      assert.ok(Math.abs(Number(m[3]) - (expires === 0 ? 0 : weighted / expires)) <= 0.5, merged[0]);
    }),
  );
  // fields a newer Redis adds are summed; databases in order
  assert.deepEqual(mergeKeyspaceLines([['db0:keys=1,expires=0,avg_ttl=0,subexpiry=2', 'db3:keys=1,expires=0,avg_ttl=0'], ['db0:keys=2,expires=0,avg_ttl=0,subexpiry=1']]), [
    'db0:keys=3,expires=0,avg_ttl=0,subexpiry=3',
    'db3:keys=1,expires=0,avg_ttl=0',
  ]);
});

test('a full INFO keeps the first master\'s sections and merges its Keyspace section, bulk in RESP2 and verbatim in RESP3', () => {
  const text = (ks: string) => `# Server\r\nredis_version:7.0.15\r\n\r\n# Keyspace\r\n${ks}`;
  const replies = [bulk(text('db0:keys=2,expires=0,avg_ttl=0\r\n')), bulk(text('')), bulk(text('db0:keys=5,expires=0,avg_ttl=0\r\n'))];
  assert.ok(mergeInfoReplies(replies, false).equals(bulk(text('db0:keys=7,expires=0,avg_ttl=0\r\n'))));
  const verbatim = (s: string) => latin1(`=${s.length + 4}\r\ntxt:${s}\r\n`);
  const merged = planOf(2, 'INFO').merge([verbatim(text('')), verbatim(text('db0:keys=1,expires=0,avg_ttl=0\r\n'))], true);
  assert.ok(merged.equals(verbatim(text('db0:keys=1,expires=0,avg_ttl=0\r\n'))));
  // the client's protocol decides, not the masters' connections'
  assert.ok(mergeInfoReplies(replies, true).equals(verbatim(text('db0:keys=7,expires=0,avg_ttl=0\r\n'))));
  // a keyspace section that is followed by another one
  const mid = (ks: string) => `# Keyspace\r\n${ks}\r\n# Other\r\nx:1\r\n`;
  assert.ok(mergeInfoReplies([bulk(mid('db0:keys=1,expires=0,avg_ttl=0\r\n')), bulk(mid('db0:keys=1,expires=0,avg_ttl=0\r\n'))], false).equals(bulk(mid('db0:keys=2,expires=0,avg_ttl=0\r\n'))));
  // INFO without the keyspace: the first master only, as it came
  assert.deepEqual(planOf(3, 'INFO', 'memory').target, { kind: 'one-master', index: 0 });
  for (const s of ['keyspace', 'KEYSPACE', 'all', 'everything', 'default']) assert.deepEqual(planOf(3, 'INFO', 'server', s).target, { kind: 'all-masters' });
});

test('CLUSTER KEYSLOT is answered here with the key\'s slot; COUNTKEYSINSLOT and GETKEYSINSLOT go to the slot', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 30 }), fc.boolean(), (key, resp3) => {
      const p = keyspacePlan('cluster', [latin1('CLUSTER'), latin1('KEYSLOT'), Buffer.from(key)], view(3))!;
      assert.deepEqual(p.target, { kind: 'local' });
      assert.ok(p.merge([], resp3).equals(int(keyHashSlot(key))));
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 16383 }), (slot) => {
      assert.deepEqual(planOf(3, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)).target, { kind: 'slot', slot });
      assert.deepEqual(planOf(3, 'cluster', 'getkeysinslot', String(slot), '10').target, { kind: 'slot', slot });
    }),
  );
  for (const bad of ['16384', '-1', 'abc', '01', '']) assert.deepEqual(planOf(3, 'CLUSTER', 'COUNTKEYSINSLOT', bad).target, { kind: 'one-master', index: 0 });
});

test('the CLUSTER self-description replies are whole frames in RESP2 and RESP3, and name one node at the proxy\'s address', () => {
  for (const resp3 of [false, true]) {
    for (const sub of ['SLOTS', 'SHARDS', 'NODES', 'INFO', 'MYID']) {
      const p = planOf(3, 'CLUSTER', sub);
      assert.deepEqual(p.target, { kind: 'local' });
      const reply = p.merge([], resp3);
      assertOneFrame(reply);
      if (sub !== 'INFO') assert.ok(reply.includes(planOf(3, 'CLUSTER', 'MYID').merge([], false).subarray(5, 45)), sub);
    }
  }
  assert.ok(planOf(3, 'CLUSTER', 'NODES').merge([], false).toString('latin1').includes(' 127.0.0.1:7777@0 myself,master - 0 0 0 connected 0-16383\n'));
  // a wrong arity goes to a node, which answers its own error
  assert.deepEqual(planOf(3, 'CLUSTER', 'SLOTS', 'x').target, { kind: 'one-master', index: 0 });
  assert.deepEqual(planOf(3, 'CLUSTER').target, { kind: 'one-master', index: 0 });
  // what would act on one node of the cluster behind is refused here
  const reset = planOf(3, 'CLUSTER', 'RESET', 'HARD');
  assert.deepEqual(reset.target, { kind: 'local' });
  assert.match(reset.merge([], false).toString('latin1'), /^-ERR CLUSTER RESET is not available through the proxy/);
});

test('commands that are not whole-keyspace ones get no plan', () => {
  for (const args of [['GET', 'k'], ['MGET', 'a', 'b'], ['PING'], ['SCRIPT', 'DEBUG', 'YES'], ['FUNCTION', 'LIST'], ['SCRIPT'], ['SELECT', '1']]) {
    assert.equal(keyspacePlan(args[0].toLowerCase(), args.map(latin1), view(3)), null, args.join(' '));
  }
});
