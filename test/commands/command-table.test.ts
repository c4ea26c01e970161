// CommandTable against a real redis-server: the table is built from Redis's own COMMAND reply,
// and keysOf must name the same keys as Redis's own COMMAND GETKEYS for the same arguments.
//
// Comparison rules (order-insensitive, duplicates counted):
//  - Redis names keys L            -> keysOf must return exactly L. null ("any key may be
//                                     touched", the table's conservative answer) is accepted
//                                     only where the case says so: commands whose key specs
//                                     Redis itself cannot walk (an `unknown` spec, or one
//                                     flagged `incomplete`) and which Redis answers through
//                                     a command-specific fallback.
//  - Redis replies with an error   -> keysOf must return [] or null (either is fine: the
//    (no key arguments, invalid       command names no key Redis would touch). An empty
//    arguments) or []                 GETKEYS list for a malformed command is treated the same.
//  - Redis refuses the arity         -> anything: Redis rejects such a command before running it,
//    ("Invalid number of arguments")    and keysOf does not check arity (nor needs to).
//  - one known GETKEYS quirk: Redis 7.0 calls `PFMERGE dest` (no sources) "Invalid arguments",
//    yet the command runs and creates dest (checked below), so keysOf must name dest there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CommandTable, type CommandInfo } from '../../src/commands/command-table.js';
import { asString, decodeReply, field, RedisErrorReply, type RespValue } from '../../src/resp/reply-value.js';
import { cmd, RawClient, startRedis, type RedisServer } from '../helpers/index.js';

let redis: RedisServer;
let table2: CommandTable; // built from the RESP2 COMMAND reply
let table3: CommandTable; // built from the RESP3 COMMAND reply
let rawCommands: RespValue[];

async function commandReply(resp: 2 | 3): Promise<RespValue> {
  const c = await RawClient.connect(redis.port);
  try {
    if (resp === 3) {
      c.write(cmd('HELLO', '3'));
      await c.readFrame();
    }
    c.write(cmd('COMMAND'));
    const frame = await c.readFrame(10_000);
    const d = decodeReply(frame, 0);
    assert.ok(d !== null && d.end === frame.length, 'COMMAND reply decodes whole');
    return d.value;
  } finally {
    c.destroy();
  }
}

before(async () => {
  redis = await startRedis();
  const r2 = await commandReply(2);
  const r3 = await commandReply(3);
  assert.ok(Array.isArray(r2) && Array.isArray(r3));
  rawCommands = r2;
  table2 = CommandTable.fromCommandReply(r2);
  table3 = CommandTable.fromCommandReply(r3);
});
after(async () => {
  await redis?.stop();
});

/** Runs COMMAND GETKEYS for each argv on one pipelined connection: keys, or the error text. */
async function getKeys(argvs: string[][]): Promise<(string[] | RedisErrorReply)[]> {
  const c = await RawClient.connect(redis.port);
  try {
    c.write(Buffer.concat(argvs.map((a) => Buffer.from(cmd('COMMAND', 'GETKEYS', ...a), 'latin1'))));
    const frames = await c.readFrames(argvs.length, 10_000);
    return frames.map((f) => {
      const v = decodeReply(f, 0)!.value;
      if (v instanceof RedisErrorReply) return v;
      assert.ok(Array.isArray(v), `GETKEYS reply ${f.toString('latin1')}`);
      return v.map(asString);
    });
  } finally {
    c.destroy();
  }
}

const toArgs = (argv: string[]): Buffer[] => argv.map((a) => Buffer.from(a, 'latin1'));

function keysVia(table: CommandTable, argv: string[]): { info: CommandInfo | undefined; keys: string[] | null } {
  const args = toArgs(argv);
  const info = table.lookup(argv[0].toLowerCase(), args);
  if (info === undefined) return { info, keys: [] };
  const keys = CommandTable.keysOf(info, args);
  return { info, keys: keys === null ? null : keys.map((k) => k.toString('latin1')) };
}

const sorted = (xs: string[]): string[] => [...xs].sort();

