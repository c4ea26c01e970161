// KeyFanout (src/commands/key-fanout.ts) against one real Redis: a multi-key command split
// into groups and merged back must give the bytes the unsplit command gives, and leave the
// same data behind. (Shared by the cluster's split per node and the cache's MGET, issue 18.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeyFanout, fanoutSpecOf, validFanoutArity, FanoutReplyError, MergeKind, type FanoutSpec } from '../../src/commands/key-fanout.js';
import { startRedis, RawClient, cmd, describeDifference, type RedisServer } from '../helpers/index.js';

let redis: RedisServer;
const clients: Record<2 | 3, RawClient> = {} as Record<2 | 3, RawClient>;
before(async () => {
  redis = await startRedis();
  for (const protocol of [2, 3] as const) {
    clients[protocol] = await RawClient.connect(redis.port);
    clients[protocol].write(`HELLO ${protocol}\r\n`);
    await clients[protocol].readFrame();
  }
});
after(async () => {
  for (const c of Object.values(clients)) c.destroy();
  await redis?.stop();
});

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const spec = (name: string): FanoutSpec => fanoutSpecOf(name)!;

/** the keys the generated commands draw from (repeats happen), binary ones among them */
const POOL = ['a', 'b', '{t}c', '', '\x00\xff\r\n', 'k'.repeat(300), 'é', 'z z'];
/** `big`: a 20 kB string (named, so that a counterexample stays readable) */
type Value = { kind: 'missing' } | { kind: 'string'; value: string } | { kind: 'list' } | { kind: 'big' };
const valueArb: fc.Arbitrary<Value> = fc.oneof(
  fc.constant<Value>({ kind: 'missing' }),
  fc.constant<Value>({ kind: 'list' }),
  fc.constant<Value>({ kind: 'string', value: '' }),
  fc.uint8Array({ maxLength: 40 }).map((b): Value => ({ kind: 'string', value: Buffer.from(b).toString('latin1') })),
  fc.constant<Value>({ kind: 'big' }),
);
const dataArb = fc.array(valueArb, { minLength: POOL.length, maxLength: POOL.length });
const keysArb = fc.array(fc.integer({ min: 0, max: POOL.length - 1 }), { minLength: 1, maxLength: 12 });
/** pool index → group id: a function of the key, as a node or cached/missing is */
const groupingArb = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: POOL.length, maxLength: POOL.length });

async function roundTrip(c: RawClient, requests: string[]): Promise<Buffer[]> {
  c.write(requests.join(''));
  return c.readFrames(requests.length, 10_000);
}

async function load(c: RawClient, data: Value[]): Promise<void> {
  const reqs = [cmd('FLUSHALL')];
  data.forEach((v, i) => {
    if (v.kind === 'string') reqs.push(cmd('SET', POOL[i], v.value));
    if (v.kind === 'big') reqs.push(cmd('SET', POOL[i], 'v'.repeat(20_000)));
    if (v.kind === 'list') reqs.push(cmd('RPUSH', POOL[i], 'x', 'y'));
  });
  await roundTrip(c, reqs);
}

/** every pool key's type and content, to compare what two runs left behind */
async function state(c: RawClient): Promise<string> {
  const frames = await roundTrip(c, POOL.map((k) => cmd('DUMP', k)));
  return frames.map((f) => f.toString('latin1')).join('|');
}

function argsOf(name: string, keys: number[], values: string[]): Buffer[] {
  const s = spec(name.toLowerCase());
  const args = [latin1(name)];
  keys.forEach((k, i) => {
    args.push(latin1(POOL[k]));
    if (s.step === 2) args.push(latin1(values[i % values.length] ?? ''));
  });
  return args;
}

const encode = (args: Buffer[]) => cmd(...args);

test('split and merged replies are the bytes of the unsplit command, and leave the same data (RESP2 and RESP3)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(2 as const, 3 as const),
      fc.constantFrom('MGET', 'mget', 'DEL', 'UNLINK', 'EXISTS', 'TOUCH', 'MSET', 'mset'),
      dataArb,
      keysArb,
      groupingArb,
      fc.array(fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b).toString('latin1')), { minLength: 1, maxLength: 4 }),
      async (protocol, name, data, keys, grouping, values) => {
        const c = clients[protocol];
        const args = argsOf(name, keys, values);
        await load(c, data);
        const [expected] = await roundTrip(c, [encode(args)]);
        const expectedState = await state(c);

        await load(c, data);
        const fan = new KeyFanout(spec(name.toLowerCase()), args, (key) => grouping[POOL.indexOf(key.toString('latin1'))]);
        const requests = Array.from({ length: fan.groupCount }, (_, g) => fan.request(g).toString('latin1'));
        const replies = await roundTrip(c, requests);
        replies.forEach((r, g) => fan.setReply(g, r));
        assert.ok(fan.complete);
        const merged = fan.merge();
        assert.ok(merged.equals(expected), `${name} ${keys.join(',')} (RESP${protocol}): ${describeDifference(expected, merged)}`);
        assert.equal(await state(c), expectedState);
      },
    ),
    { numRuns: 300 },
  );
});

