// The whole-keyspace plans on a real cluster: the same data in a 3-master cluster and in one
// Redis; each plan's requests sent straight to the masters (as the router will), the replies
// merged, and the result compared with the same command on the single Redis, byte for byte
// (element order aside where Redis gives none: KEYS, SCAN), in RESP2 and RESP3.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ClusterDiscovery, addressLike } from '../../src/cluster/cluster-discovery.js';
import { keyHashSlot } from '../../src/cluster/key-slot.js';
import { keyspacePlan } from '../../src/cluster/keyspace-commands.js';
import type { ClusterNode, SlotMap } from '../../src/cluster/topology.js';
import { startCluster, type RedisCluster } from '../helpers/cluster.js';
import { startRedis, RawClient, cmd, describeDifference, frameEnd, type RedisServer } from '../helpers/index.js';

type Protocol = 2 | 3;
let cluster: RedisCluster;
let single: RedisServer;
let discovery: ClusterDiscovery;
let masters: ClusterNode[];
let map: SlotMap;
/** per protocol: one client per master (in the router's order: SlotMap.masters) and one to the single Redis */
const masterClients: Record<Protocol, RawClient[]> = { 2: [], 3: [] };
const singleClient = {} as Record<Protocol, RawClient>;

async function connect(port: number, protocol: Protocol): Promise<RawClient> {
  const c = await RawClient.connect(port);
  if (protocol === 3) {
    c.write(cmd('HELLO', '3'));
    await c.readFrame();
  }
  return c;
}

before(async () => {
  [cluster, single] = await Promise.all([startCluster(), startRedis()]);
  const seed = addressLike({ host: '', port: 0, tls: false, username: null, password: null, db: 0, display: '' }, '127.0.0.1', cluster.ports[0]);
  discovery = new ClusterDiscovery({ seeds: [seed], refreshIntervalMs: 0 });
  map = await discovery.start();
  masters = map.masters;
  assert.equal(masters.length, 3);
  for (const protocol of [2, 3] as const) {
    for (const m of masters) masterClients[protocol].push(await connect(m.port, protocol));
    singleClient[protocol] = await connect(single.port, protocol);
  }
});
after(async () => {
  discovery?.stop();
  for (const protocol of [2, 3] as const) {
    for (const c of masterClients[protocol]) c.destroy();
    singleClient[protocol]?.destroy();
  }
  await cluster?.stop();
  await single?.stop();
});

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const SELF = { host: '127.0.0.1', port: 6399 };

async function one(c: RawClient, request: string | Buffer): Promise<Buffer> {
  c.write(request);
  return c.readFrame(10_000);
}

/** The command through its plan, as the router will run it: requests to the masters, replies merged. */
async function viaPlan(protocol: Protocol, ...args: string[]): Promise<Buffer> {
  const argv = args.map(latin1);
  const plan = keyspacePlan(args[0].toLowerCase(), argv, { masters: masters.length, self: SELF });
  assert.ok(plan !== null, `${args[0]} has a plan`);
  const asCame = cmd(...argv);
  const send = (i: number) => one(masterClients[protocol][i], plan.requestFor(i) ?? asCame);
  const t = plan.target;
  let replies: Buffer[];
  switch (t.kind) {
    case 'local':
      replies = [];
      break;
    case 'all-masters':
      replies = await Promise.all(masters.map((_, i) => send(i)));
      break;
    case 'one-master':
      replies = [await send(t.index)];
      break;
    case 'slot':
      replies = [await send(masters.indexOf(map.masterOf(t.slot)!))];
      break;
  }
  return plan.merge(replies, protocol === 3);
}

const direct = (protocol: Protocol, ...args: string[]) => one(singleClient[protocol], cmd(...args));

function assertSameBytes(expected: Buffer, actual: Buffer, what: string): void {
  assert.ok(actual.equals(expected), `${what}: ${describeDifference(expected, actual)}`);
}

/** An aggregate's header byte, count, and elements sorted: for replies whose order Redis leaves open. */
function unordered(frame: Buffer): { head: string; elements: string[] } {
  const cr = frame.indexOf('\r\n');
  const n = Number(frame.toString('latin1', 1, cr));
  const elements: string[] = [];
  let p = cr + 2;
  for (let i = 0; i < n; i++) {
    const end = frameEnd(frame, p);
    elements.push(frame.toString('latin1', p, end));
    p = end;
  }
  assert.equal(p, frame.length, 'the frame holds its elements and nothing more');
  return { head: frame.toString('latin1', 0, cr), elements: elements.sort() };
}