/** Checks one case under the rules at the top of the file; returns a failure message or null. */
function judge(argv: string[], redisKeys: string[] | RedisErrorReply, nullOk: boolean, table: CommandTable, which: string): string | null {
  const { keys } = keysVia(table, argv); // an unknown command names no key: []
  const what = `${which} ${JSON.stringify(argv)}`;
  if (redisKeys instanceof RedisErrorReply && /Invalid number of arguments/.test(redisKeys.message)) return null;
  if (isPfmergeWithoutSources(argv)) redisKeys = [argv[1]];
  if (redisKeys instanceof RedisErrorReply || redisKeys.length === 0) {
    if (keys === null || keys.length === 0) return null;
    const r = redisKeys instanceof RedisErrorReply ? `error "${redisKeys.message}"` : '[] (no keys)';
    return `${what}: Redis GETKEYS gives ${r}, keysOf gives ${JSON.stringify(keys)}`;
  }
  if (keys === null) return nullOk ? null : `${what}: Redis GETKEYS gives ${JSON.stringify(redisKeys)}, keysOf gives null`;
  if (JSON.stringify(sorted(keys)) !== JSON.stringify(sorted(redisKeys))) {
    return `${what}: Redis GETKEYS gives ${JSON.stringify(redisKeys)}, keysOf gives ${JSON.stringify(keys)}`;
  }
  return null;
}

const isPfmergeWithoutSources = (argv: string[]): boolean => argv.length === 2 && argv[0].toLowerCase() === 'pfmerge';

type Case = { argv: string[]; nullOk?: boolean };
const c = (line: string, nullOk = false): Case => ({ argv: splitLine(line), nullOk });
/** Splits on spaces; "" stands for an empty argument. */
function splitLine(line: string): string[] {
  return line.split(' ').map((a) => (a === '""' ? '' : a));
}

/** Well-formed commands: keysOf must match GETKEYS exactly (null only where marked). */
const WELL_FORMED: Case[] = [
  c('SET k v'),
  c('SET k v EX 10 GET'),
  c('GET k'),
  c('GETEX k PX 10'),
  c('GETEX k PERSIST'),
  c('GETDEL k'),
  c('MSET a 1 b 2 c 3'),
  c('MSETNX a 1 b 2'),
  c('MGET a b c'),
  c('DEL a b c'),
  c('UNLINK a'),
  c('EXISTS a b a'),
  c('TOUCH a b'),
  c('RENAME a b'),
  c('RENAMENX a b'),
  c('COPY a b'),
  c('COPY a b DB 1 REPLACE'),
  c('SMOVE src dst m'),
  c('SINTERSTORE d a b'),
  c('SUNIONSTORE d a'),
  c('SDIFF a b c'),
  c('SINTERCARD 2 a b LIMIT 3'),
  c('ZUNIONSTORE dest 2 a b WEIGHTS 1 2 AGGREGATE MAX'),
  c('ZINTERSTORE dest 1 a'),
  c('ZDIFFSTORE dest 3 a b c'),
  c('ZUNION 2 a b WITHSCORES'),
  c('ZDIFF 1 a'),
  c('ZINTERCARD 2 a b'),
  c('ZINTERCARD 3 a b c LIMIT 1'),
  c('ZRANGESTORE dst src 0 -1'),
  c('ZMPOP 2 a b MIN COUNT 2'),
  c('BZMPOP 0 1 a MAX'),
  c('BZPOPMIN a b 0'),
  c('EVAL return 0'),
  c('EVAL return 2 k1 k2 a1 a2'),
  c('EVALSHA 0123456789abcdef0123456789abcdef01234567 1 k a'),
  c('EVAL_RO return 1 k'),
  c('EVALSHA_RO 0123456789abcdef0123456789abcdef01234567 2 k1 k2'),
  c('FCALL f 0'),
  c('FCALL f 2 a b x y'),
  c('FCALL_RO f 1 a'),
  c('SORT k', true), // SORT's second key spec is `unknown` (BY/GET patterns): null is its documented answer
  c('SORT k LIMIT 0 10 ALPHA DESC', true),
  c('SORT k STORE d', true),
  c('SORT k BY w_* GET o_* GET # STORE d', true),
  c('SORT_RO k BY w_*', true),
  c('XREAD STREAMS s1 s2 0 0'),
  c('XREAD COUNT 2 BLOCK 0 STREAMS s $'),
  c('XREADGROUP GROUP g c STREAMS s1 s2 > >'),
  c('XREADGROUP GROUP g c COUNT 1 NOACK STREAMS s >'),
  c('XADD s * f v'),
  c('XAUTOCLAIM s g c 0 0'),
  c('XINFO STREAM s'),
  c('XINFO GROUPS s'),
  c('XGROUP CREATE s g $ MKSTREAM'),
  c('XGROUP DESTROY s g'),
  c('XGROUP CREATECONSUMER s g c'),
  c('XGROUP SETID s g 0'),
  c('LMPOP 2 a b LEFT COUNT 2'),
  c('BLMPOP 0 2 a b RIGHT'),
  c('LMOVE a b LEFT RIGHT'),
  c('BLMOVE a b LEFT RIGHT 0'),
  c('RPOPLPUSH a b'),
  c('BRPOPLPUSH a b 0'),
  c('BLPOP a b c 0'),
  c('BRPOP a 0'),
  c('GEORADIUS src 0 0 1 km'),
  c('GEORADIUS src 0 0 1 km STORE dst'),
  c('GEORADIUS src 0 0 1 km STOREDIST dst'),
  c('GEORADIUSBYMEMBER src m 1 km STORE dst'),
  c('GEOSEARCHSTORE dst src FROMMEMBER m BYRADIUS 1 km'),
  c('MIGRATE host 6379 k 0 5000', true),
  c('MIGRATE host 6379 "" 0 5000 KEYS a b', true),
  c('MIGRATE host 6379 "" 0 5000 COPY REPLACE AUTH2 u p KEYS a b c', true),
  c('OBJECT ENCODING k'),
  c('OBJECT FREQ k'),
  c('MEMORY USAGE k SAMPLES 5'),
  c('BITOP AND d a b'),
  c('BITOP NOT d a'),
  c('BITCOUNT k 0 -1'),
  c('PFMERGE d a b'),
  c('PFCOUNT a b'),
  c('PFMERGE d'),
  c('HSET h f v f2 v2'),
  c('HGETALL h'),
  c('LCS a b'),
  c('WATCH a b'),
  c('DUMP k'),
  c('RESTORE k 0 payload'),
  c('EXPIRE k 10 NX'),
  c('INCRBYFLOAT k 1.5'),
  c('SETRANGE k 0 v'),
  c('LPOS l e RANK 1'),
];