test('an MGET answered partly key by key (cache hits: their GET replies) and partly by Redis is the unsplit reply', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(2 as const, 3 as const), dataArb, keysArb, fc.array(fc.boolean(), { minLength: POOL.length, maxLength: POOL.length }), async (protocol, data, keys, cached) => {
      const c = clients[protocol];
      await load(c, data);
      const args = argsOf('MGET', keys, []);
      const [expected] = await roundTrip(c, [encode(args)]);
      // a key of another type is never cached (GET gives WRONGTYPE): it is a miss
      const isHit = (i: number) => cached[i] && data[i].kind !== 'list';
      const fan = new KeyFanout(spec('mget'), args, (key) => (isHit(POOL.indexOf(key.toString('latin1'))) ? 0 : 1));
      for (let g = 0; g < fan.groupCount; g++) {
        if (fan.groupId(g) === 0) {
          const gets = await roundTrip(c, fan.keysOf(g).map((k) => cmd('GET', fan.key(k))));
          fan.keysOf(g).forEach((k, i) => fan.setValue(k, gets[i]));
        } else {
          fan.setReply(g, (await roundTrip(c, [fan.request(g).toString('latin1')]))[0]);
        }
      }
      const merged = fan.merge();
      assert.ok(merged.equals(expected), describeDifference(expected, merged));
    }),
    { numRuns: 200 },
  );
});

test('an error from one group is the whole reply, as the unsplit command\'s error (NOPERM from a real ACL)', async () => {
  const admin = clients[2];
  await roundTrip(admin, [cmd('FLUSHALL'), cmd('ACL', 'SETUSER', 'limited', 'on', '>pw', '+@all', '~a*')]);
  const c = await RawClient.connect(redis.port);
  try {
    await roundTrip(c, [cmd('AUTH', 'limited', 'pw')]);
    for (const name of ['MGET', 'EXISTS', 'DEL']) {
      const args = [name, 'a1', 'b1', 'a2', 'b2'].map(latin1);
      const [expected] = await roundTrip(c, [encode(args)]);
      assert.match(expected.toString('latin1'), /^-NOPERM/);
      const fan = new KeyFanout(spec(name.toLowerCase()), args, (key) => key[0]);
      assert.equal(fan.groupCount, 2);
      const replies = await roundTrip(c, [0, 1].map((g) => fan.request(g).toString('latin1')));
      assert.match(replies[0].toString('latin1'), /^[*:]/, 'the a* group is allowed');
      replies.forEach((r, g) => fan.setReply(g, r));
      assert.ok(fan.merge().equals(expected), describeDifference(expected, fan.merge()));
    }
  } finally {
    c.destroy();
  }
});

test('the error of the group holding the earliest key wins; counts are summed; MSET is OK only when all are', () => {
  const mget = new KeyFanout(spec('mget'), ['MGET', 'x', 'y', 'z'].map(latin1), (k) => k[0]);
  mget.setReply(2, latin1('-ERR third\r\n'));
  mget.setReply(1, latin1('-ERR second\r\n'));
  assert.equal(mget.complete, false);
  mget.setReply(0, latin1('*1\r\n$1\r\nX\r\n'));
  assert.equal(mget.merge().toString('latin1'), '-ERR second\r\n');

  const del = new KeyFanout(spec('del'), ['DEL', 'x', 'y', 'x'].map(latin1), (k) => k[0]);
  assert.equal(del.groupCount, 2);
  assert.equal(del.request(0).toString('latin1'), cmd('DEL', 'x', 'x'));
  del.setReply(0, latin1(':1\r\n'));
  del.setReply(1, latin1(':12345678901\r\n'));
  assert.equal(del.merge().toString('latin1'), ':12345678902\r\n');

  const mset = new KeyFanout(spec('mset'), ['MSET', 'x', '1', 'y', '2', 'z', '3'].map(latin1), (k) => (k[0] === 0x79 ? 1 : 0));
  assert.deepEqual([mset.keysOf(0), mset.keysOf(1)], [[0, 2], [1]]);
  assert.equal(mset.request(0).toString('latin1'), cmd('MSET', 'x', '1', 'z', '3'));
  mset.setReply(0, latin1('+OK\r\n'));
  mset.setReply(1, latin1('-OOM command not allowed\r\n'));
  assert.equal(mset.merge().toString('latin1'), '-OOM command not allowed\r\n');
});

test('requests that one Redis would refuse are not split; broken sub-replies are refused', () => {
  assert.equal(validFanoutArity(spec('mget'), 1), false);
  assert.equal(validFanoutArity(spec('mset'), 4), false);
  assert.equal(validFanoutArity(spec('mset'), 5), true);
  assert.equal(fanoutSpecOf('get'), undefined);
  assert.equal(spec('unlink').kind, MergeKind.Sum);
  assert.throws(() => new KeyFanout(spec('mset'), ['MSET', 'k'].map(latin1), () => 0), RangeError);
  const fan = () => new KeyFanout(spec('mget'), ['MGET', 'x', 'y'].map(latin1), () => 0);
  assert.throws(() => fan().setReply(0, latin1('*1\r\n$1\r\nX\r\n')), FanoutReplyError, 'one value for two keys');
  assert.throws(() => fan().setReply(0, latin1(':1\r\n')), FanoutReplyError);
  assert.throws(() => fan().setReply(0, latin1('*2\r\n$1\r\nX\r\n')), FanoutReplyError, 'cut short');
  const f = fan();
  f.setReply(0, latin1('*2\r\n$1\r\nX\r\n$-1\r\n'));
  assert.throws(() => f.setReply(0, latin1('*2\r\n$1\r\nX\r\n$-1\r\n')), FanoutReplyError, 'answered twice');
  assert.equal(f.merge().toString('latin1'), '*2\r\n$1\r\nX\r\n$-1\r\n');
  assert.throws(() => fan().merge(), RangeError, 'nothing answered yet');
});