// the data: strings over every master, hash-tagged keys in one slot, other types, binary names
const KEYS: Array<{ key: string; set: string[] }> = [];
for (let i = 0; i < 400; i++) KEYS.push({ key: `key:${i}`, set: ['SET', `key:${i}`, `v${i}`] });
for (let i = 0; i < 30; i++) KEYS.push({ key: `{user7}:${i}`, set: ['SET', `{user7}:${i}`, 'x'] });
for (let i = 0; i < 40; i++) KEYS.push({ key: `h:${i}`, set: ['HSET', `h:${i}`, 'f', 'v'] });
for (let i = 0; i < 20; i++) KEYS.push({ key: `l:${i}`, set: ['RPUSH', `l:${i}`, 'a', 'b'] });
for (const k of ['', '\x00\xff\r\n', 'é', 'z z', 'k'.repeat(300)]) KEYS.push({ key: k, set: ['SET', k, 'bin'] });
const ALL_KEYS = KEYS.map((k) => k.key);

async function pipeline(c: RawClient, requests: string[]): Promise<void> {
  if (requests.length === 0) return;
  c.write(requests.join(''));
  const replies = await c.readFrames(requests.length, 20_000);
  for (const r of replies) assert.notEqual(r[0], 0x2d, r.toString('latin1'));
}

/** The same commands on the single Redis and, each on its key's master, on the cluster. */
async function loadBoth(items: Array<{ key: string; set: string[] }>, flush = true): Promise<void> {
  if (flush) {
    await pipeline(singleClient[2], [cmd('FLUSHALL')]);
    await Promise.all(masterClients[2].map((c) => pipeline(c, [cmd('FLUSHALL')])));
  }
  await pipeline(singleClient[2], items.map((k) => cmd(...k.set)));
  const perMaster: string[][] = masters.map(() => []);
  for (const k of items) perMaster[masters.indexOf(map.masterOf(keyHashSlot(latin1(k.key)))!)].push(cmd(...k.set));
  await Promise.all(perMaster.map((reqs, i) => pipeline(masterClients[2][i], reqs)));
}

/** A whole SCAN; `step` runs one call and returns the reply. Every page must be well formed. */
async function fullScan(step: (cursor: string) => Promise<Buffer>): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  let rounds = 0;
  do {
    const reply = await step(cursor);
    assert.equal(frameEnd(reply, 0), reply.length);
    assert.equal(reply.toString('latin1', 0, 4), '*2\r\n', reply.toString('latin1'));
    const lenEnd = reply.indexOf('\r\n', 4);
    const cursorLen = Number(reply.toString('latin1', 5, lenEnd));
    cursor = reply.toString('latin1', lenEnd + 2, lenEnd + 2 + cursorLen);
    assert.match(cursor, /^(0|[1-9][0-9]*)$/);
    const page = unordered(reply.subarray(lenEnd + 2 + cursorLen + 2));
    keys.push(...page.elements);
    assert.ok(++rounds < 100_000, 'the scan ends');
  } while (cursor !== '0');
  return keys;
}

test('DBSIZE on the cluster is the single Redis\'s DBSIZE (RESP2 and RESP3)', async () => {
  await loadBoth(KEYS);
  for (const protocol of [2, 3] as const) {
    const expected = await direct(protocol, 'DBSIZE');
    assert.equal(expected.toString('latin1'), `:${KEYS.length}\r\n`);
    assertSameBytes(expected, await viaPlan(protocol, 'DBSIZE'), `DBSIZE RESP${protocol}`);
    assertSameBytes(await direct(protocol, 'DBSIZE', 'x'), await viaPlan(protocol, 'DBSIZE', 'x'), 'DBSIZE x');
  }
});

test('KEYS on the cluster holds the same keys as on the single Redis', async () => {
  await loadBoth(KEYS);
  for (const protocol of [2, 3] as const) {
    for (const pattern of ['*', 'key:1*', '{user7}*', 'h:?', 'nothing*', '\x00*']) {
      const expected = unordered(await direct(protocol, 'KEYS', pattern));
      assert.deepEqual(unordered(await viaPlan(protocol, 'KEYS', pattern)), expected, `KEYS ${pattern} RESP${protocol}`);
    }
    assertSameBytes(await direct(protocol, 'KEYS'), await viaPlan(protocol, 'KEYS'), 'KEYS without a pattern');
  }
});