/** Malformed or keyless commands: mostly "Redis errors -> [] or null". */
const MALFORMED: Case[] = [
  c('PUBLISH ch msg'),
  c('SPUBLISH ch msg'),
  c('SSUBSCRIBE ch1 ch2'),
  c('PING hello'),
  c('KEYS *'),
  c('FLUSHALL ASYNC'),
  c('SCRIPT LOAD x'),
  c('CLIENT TRACKING on'),
  c('NOSUCHCOMMAND a b'),
  c('GET'),
  c('SET k'),
  c('ZUNIONSTORE dest 3 a b'),
  c('ZUNIONSTORE dest 0 a'),
  c('ZUNIONSTORE dest -1 a'),
  c('ZUNIONSTORE dest abc a'),
  c('ZINTERCARD 0 a'),
  c('EVAL return 3 a b'),
  c('EVAL return -1 a'),
  c('EVAL return abc'),
  c('FCALL f 2 a'),
  c('LMPOP 3 a b LEFT'),
  c('XREAD STREAMS a b 0'),
  c('MSET a 1 b'),
  c('GEORADIUS src 0 0 1 km STORE'),
  c('BITOP AND d'),
];

/** GETKEYS for every case (one pipeline), judged against both tables; returns the failures. */
async function checkCases(cases: Case[]): Promise<string[]> {
  const redisKeys = await getKeys(cases.map((x) => x.argv));
  const failures: string[] = [];
  cases.forEach((x, i) => {
    // the two tables must agree; the RESP2-built one is then judged against Redis
    const k2 = keysVia(table2, x.argv).keys;
    const k3 = keysVia(table3, x.argv).keys;
    if (JSON.stringify(k2) !== JSON.stringify(k3)) {
      failures.push(`${JSON.stringify(x.argv)}: RESP2-built table gives ${JSON.stringify(k2)}, RESP3-built ${JSON.stringify(k3)}`);
    }
    const f = judge(x.argv, redisKeys[i], x.nullOk ?? false, table2, 'keys of');
    if (f) failures.push(f);
  });
  return failures;
}

test('the table holds every command COMMAND lists, from either protocol', () => {
  assert.ok(rawCommands.length > 200, `COMMAND listed ${rawCommands.length} commands`);
  assert.equal(table2.size, rawCommands.length);
  assert.equal(table3.size, rawCommands.length);
  for (const raw of rawCommands) {
    const name = asString((raw as RespValue[])[0]);
    const args = toArgs([name]);
    assert.ok(table2.lookup(name, args), `${name} in the RESP2-built table`);
    assert.ok(table3.lookup(name, args), `${name} in the RESP3-built table`);
  }
});

test('lookup resolves subcommands case-insensitively and falls back to the container', () => {
  for (const t of [table2, table3]) {
    assert.equal(t.lookup('object', toArgs(['OBJECT', 'encoding', 'k']))?.name, 'object|encoding');
    assert.equal(t.lookup('object', toArgs(['OBJECT', 'ENCODING', 'k']))?.name, 'object|encoding');
    assert.equal(t.lookup('xgroup', toArgs(['XGROUP', 'CreateConsumer', 's', 'g', 'c']))?.name, 'xgroup|createconsumer');
    assert.equal(t.lookup('client', toArgs(['CLIENT', 'TRACKING', 'on']))?.name, 'client|tracking');
    assert.equal(t.lookup('object', toArgs(['OBJECT', 'NOSUCH']))?.name, 'object');
    assert.equal(t.lookup('object', toArgs(['OBJECT']))?.name, 'object');
    assert.equal(t.lookup('get', toArgs(['GET', 'k']))?.name, 'get');
    assert.equal(t.lookup('nosuchcommand', toArgs(['NOSUCHCOMMAND'])), undefined);
  }
});

test(`keysOf matches COMMAND GETKEYS for ${WELL_FORMED.length} well-formed commands`, async () => {
  const failures = await checkCases(WELL_FORMED);
  assert.deepEqual(failures, [], `${failures.length} mismatch(es):\n${failures.join('\n')}`);
});

test('the GETKEYS quirk the rules exempt is real: PFMERGE dest with no sources writes dest', async () => {
  const key = `pfmerge:${process.pid}`;
  assert.deepEqual((await getKeys([['PFMERGE', key]]))[0], new RedisErrorReply('ERR Invalid arguments specified for command'));
  assert.equal((await redis.cli('PFMERGE', key)).trim(), 'OK');
  assert.equal((await redis.cli('EXISTS', key)).trim(), '1');
  await redis.cli('DEL', key);
  for (const t of [table2, table3]) assert.deepEqual(keysVia(t, ['PFMERGE', key]).keys, [key]);
});

test(`keysOf names no key where Redis names none, for ${MALFORMED.length} malformed or keyless commands`, async () => {
  const failures = await checkCases(MALFORMED);
  assert.deepEqual(failures, [], `${failures.length} mismatch(es):\n${failures.join('\n')}`);
});

/** Key-spec flags of a raw COMMAND entry (e.g. "not_key", "incomplete"), and whether any spec is unknown. */
function specTraits(raw: RespValue): { flags: Set<string>; unknown: boolean } {
  const flags = new Set<string>();
  let unknown = false;
  const specs = (raw as RespValue[])[8];
  if (Array.isArray(specs)) {
    for (const s of specs) {
      const f = field(s, 'flags');
      if (Array.isArray(f)) for (const x of f) flags.add(asString(x).toLowerCase());
      if (asString(field(field(s, 'begin_search') ?? [], 'type') ?? '') === 'unknown') unknown = true;
      if (asString(field(field(s, 'find_keys') ?? [], 'type') ?? '') === 'unknown') unknown = true;
    }
  }
  return { flags, unknown };
}