test('a whole SCAN through the plans returns every key exactly once (COUNT 1, 10, 1000, MATCH, TYPE)', async () => {
  await loadBoth(KEYS);
  const cases: string[][] = [['COUNT', '1'], ['COUNT', '10'], ['COUNT', '1000'], [], ['MATCH', 'key:1*'], ['MATCH', '{user7}*', 'COUNT', '5'], ['TYPE', 'hash'], ['TYPE', 'list', 'COUNT', '3']];
  for (const protocol of [2, 3] as const) {
    for (const opts of cases) {
      const viaCluster = await fullScan((cursor) => viaPlan(protocol, 'SCAN', cursor, ...opts));
      const onSingle = await fullScan((cursor) => direct(protocol, 'SCAN', cursor, ...opts));
      assert.equal(new Set(viaCluster).size, viaCluster.length, `no key twice (SCAN ${opts.join(' ')})`);
      assert.deepEqual(viaCluster.sort(), [...new Set(onSingle)].sort(), `SCAN ${opts.join(' ')} RESP${protocol}`);
      if (opts.length === 0) assert.equal(viaCluster.length, ALL_KEYS.length);
    }
  }
  // masters with nothing to scan are passed over: one key in all, then none
  for (const items of [[KEYS[0]], []]) {
    await loadBoth(items);
    for (const protocol of [2, 3] as const) assert.deepEqual(await fullScan((cursor) => viaPlan(protocol, 'SCAN', cursor)), await fullScan((cursor) => direct(protocol, 'SCAN', cursor)));
  }
});

test('SCAN with a cursor no Redis hands out, or bad options, gets the single Redis\'s reply', async () => {
  for (const protocol of [2, 3] as const) {
    for (const args of [['SCAN', 'abc'], ['SCAN', '18446744073709551616'], ['SCAN', '1.5'], ['SCAN'], ['SCAN', '0', 'COUNT', '0'], ['SCAN', '0', 'MATCH'], ['SCAN', '0', 'BOGUS', 'x']]) {
      assertSameBytes(await direct(protocol, ...args), await viaPlan(protocol, ...args), args.join(' '));
    }
  }
  // an invented but well-formed cursor is a position like any other: the reply is a page, the scan goes on
  await fc.assert(
    fc.asyncProperty(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), async (c) => {
      const reply = await viaPlan(2, 'SCAN', c.toString(), 'COUNT', '3');
      assert.equal(frameEnd(reply, 0), reply.length);
      assert.equal(reply.toString('latin1', 0, 5), '*2\r\n$');
    }),
    { numRuns: 30 },
  );
});

test('RANDOMKEY gives an existing key, never nil while a master has keys, and nil as one Redis does when all are empty', async () => {
  await loadBoth(KEYS);
  const keys = new Set(ALL_KEYS);
  for (let i = 0; i < 30; i++) {
    const r = await viaPlan(2, 'RANDOMKEY');
    assert.equal(r[0], 0x24);
    assert.ok(keys.has(r.toString('latin1', r.indexOf('\r\n') + 2, r.length - 2)), r.toString('latin1'));
  }
  // one key, on one master: the other two are empty
  await loadBoth([KEYS[0]]);
  for (let i = 0; i < 20; i++) for (const protocol of [2, 3] as const) assertSameBytes(await direct(protocol, 'RANDOMKEY'), await viaPlan(protocol, 'RANDOMKEY'), 'RANDOMKEY, one key');
  await loadBoth([]);
  for (const protocol of [2, 3] as const) assertSameBytes(await direct(protocol, 'RANDOMKEY'), await viaPlan(protocol, 'RANDOMKEY'), `RANDOMKEY, empty, RESP${protocol}`);
});

test('FLUSHALL and FLUSHDB reach every master and answer as one Redis does', async () => {
  for (const protocol of [2, 3] as const) {
    for (const args of [['FLUSHALL'], ['FLUSHDB'], ['FLUSHALL', 'ASYNC'], ['FLUSHDB', 'SYNC']]) {
      await loadBoth(KEYS);
      assertSameBytes(await direct(protocol, ...args), await viaPlan(protocol, ...args), args.join(' '));
      for (const c of masterClients[2]) assert.equal((await one(c, cmd('DBSIZE'))).toString('latin1'), ':0\r\n', 'every master is empty');
    }
    assertSameBytes(await direct(protocol, 'FLUSHALL', 'x'), await viaPlan(protocol, 'FLUSHALL', 'x'), 'FLUSHALL x');
  }
});