test('every command and subcommand, called with placeholder arguments of its minimal arity and a few more, names the keys GETKEYS names', async () => {
  // A sweep over the whole table: argv = name + a1..an (and "1".."n", so numkeys parse).
  const cases: Case[] = [];
  const visit = (raw: RespValue, container: string | null) => {
    const r = raw as RespValue[];
    const full = asString(r[0]).toLowerCase();
    const arity = Number(r[1]);
    const subs = r[9];
    if (Array.isArray(subs) && subs.length > 0) {
      for (const s of subs) visit(s, full);
      return;
    }
    const head = container === null ? [full] : [container, full.slice(full.indexOf('|') + 1)];
    const min = Math.abs(arity);
    const counts = arity > 0 ? [arity] : [min, min + 1, min + 2, min + 3];
    const t = specTraits(raw);
    // null is the documented answer where Redis's own spec walk gives up (unknown / incomplete specs)
    const nullOk = t.unknown || t.flags.has('incomplete');
    for (const n of counts) {
      const extra = n - head.length;
      if (extra < 0) continue;
      cases.push({ argv: [...head, ...Array.from({ length: extra }, (_, i) => `a${i + 1}`)], nullOk });
      cases.push({ argv: [...head, ...Array.from({ length: extra }, (_, i) => String(i + 1))], nullOk });
    }
  };
  for (const raw of rawCommands) visit(raw, null);
  assert.ok(cases.length > 500, `${cases.length} sweep cases`);
  const failures = await checkCases(cases);
  const shown = failures.slice(0, 60).join('\n') + (failures.length > 60 ? `\n... and ${failures.length - 60} more` : '');
  assert.deepEqual(failures, [], `${failures.length} of ${cases.length} sweep cases differ:\n${shown}`);
});

test('without key specs (a Redis 6 shaped COMMAND reply), keysOf uses first/last/step, and null for movable keys', async () => {
  // Redis 6 entries have 7 fields (no tips, key specs or subcommands); container commands
  // are left out, since a 7.0 container entry is not what Redis 6 listed for them.
  const legacyRaw = rawCommands.filter((r) => !(Array.isArray((r as RespValue[])[9]) && ((r as RespValue[])[9] as RespValue[]).length > 0));
  const legacy = CommandTable.fromCommandReply(legacyRaw.map((r) => (r as RespValue[]).slice(0, 7)));
  const cases = WELL_FORMED.filter((x) => legacy.lookup(x.argv[0].toLowerCase(), toArgs(x.argv)) !== undefined);
  assert.ok(cases.length > 70);
  const redisKeys = await getKeys(cases.map((x) => x.argv));
  const failures: string[] = [];
  cases.forEach((x, i) => {
    const info = legacy.lookup(x.argv[0].toLowerCase(), toArgs(x.argv))!;
    assert.equal(info.keySpecs.length, 0);
    const keys = CommandTable.keysOf(info, toArgs(x.argv));
    if (info.movable) {
      if (keys !== null) failures.push(`${JSON.stringify(x.argv)}: movable keys, keysOf gives ${JSON.stringify(keys.map(String))} instead of null`);
      return;
    }
    const f = judge(x.argv, redisKeys[i], false, legacy, 'legacy keys of');
    if (f) failures.push(f);
  });
  assert.deepEqual(failures, [], failures.join('\n'));
});

test('writes: true for write commands and for EVAL/EVALSHA/FCALL, false for reads, read-only scripts and PUBLISH', () => {
  const writes = ['set', 'del', 'mset', 'incr', 'lpush', 'xadd', 'lmove', 'bitop', 'copy', 'getex', 'getdel', 'sort', 'zunionstore', 'georadius', 'migrate', 'restore', 'flushall', 'eval', 'evalsha', 'fcall'];
  const reads = ['get', 'mget', 'eval_ro', 'evalsha_ro', 'fcall_ro', 'publish', 'spublish', 'sort_ro', 'xread', 'ping', 'exists', 'georadius_ro', 'lcs', 'hgetall', 'subscribe'];
  for (const t of [table2, table3]) {
    for (const name of writes) assert.equal(t.lookup(name, toArgs([name]))?.writes, true, `${name} writes`);
    for (const name of reads) assert.equal(t.lookup(name, toArgs([name]))?.writes, false, `${name} does not write`);
    assert.equal(t.lookup('xgroup', toArgs(['XGROUP', 'CREATE', 's', 'g', '$']))?.writes, true, 'XGROUP CREATE writes');
    assert.equal(t.lookup('object', toArgs(['OBJECT', 'ENCODING', 'k']))?.writes, false, 'OBJECT ENCODING does not write');
    assert.equal(t.lookup('auth', toArgs(['AUTH', 'x']))?.noAuth, true, 'AUTH runs before authentication');
    assert.equal(t.lookup('get', toArgs(['GET', 'k']))?.noAuth, false);
  }
  // every command Redis flags `write` is a write for the table, and nothing else but the script calls
  for (const raw of rawCommands) {
    const r = raw as RespValue[];
    const name = asString(r[0]).toLowerCase();
    const flagged = (r[2] as RespValue[]).map((f) => asString(f).toLowerCase()).includes('write');
    const expected = flagged || ['eval', 'evalsha', 'fcall'].includes(name);
    assert.equal(table2.lookup(name, toArgs([name]))?.writes, expected, name);
  }
});

test('a simple route is what keysOf says: a write names exactly its first argument, for every command in the table', () => {
  let simpleWrites = 0;
  for (const raw of rawCommands) {
    const name = asString((raw as RespValue[])[0]).toLowerCase();
    const arity = Number((raw as RespValue[])[1]);
    const route = table2.routeOf(Buffer.from(name.toUpperCase()), 0, name.length);
    assert.equal(route.name, name);
    if (!route.simple) continue;
    const info = route.info as CommandInfo;
    assert.equal(info.subcommands, null, `${name}: a simple route has no subcommands`);
    if (!route.writes) continue;
    simpleWrites++;
    for (let n = Math.max(2, Math.abs(arity)); n <= Math.abs(arity) + 3; n++) {
      const args = [name, ...Array.from({ length: n - 1 }, (_, i) => `a${i + 1}`)].map((a) => Buffer.from(a));
      const keys = CommandTable.keysOf(info, args);
      assert.deepEqual(keys?.map(String), ['a1'], `${name} with ${n} arguments`);
      if (arity > 0) break;
    }
  }
  assert.ok(simpleWrites > 50, `${simpleWrites} simple writes (SET, INCR, HSET, LPUSH, ...)`);
  for (const name of ['eval', 'mset', 'del', 'flushdb', 'client', 'select', 'multi', 'subscribe', 'object']) {
    assert.equal(table2.routeOf(Buffer.from(name), 0, name.length).simple, false, `${name} takes the general path`);
  }
  for (const name of ['set', 'incr', 'hset', 'lpush', 'get', 'ping', 'mget']) {
    assert.equal(table2.routeOf(Buffer.from(name), 0, name.length).simple, true, `${name} is simple`);
  }
});

test('routes are found in any case, from a name inside a larger buffer, and say what may be shared', () => {
  const buf = Buffer.from('*2\r\n$5\r\nbLPoP\r\n');
  const r = table2.routeOf(buf, 8, 5);
  assert.equal(r.name, 'blpop');
  assert.equal(r.blocking, true);
  assert.equal(r.shareable, false, 'a blocking command needs a connection of its own');
  assert.equal(table2.routeOf(Buffer.from('SET'), 0, 3), table2.routeOf(Buffer.from('SET'), 0, 3), 'remembered per raw name');
  assert.equal(table2.routeOf(Buffer.from('Wait'), 0, 4).shareable, false, 'WAIT is connection-bound');
  assert.equal(table2.routeOf(Buffer.from('set'), 0, 3).shareable, true);
  const unknown = table2.routeOf(Buffer.from('NOSUCHCMD'), 0, 9);
  assert.equal(unknown.info, undefined);
  assert.equal(unknown.simple, false, 'unknown commands take the general path');
});

test('the last name looked up is remembered by its bytes: names of one length never get each other\'s route', () => {
  const get = table2.routeOf(Buffer.from('xxGETyy'), 2, 3);
  assert.equal(get.name, 'get');
  // same length, other bytes, right after: not the memo's
  assert.equal(table2.routeOf(Buffer.from('SET'), 0, 3).name, 'set');
  assert.equal(table2.routeOf(Buffer.from('GEX'), 0, 3).info, undefined);
  assert.equal(table2.routeOf(Buffer.from('GET'), 0, 3), get, 'the same bytes: the same route');
  // a buffer reused with new bytes (as the read buffer is) is compared again
  const buf = Buffer.from('INCR');
  assert.equal(table2.routeOf(buf, 0, 4).name, 'incr');
  buf.write('DECR');
  assert.equal(table2.routeOf(buf, 0, 4).name, 'decr');
  // names longer than the memo still route
  assert.equal(table2.routeOf(Buffer.from('ZRANGEBYSCORE'), 0, 13).name, 'zrangebyscore');
  assert.equal(table2.routeOf(Buffer.from('zrangebyscore'), 0, 13).name, 'zrangebyscore');
});