test('SCRIPT LOAD, EXISTS and FLUSH answer as one Redis does; a script exists when every master has it', async () => {
  const a = 'return 1';
  const b = 'return 2';
  for (const protocol of [2, 3] as const) {
    await direct(protocol, 'SCRIPT', 'FLUSH');
    assertSameBytes(await direct(protocol, 'SCRIPT', 'FLUSH'), await viaPlan(protocol, 'SCRIPT', 'FLUSH'), 'SCRIPT FLUSH');
    const sha = await direct(protocol, 'SCRIPT', 'LOAD', a);
    assertSameBytes(sha, await viaPlan(protocol, 'SCRIPT', 'LOAD', a), 'SCRIPT LOAD');
    for (const c of masterClients[2]) assertSameBytes(sha, await one(c, cmd('SCRIPT', 'LOAD', a)), 'loaded on every master');
    // b only on one master (as if loaded there directly): not there for a client of the proxy
    const shaB = (await one(masterClients[2][1], cmd('SCRIPT', 'LOAD', b))).toString('latin1').split('\r\n')[1];
    const shaA = sha.toString('latin1').split('\r\n')[1];
    const exists = ['SCRIPT', 'EXISTS', shaA, shaB, 'f'.repeat(40), shaA];
    assertSameBytes(await direct(protocol, ...exists), await viaPlan(protocol, ...exists), 'SCRIPT EXISTS');
    assertSameBytes(await direct(protocol, 'SCRIPT', 'EXISTS'), await viaPlan(protocol, 'SCRIPT', 'EXISTS'), 'SCRIPT EXISTS without a SHA');
    assertSameBytes(await direct(protocol, 'SCRIPT', 'LOAD', 'return +'), await viaPlan(protocol, 'SCRIPT', 'LOAD', 'return +'), 'SCRIPT LOAD of bad Lua');
    assertSameBytes(await direct(protocol, 'SCRIPT', 'FLUSH'), await viaPlan(protocol, 'SCRIPT', 'FLUSH'), 'SCRIPT FLUSH');
    assertSameBytes(await direct(protocol, 'SCRIPT', 'EXISTS', shaA, shaB), await viaPlan(protocol, 'SCRIPT', 'EXISTS', shaA, shaB), 'SCRIPT EXISTS after FLUSH');
    assertSameBytes(await direct(protocol, 'SCRIPT', 'KILL'), await viaPlan(protocol, 'SCRIPT', 'KILL'), 'SCRIPT KILL with none running');
  }
});

test('FUNCTION LOAD, DELETE and FLUSH reach every master and answer as one Redis does', async () => {
  const lib = (name: string) => `#!lua name=${name}\nredis.register_function('${name}_f', function(keys, args) return 1 end)`;
  for (const protocol of [2, 3] as const) {
    const steps: string[][] = [
      ['FUNCTION', 'FLUSH'],
      ['FUNCTION', 'LOAD', lib('mylib')],
      ['FUNCTION', 'LOAD', lib('mylib')], // already exists: the error
      ['FUNCTION', 'LOAD', 'REPLACE', lib('mylib')],
      ['FUNCTION', 'LOAD', lib('other')],
      ['FUNCTION', 'DELETE', 'mylib'],
      ['FUNCTION', 'DELETE', 'mylib'], // not found: the error
      ['FUNCTION', 'LOAD', 'not lua'],
      ['FUNCTION', 'FLUSH', 'ASYNC'],
      ['FUNCTION', 'KILL'],
    ];
    for (const s of steps) {
      const expected = await direct(protocol, ...s);
      assertSameBytes(expected, await viaPlan(protocol, ...s), s.slice(0, 3).join(' '));
      if (s[1] === 'LOAD' && expected[0] !== 0x2d) {
        const name = /name=(\w+)/.exec(s[s.length - 1])![1];
        for (const c of masterClients[2]) assert.match((await one(c, cmd('FUNCTION', 'LIST'))).toString('latin1'), new RegExp(`library_name\r\n\\$${name.length}\r\n${name}\r\n`), `${name} on every master`);
      }
    }
  }
});

/** The `db0:...` lines of an INFO reply. */
function keyspaceOf(reply: Buffer): string {
  const text = reply.toString('latin1');
  const at = text.indexOf('# Keyspace\r\n');
  assert.ok(at >= 0, 'a Keyspace section');
  return text.slice(at).split('\r\n\r\n')[0];
}

test('INFO keyspace on the cluster is the single Redis\'s (keys and expires summed); a full INFO carries that section', async () => {
  await loadBoth(KEYS);
  for (const protocol of [2, 3] as const) {
    for (const args of [['INFO', 'keyspace'], ['INFO', 'KEYSPACE']]) {
      assertSameBytes(await direct(protocol, ...args), await viaPlan(protocol, ...args), `${args.join(' ')} RESP${protocol}`);
    }
    for (const args of [['INFO'], ['INFO', 'all'], ['INFO', 'default'], ['INFO', 'everything'], ['INFO', 'cluster', 'keyspace']]) {
      const expected = await direct(protocol, ...args);
      const merged = await viaPlan(protocol, ...args);
      assert.equal(frameEnd(merged, 0), merged.length);
      assert.equal(merged[0], expected[0], 'a bulk string in RESP2, a verbatim one in RESP3, as Redis');
      assert.equal(keyspaceOf(merged), keyspaceOf(expected));
      assert.match(merged.toString('latin1'), /cluster_enabled:1/, 'the other sections are a master\'s own');
    }
    await loadBoth([]);
    assertSameBytes(await direct(protocol, 'INFO', 'keyspace'), await viaPlan(protocol, 'INFO', 'keyspace'), 'INFO keyspace, nothing stored');
    await loadBoth(KEYS);
    const memory = await viaPlan(protocol, 'INFO', 'memory');
    assert.match(memory.toString('latin1'), /used_memory:/);
  }
  // keys with a TTL: counts as one Redis, avg_ttl the expires-weighted average of the masters'
  const withTtl = KEYS.slice(0, 90).map((k, i) => ({ key: k.key, set: ['SET', k.key, 'v', 'EX', String(1000 + i * 10)] }));
  await loadBoth(withTtl);
  const line = (b: Buffer) => /db0:keys=(\d+),expires=(\d+),avg_ttl=(\d+)/.exec(b.toString('latin1'));
  await new Promise((r) => setTimeout(r, 300));
  const perMaster = (await Promise.all(masterClients[2].map((c) => one(c, cmd('INFO', 'keyspace'))))).map(line);
  const merged = line(await viaPlan(2, 'INFO', 'keyspace'));
  const expected = line(await direct(2, 'INFO', 'keyspace'));
  assert.ok(merged && expected && perMaster.every((m) => m !== null));
  assert.equal(merged[1], expected[1]);
  assert.equal(merged[2], expected[2]);
  assert.ok(Number(merged[3]) > 0, 'the masters have estimated their TTLs by now');
  const expires = perMaster.reduce((s, m) => s + Number(m![2]), 0);
  const weighted = perMaster.reduce((s, m) => s + Number(m![2]) * Number(m![3]), 0);
  // the masters' estimates move on their own timers: allow for one step between the two reads
  assert.ok(Math.abs(Number(merged[3]) - weighted / expires) <= Math.max(1, (weighted / expires) * 0.05), `avg_ttl ${merged[3]} vs ${weighted / expires}`);
});

test('CLUSTER COUNTKEYSINSLOT and GETKEYSINSLOT are answered by the slot\'s master', async () => {
  await loadBoth(KEYS);
  const bySlot = new Map<number, string[]>();
  for (const k of ALL_KEYS) {
    const s = keyHashSlot(latin1(k));
    bySlot.set(s, [...(bySlot.get(s) ?? []), k]);
  }
  const slots = [keyHashSlot(latin1('{user7}')), keyHashSlot(latin1('key:1')), keyHashSlot(latin1('h:3')), keyHashSlot(latin1('')), 0, 16383];
  for (const protocol of [2, 3] as const) {
    for (const slot of slots) {
      const keys = bySlot.get(slot) ?? [];
      assert.equal((await viaPlan(protocol, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toString('latin1'), `:${keys.length}\r\n`);
      const got = unordered(await viaPlan(protocol, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '1000'));
      assert.deepEqual(got.elements, keys.map((k) => `$${latin1(k).length}\r\n${k}\r\n`).sort());
    }
    const node = masterClients[protocol][0];
    for (const args of [['CLUSTER', 'COUNTKEYSINSLOT', '16384'], ['CLUSTER', 'COUNTKEYSINSLOT', 'x'], ['CLUSTER', 'GETKEYSINSLOT', '1', '-1'], ['CLUSTER', 'SLOTS', 'x'], ['CLUSTER'], ['CLUSTER', 'NOSUCH']]) {
      assertSameBytes(await one(node, cmd(...args)), await viaPlan(protocol, ...args), `${args.join(' ')}: the node's own error`);
    }
  }
});

test('CLUSTER KEYSLOT answered here is a node\'s answer', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(2 as const, 3 as const), fc.oneof(fc.constantFrom(...ALL_KEYS, '{}', '{a}{b}', 'x{}y', '{{a}}'), fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b).toString('latin1'))), async (protocol, key) => {
      assertSameBytes(await one(masterClients[protocol][2], cmd('CLUSTER', 'KEYSLOT', key)), await viaPlan(protocol, 'CLUSTER', 'KEYSLOT', key), JSON.stringify(key));
    }),
    { numRuns: 200 },
  );
});
