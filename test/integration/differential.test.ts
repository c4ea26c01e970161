// Differential tests: each scripted client conversation is played byte for byte against a
// direct redis-server and against the proxy (in front of a second, identically configured
// redis-server), and the reply bytes must be identical.
//
// Both servers are flushed (directly, not through the proxy) before every conversation.
// A conversation must also be right against Redis itself: its direct run may not contain any
// harness marker (wrong reply count, unexpected close/silence, extra bytes), and `shows` lists
// bytes the direct run must contain, proving the conversation exercises what its name says.
//
// DIFF_AGAINST=redis replaces the proxy by a direct connection to the second server, to
// check the corpus itself (redis vs redis must pass).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, conversation, describeDifference, escapeBytes, RawClient, sleep, startProxy, startRedis, type ProxyProcess, type RedisServer, type Step } from '../helpers/index.js';

const AGAINST = process.env.DIFF_AGAINST ?? 'proxy';
const PASSWORD = 'sekret-pw';
const REDIS_ARGS = ['--enable-debug-command', 'yes'];

// ---------------------------------------------------------------------------------------
// servers: main pair (direct / behind the proxy) and a requirepass pair

interface Side {
  redis: RedisServer;
  /** connection used to flush before each conversation (never goes through the proxy) */
  admin: RawClient;
  /** port the conversation talks to */
  port: number;
}
interface Pair {
  direct: Side;
  proxied: Side;
}

const procs: { redis: RedisServer[]; proxies: ProxyProcess[] } = { redis: [], proxies: [] };

async function adminCommand(c: RawClient, ...args: string[]): Promise<string> {
  c.write(cmd(...args));
  return (await c.readFrame()).toString('latin1');
}

async function makePair(extraArgs: string[], password?: string): Promise<Pair> {
  const [a, b] = await Promise.all([startRedis({ args: [...REDIS_ARGS, ...extraArgs] }), startRedis({ args: [...REDIS_ARGS, ...extraArgs] })]);
  procs.redis.push(a, b);
  const sides: Side[] = [];
  for (const r of [a, b]) {
    const admin = await RawClient.connect(r.port);
    if (password) assert.equal(await adminCommand(admin, 'AUTH', password), '+OK\r\n');
    // an ACL user for the NOPERM conversation: may read/write allowed:*, nothing else
    assert.equal(
      await adminCommand(admin, 'ACL', 'SETUSER', 'limited', 'on', '>limited-pw', '~allowed:*', 'resetchannels', '&news', '-@all', '+@read', '+@connection', '+set', '+publish', '+subscribe'),
      '+OK\r\n',
    );
    sides.push({ redis: r, admin, port: r.port });
  }
  let proxyPort = b.port;
  if (AGAINST === 'proxy') {
    // the proxy's own connections authenticate with the password from the redis:// address
    const addr = password ? `redis://:${password}@127.0.0.1:${b.port}` : undefined;
    const p = await startProxy({ redisPort: b.port, addr });
    procs.proxies.push(p);
    proxyPort = p.port;
  }
  return { direct: sides[0], proxied: { ...sides[1], port: proxyPort } };
}

// pairs are made on first use, so that a failure to set one up fails only its own tests
const pairs: Partial<Record<'main' | 'auth', Promise<Pair>>> = {};
function getPair(which: 'main' | 'auth'): Promise<Pair> {
  pairs[which] ??= which === 'main' ? makePair([]) : makePair(['--requirepass', PASSWORD], PASSWORD);
  return pairs[which]!;
}

before(async () => {
  await getPair('main');
});

after(async () => {
  for (const p of Object.values(pairs)) {
    const pair = await p.catch(() => null);
    pair?.direct.admin.destroy();
    pair?.proxied.admin.destroy();
  }
  await Promise.all(procs.proxies.map((p) => p.stop()));
  await Promise.all(procs.redis.map((r) => r.stop()));
});

// ---------------------------------------------------------------------------------------
// corpus DSL

type Args = Array<string | number>;
/** one step per command, each a round trip expecting one reply, on connection `conn` */
const on = (conn: string, ...cmds: Args[]): Step[] => cmds.map((a) => ({ conn, send: cmd(...a), expect: 1 }));
/** round trips on connection 'a' */
const rt = (...cmds: Args[]): Step[] => on('a', ...cmds);
/** all commands in one write, expecting one reply each */
const pipe = (conn: string, ...cmds: Args[]): Step => ({ conn, send: cmds.map((a) => cmd(...a)).join(''), expect: cmds.length });

/**
 * Normalisation: HELLO's reply carries the connection's client id ("id" => integer). A
 * proxied client's backend connection has a different id than a direct one (and ids differ
 * between any two servers anyway), so the value is replaced by a placeholder. Only the id
 * value is touched; the rest of the HELLO reply must match byte for byte.
 */
const helloId = (b: Buffer): Buffer =>
  Buffer.from(b.toString('latin1').replace(/(\$2\r\nid\r\n):\d+\r\n/g, '$1:<client-id>\r\n'), 'latin1');

interface Case {
  name: string;
  steps: Step[];
  /** which server pair (default main) */
  pair?: 'main' | 'auth';
  normalise?: (b: Buffer) => Buffer;
  /** byte strings the direct run must contain */
  shows: string[];
  timeoutMs?: number;
}

const HELLO3: Step = { send: cmd('HELLO', '3'), expect: 1 };
const ONE_MB = Buffer.from(Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7 + (i >> 8)) % 256));

function bigPipeline(): string {
  let s = '';
  for (let i = 0; i < 10_000; i++) {
    const k = `key:${i % 97}`;
    if (i % 4 === 0) s += cmd('SET', k, `v${i}`);
    else if (i % 4 === 1) s += cmd('GET', k);
    else if (i % 4 === 2) s += cmd('INCR', 'counter');
    else s += cmd('GET', `key:${(i * 13) % 97}`);
  }
  return s;
}

const CASES: Case[] = [
  // ---------------- data types
  {
    name: 'strings: SET/GET/APPEND/INCR/GETRANGE/MSET/MGET/SETNX/GETSET/GETDEL/GETEX/SET GET read back',
    steps: rt(
      ['SET', 's', 'hello'],
      ['GET', 's'],
      ['APPEND', 's', ' world'],
      ['GET', 's'],
      ['STRLEN', 's'],
      ['GETRANGE', 's', 0, 4],
      ['SETRANGE', 's', 6, 'W'],
      ['GET', 's'],
      ['INCR', 'n'],
      ['INCRBY', 'n', 41],
      ['DECR', 'n'],
      ['GET', 'n'],
      ['INCRBYFLOAT', 'f', '1.5'],
      ['INCRBYFLOAT', 'f', '0.25'],
      ['GET', 'f'],
      ['MSET', 'a', '1', 'b', '2'],
      ['MGET', 'a', 'b', 'nosuch'],
      ['SETNX', 'a', '9'],
      ['GET', 'a'],
      ['GETSET', 'a', '3'],
      ['GET', 'a'],
      ['SET', 'a', '4', 'GET'],
      ['GET', 'a'],
      ['GETDEL', 'a'],
      ['GET', 'a'],
      ['SET', 'e', 'v', 'EX', 100],
      ['TTL', 'e'],
      ['GETEX', 'e', 'PERSIST'],
      ['TTL', 'e'],
      ['SET', 'x', 'old'],
      ['SET', 'x', 'new', 'XX'],
      ['GET', 'x'],
      ['SET', 'x', 'nx', 'NX'],
      ['GET', 'x'],
      ['DEL', 'x', 'b'],
      ['GET', 'x'],
      ['GET', 'b'],
      ['EXISTS', 's', 'x'],
      ['TYPE', 's'],
      ['OBJECT', 'ENCODING', 'n'],
      ['EXPIRE', 's', 1000],
      ['TTL', 's'],
      ['PERSIST', 's'],
      ['RENAME', 's', 's2'],
      ['GET', 's'],
      ['GET', 's2'],
      ['DBSIZE'],
    ),
    shows: ['$11\r\nhello world\r\n', '$4\r\n1.75\r\n', '*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n'],
  },
  {
    name: 'hashes: HSET/HGET/HGETALL/HMGET/HINCRBY/HINCRBYFLOAT/HDEL/HLEN/HEXISTS/HKEYS/HVALS/HSETNX/HSTRLEN',
    steps: rt(
      ['HSET', 'h', 'f1', 'v1', 'f2', 'v2', 'n', '5'],
      ['HGET', 'h', 'f1'],
      ['HGET', 'h', 'nosuch'],
      ['HGETALL', 'h'],
      ['HMGET', 'h', 'f2', 'nosuch', 'f1'],
      ['HINCRBY', 'h', 'n', 10],
      ['HINCRBYFLOAT', 'h', 'fl', '2.5'],
      ['HDEL', 'h', 'f1', 'nosuch'],
      ['HLEN', 'h'],
      ['HEXISTS', 'h', 'f1'],
      ['HKEYS', 'h'],
      ['HVALS', 'h'],
      ['HSETNX', 'h', 'f2', 'x'],
      ['HSETNX', 'h', 'f3', 'x'],
      ['HSTRLEN', 'h', 'f2'],
      ['HGETALL', 'h'],
      ['HGETALL', 'nosuch'],
    ),
    shows: ['*6\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n$1\r\nn\r\n$1\r\n5\r\n'],
  },
  {
    name: 'lists: RPUSH/LPUSH/LRANGE/LLEN/LPOP/RPOP count/LINDEX/LSET/LINSERT/LREM/LTRIM/LPOS/LMOVE',
    steps: rt(
      ['RPUSH', 'l', 'a', 'b', 'c'],
      ['LPUSH', 'l', 'z'],
      ['LRANGE', 'l', 0, -1],
      ['LLEN', 'l'],
      ['LINDEX', 'l', 1],
      ['LSET', 'l', 1, 'A'],
      ['LINSERT', 'l', 'BEFORE', 'b', 'ins'],
      ['RPUSH', 'l', 'b', 'b'],
      ['LREM', 'l', 2, 'b'],
      ['LPOS', 'l', 'b'],
      ['LRANGE', 'l', 0, -1],
      ['LPOP', 'l'],
      ['RPOP', 'l', 2],
      ['LTRIM', 'l', 0, 0],
      ['LRANGE', 'l', 0, -1],
      ['LMOVE', 'l', 'l2', 'LEFT', 'RIGHT'],
      ['LRANGE', 'l2', 0, -1],
      ['LPOP', 'l'],
      ['LSET', 'nosuch', 0, 'x'],
    ),
    shows: ['*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n', '-ERR no such key\r\n'],
  },
  {
    // member order of non-integer sets depends on a per-process hash seed: only integer sets
    // (intset, sorted) are listed, string sets are only counted/tested/SORTed
    name: 'sets: SADD/SMEMBERS (intset)/SISMEMBER/SMISMEMBER/SCARD/SREM/SINTER/SUNION/SDIFF/SORT ALPHA',
    steps: rt(
      ['SADD', 'si', 5, 3, 1, 4],
      ['SADD', 'si', 3],
      ['SMEMBERS', 'si'],
      ['SADD', 'sj', 4, 5, 6],
      ['SINTER', 'si', 'sj'],
      ['SUNION', 'si', 'sj'],
      ['SDIFF', 'si', 'sj'],
      ['SINTERCARD', 2, 'si', 'sj'],
      ['SREM', 'si', 1, 99],
      ['SCARD', 'si'],
      ['SADD', 'ss', 'pear', 'apple', 'fig'],
      ['SISMEMBER', 'ss', 'fig'],
      ['SMISMEMBER', 'ss', 'fig', 'kiwi'],
      ['SORT', 'ss', 'ALPHA'],
      ['SMOVE', 'ss', 'st', 'fig'],
      ['SORT', 'st', 'ALPHA'],
      ['SMEMBERS', 'nosuch'],
    ),
    shows: ['*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n', '*3\r\n$5\r\napple\r\n$3\r\nfig\r\n$4\r\npear\r\n'],
  },
  {
    name: 'sorted sets: ZADD/ZRANGE WITHSCORES/ZRANGEBYSCORE/ZREVRANGE/ZSCORE/ZINCRBY/ZRANK/ZCOUNT/ZPOPMIN/ZMSCORE/ZUNIONSTORE',
    steps: rt(
      ['ZADD', 'z', 1, 'one', 2, 'two', '3.5', 'three'],
      ['ZADD', 'z', 'NX', 10, 'one'],
      ['ZRANGE', 'z', 0, -1, 'WITHSCORES'],
      ['ZRANGEBYSCORE', 'z', '(1', '+inf'],
      ['ZREVRANGE', 'z', 0, 0],
      ['ZSCORE', 'z', 'three'],
      ['ZSCORE', 'z', 'nosuch'],
      ['ZINCRBY', 'z', '0.5', 'one'],
      ['ZRANK', 'z', 'three'],
      ['ZCARD', 'z'],
      ['ZCOUNT', 'z', 1, 2],
      ['ZMSCORE', 'z', 'one', 'nosuch'],
      ['ZADD', 'z2', 100, 'one'],
      ['ZUNIONSTORE', 'zu', 2, 'z', 'z2', 'WEIGHTS', 1, 2],
      ['ZRANGE', 'zu', 0, -1, 'WITHSCORES'],
      ['ZPOPMIN', 'z'],
      ['ZRANGE', 'z', 0, -1, 'REV', 'WITHSCORES'],
      ['ZADD', 'z', 'inf', 'big'],
      ['ZSCORE', 'z', 'big'],
    ),
    shows: ['*6\r\n$3\r\none\r\n$1\r\n1\r\n$3\r\ntwo\r\n$1\r\n2\r\n$5\r\nthree\r\n$3\r\n3.5\r\n', '$3\r\ninf\r\n'],
  },
  {
    // explicit IDs only (auto IDs come from the clock); XPENDING's summary form has no times
    name: 'streams: XADD with explicit IDs/XLEN/XRANGE/XREVRANGE/XREAD/XGROUP/XREADGROUP/XACK/XPENDING/XDEL/XTRIM',
    steps: rt(
      ['XADD', 'st', '1-1', 'f', 'v1'],
      ['XADD', 'st', '2-1', 'f', 'v2', 'g', 'w'],
      ['XADD', 'st', '1-0', 'f', 'old'],
      ['XADD', 'st', '3-*', 'f', 'v3'],
      ['XLEN', 'st'],
      ['XRANGE', 'st', '-', '+'],
      ['XREVRANGE', 'st', '+', '-', 'COUNT', 1],
      ['XREAD', 'COUNT', 2, 'STREAMS', 'st', '0'],
      ['XGROUP', 'CREATE', 'st', 'g1', '0'],
      ['XGROUP', 'CREATE', 'st', 'g1', '0'],
      ['XREADGROUP', 'GROUP', 'g1', 'c1', 'COUNT', 2, 'STREAMS', 'st', '>'],
      ['XPENDING', 'st', 'g1'],
      ['XACK', 'st', 'g1', '1-1'],
      ['XPENDING', 'st', 'g1'],
      ['XDEL', 'st', '2-1'],
      ['XTRIM', 'st', 'MAXLEN', 1],
      ['XRANGE', 'st', '-', '+'],
      ['XREAD', 'STREAMS', 'nosuch', '0'],
    ),
    shows: ['-ERR The ID specified in XADD is equal or smaller', '-BUSYGROUP Consumer Group name already exists\r\n', '$3\r\n3-0\r\n'],
  },
  {
    name: 'keys: EXPIRE/TTL/PERSIST/RENAME/COPY/DUMP+RESTORE (binary payload)/MOVE/OBJECT',
    steps: rt(
      ['SET', 'k', 'value'],
      ['DUMP', 'k'],
      ['DUMP', 'nosuch'],
      ['COPY', 'k', 'k2'],
      ['GET', 'k2'],
      ['RESTORE', 'k3', 0, '\x00\x05value\x0a\x00\x81\xf6\xc18\xc1\xaa\x9bn'],
      ['GET', 'k3'],
      ['RESTORE', 'k4', 0, 'garbage'],
      ['EXPIRE', 'k', 500],
      ['TTL', 'k'],
      ['EXPIRETIME', 'nosuch'],
      ['PERSIST', 'k'],
      ['TTL', 'k'],
      ['RENAMENX', 'k', 'k2'],
      ['OBJECT', 'ENCODING', 'k'],
      ['TYPE', 'nosuch'],
    ),
    shows: ['$5\r\nvalue\r\n', '-ERR DUMP payload version or checksum are wrong\r\n'],
  },
  {
    name: 'scripting: EVAL/EVALSHA/SCRIPT LOAD/NOSCRIPT/script errors and redis.call results',
    steps: rt(
      ['EVAL', 'return {1, "two", {3}, false}', 0],
      ['EVAL', "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])", 1, 'lk', 'lv'],
      ['GET', 'lk'],
      ['SCRIPT', 'LOAD', 'return ARGV[1]'],
      ['EVALSHA', 'b1b6b3f6e5ac8ef3f0b4ea5c2b8e0d9c7c1b5f00', 0],
      ['EVAL', "return redis.call('INCR', KEYS[1])", 1, 'lk'],
      ['EVAL', 'return redis.error_reply("MY custom")', 0],
      ['EVAL', 'return 3.99', 0],
      ['EVAL', 'syntax error here', 0],
    ),
    shows: ['-NOSCRIPT No matching script', '-MY custom\r\n', '-ERR value is not an integer or out of range'],
  },

  {
    // one client's Lua debugger (a forked session on its own connection) must not reach
    // others: on a shared connection it would catch the next client's EVAL
    name: "scripting: SCRIPT DEBUG YES opens the debugger for that client's next EVAL only; other clients' EVALs just run",
    steps: [
      { conn: 'a', send: cmd('PING'), expect: 1 },
      { conn: 'b', send: cmd('PING'), expect: 1 },
      { conn: 'c', send: cmd('PING'), expect: 1 },
      { conn: 'a', send: cmd('SCRIPT', 'DEBUG', 'YES'), expect: 1 },
      { conn: 'b', send: cmd('EVAL', 'return 1', '0'), expect: 1 },
      { conn: 'c', send: cmd('EVAL', 'return 2', '0'), expect: 1 },
      { conn: 'a', send: cmd('EVAL', 'return 3', '0'), expect: 1 },
      { conn: 'b', send: cmd('GET', 'k') + cmd('EVAL', 'return 4', '0'), expect: 2 },
    ],
    shows: [':1\r\n:2\r\n', 'Stopped at 1', ':4\r\n'],
  },

  // ---------------- errors
  {
    name: 'errors: WRONGTYPE, wrong arity, unknown command and subcommand, syntax, not-an-integer, overflow, bad float, DB index',
    steps: [
      ...rt(
        ['RPUSH', 'list', 'x'],
        ['SET', 'str', 'abc'],
        ['GET', 'list'],
        ['LPUSH', 'str', 'x'],
        ['HGET', 'str', 'f'],
        ['GET'],
        ['SET', 'k'],
        ['HSET', 'h', 'f'],
        ['GET', 'a', 'b'],
        ['FOO', 'a', 'b'],
        ['CLIENT', 'FOO'],
        ['CONFIG', 'SET', 'no-such-option', 'x'],
        ['SET', 'k', 'v', 'XX', 'NX'],
        ['SET', 'k', 'v', 'EX', 0],
        ['INCR', 'str'],
        ['SET', 'big', '9223372036854775807'],
        ['INCR', 'big'],
        ['INCRBYFLOAT', 'str', '1'],
        ['ZADD', 'z', 'nan', 'm'],
        ['SELECT', 100],
        ['SELECT', 'x'],
        ['LRANGE', 'list', 'a', 'b'],
        ['EXEC'],
        ['DISCARD'],
      ),
      // inline form of an unknown command and a line that only looks like a RESP header
      ['FOO bar\r\n$3\r\n', 2],
      // an empty multibulk argument is an unknown command named ''
      ['*1\r\n$0\r\n\r\n', 1],
    ],
    shows: [
      '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n',
      "-ERR wrong number of arguments for 'get' command\r\n",
      "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n",
      "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
      '-ERR syntax error\r\n',
      '-ERR value is not an integer or out of range\r\n',
      '-ERR increment or decrement would overflow\r\n',
      '-ERR DB index is out of range\r\n',
      '-ERR EXEC without MULTI\r\n',
      "-ERR unknown command '$3', with args beginning with: \r\n",
      "-ERR unknown command '', with args beginning with: \r\n",
    ],
  },
  {
    // the ACL user may only touch allowed:* keys, run read commands, SET and PUBLISH to "news"
    name: 'ACL: NOPERM for commands, keys and channels; a key cached for another user is not served to a user without access',
    steps: [
      ...on('b', ['SET', 'secret', 's3cr3t'], ['GET', 'secret'], ['GET', 'secret']),
      ...rt(
        ['AUTH', 'limited', 'wrong'],
        ['AUTH', 'limited', 'limited-pw'],
        ['GET', 'secret'],
        ['GET', 'allowed:x'],
        ['SET', 'allowed:x', '1'],
        ['GET', 'allowed:x'],
        ['MGET', 'allowed:x', 'secret'],
        ['DEL', 'allowed:x'],
        ['PUBLISH', 'news', 'hi'],
        ['PUBLISH', 'other', 'hi'],
        ['ACL', 'WHOAMI'],
        ['AUTH', 'default', 'anything'],
        ['GET', 'secret'],
      ),
    ],
    shows: [
      '-WRONGPASS invalid username-password pair or user is disabled.\r\n',
      '-NOPERM this user has no permissions to access one of the keys used as arguments\r\n',
      "-NOPERM this user has no permissions to run the 'del' command\r\n",
      '-NOPERM this user has no permissions to access one of the channels used as arguments\r\n',
      '$6\r\ns3cr3t\r\n',
    ],
  },
  {
    name: 'requirepass: NOAUTH before AUTH even for a key another client has read, WRONGPASS, then normal replies',
    pair: 'auth',
    steps: [
      ...on('b', ['AUTH', PASSWORD], ['SET', 'k', 'v'], ['GET', 'k'], ['GET', 'k']),
      ...rt(
        ['GET', 'k'],
        ['PING'],
        ['AUTH', 'wrong'],
        ['HELLO', '3'],
        ['AUTH', PASSWORD],
        ['GET', 'k'],
        ['HELLO', '2', 'AUTH', 'default', 'wrong'],
      ),
      ['PING\r\n', 1],
    ],
    normalise: helloId,
    shows: ['-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n-WRONGPASS', '-NOAUTH HELLO must be called', '+OK\r\n$1\r\nv\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n+PONG\r\n'],
  },
  {
    // Redis checks the header before the arguments arrive: first a complete 20-argument
    // command, then only its header and first argument (the rest is never sent)
    name: 'requirepass: an unauthenticated client sending a multibulk over 10 arguments is refused and closed, even before the arguments arrive',
    pair: 'auth',
    steps: [
      [cmd('MGET', ...Array.from({ length: 19 }, (_, i) => `key${i}`)), 'close'],
      { conn: 'b', send: '*20\r\n$3\r\nGET\r\n', expect: 'close' },
    ],
    shows: ['-ERR Protocol error: unauthenticated multibulk length\r\n-ERR Protocol error: unauthenticated multibulk length\r\n'],
  },

  // ---------------- RESP3
  {
    name: 'RESP3: HELLO 3 then maps, sets, doubles, nulls, booleans, big numbers, verbatim and attributes',
    steps: [
      HELLO3,
      ...rt(
        ['HSET', 'h', 'a', '1', 'b', '2'],
        ['HGETALL', 'h'],
        ['HGETALL', 'nosuch'],
        ['SADD', 's', 3, 1, 2],
        ['SMEMBERS', 's'],
        ['ZADD', 'z', '1.5', 'm', 2, 'n'],
        ['ZSCORE', 'z', 'm'],
        ['ZRANGE', 'z', 0, -1, 'WITHSCORES'],
        ['ZSCORE', 'z', 'nosuch'],
        ['SET', 'k', 'v'],
        ['GET', 'k'],
        ['GET', 'nosuch'],
        ['MGET', 'k', 'nosuch'],
        ['INCRBYFLOAT', 'f', '0.1'],
        ['CONFIG', 'GET', 'maxmemory-policy'],
        ['EVAL', 'return true', 0],
        ['EVAL', "redis.setresp(3); return redis.call('HGETALL', KEYS[1])", 1, 'h'],
        ['DEBUG', 'PROTOCOL', 'map'],
        ['DEBUG', 'PROTOCOL', 'set'],
        ['DEBUG', 'PROTOCOL', 'double'],
        ['DEBUG', 'PROTOCOL', 'null'],
        ['DEBUG', 'PROTOCOL', 'true'],
        ['DEBUG', 'PROTOCOL', 'false'],
        ['DEBUG', 'PROTOCOL', 'bignum'],
        ['DEBUG', 'PROTOCOL', 'verbatim'],
        ['DEBUG', 'PROTOCOL', 'attrib'],
        ['BLPOP', 'nosuch', '0.01'],
        ['HELLO', '2'],
        ['HGETALL', 'h'],
        ['GET', 'nosuch'],
        ['DEBUG', 'PROTOCOL', 'double'],
        ['HELLO', '4'],
      ),
    ],
    normalise: helloId,
    shows: ['%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n', '~3\r\n', ',1.5\r\n', '_\r\n', '#t\r\n', '|1\r\n', '-NOPROTO'],
  },
  {
    name: 'RESP3: HELLO with AUTH and SETNAME in one command, then CLIENT GETNAME',
    steps: rt(['HELLO', '3', 'AUTH', 'default', 'whatever', 'SETNAME', 'conn-a'], ['CLIENT', 'GETNAME'], ['HELLO'], ['HELLO', '2', 'SETNAME', 'bad name']),
    normalise: helloId,
    shows: ['$6\r\nconn-a\r\n', '-ERR Client names cannot contain spaces, newlines or special characters.\r\n'],
  },
  {
    name: 'GET replies depend on the connection protocol: the same missing/present keys read in RESP2 and RESP3',
    steps: [
      ...rt(['SET', 'k', 'v'], ['GET', 'k'], ['GET', 'missing'], ['GET', 'missing']),
      { conn: 'b', send: cmd('HELLO', '3'), expect: 1 },
      ...on('b', ['GET', 'missing'], ['GET', 'k'], ['MGET', 'missing']),
      ...rt(['GET', 'missing'], ['GET', 'k']),
    ],
    normalise: helloId,
    shows: ['$-1\r\n$-1\r\n', '_\r\n$1\r\nv\r\n*1\r\n_\r\n$-1\r\n'],
  },

  // ---------------- inline commands and framing
  {
    name: 'inline commands: PING, quoting, escapes, LF-only lines, leading spaces, empty lines (no reply)',
    steps: [
      ['PING\r\n', 1],
      ['PING hello\r\n', 1],
      ['SET k "a b"\r\n', 1],
      ['GET k\r\n', 1],
      ["SET 'x y' 'it\"s'\r\n", 1],
      ['GET "x y"\r\n', 1],
      ['GET x\r\n', 1],
      [String.raw`SET e "\x41\n\t\"q\\ \xff"` + '\r\n', 1],
      [cmd('GET', 'e'), 1],
      ["SET sq 'a\\'b'\r\n", 1],
      [cmd('GET', 'sq'), 1],
      ['\r\n', 0],
      ['\n', 0],
      ['   \r\n', 0],
      ['get k\n', 1],
      ['   PING   \r\n', 1],
      ['\r\n\r\nECHO after-blank-lines\r\n', 1],
    ],
    shows: ['+PONG\r\n$5\r\nhello\r\n+OK\r\n$3\r\na b\r\n+OK\r\n$4\r\nit"s\r\n', '$8\r\nA\n\t"q\\ \xff\r\n', '$3\r\na\'b\r\n', '$3\r\na b\r\n+PONG\r\n$17\r\nafter-blank-lines\r\n'],
  },
  {
    // Redis looks for the inline newline with strchr(), which stops at NUL: the line never
    // completes, later bytes pile up behind it, and the 64 KB inline limit finally closes it
    name: 'inline commands: a NUL byte stalls the inline line until the 64 KB inline limit closes the connection',
    steps: [
      ['SET n a\0b\r\n', 0],
      ['PING\r\n', 0],
      ['x'.repeat(70_000), 'close'],
      { conn: 'b', send: cmd('EXISTS', 'n'), expect: 1 },
    ],
    shows: ['-ERR Protocol error: too big inline request\r\n:0\r\n'],
  },
  {
    name: 'multibulk and inline mixed in one write, *0 and *-1 are ignored, lowercase command names',
    steps: [
      ['*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n*0\r\n*-1\r\n*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\nget k\r\n*2\r\n$3\r\ngEt\r\n$1\r\nk\r\n', 6],
    ],
    shows: ['+PONG\r\n+PONG\r\n$2\r\nhi\r\n+OK\r\n$1\r\nv\r\n$1\r\nv\r\n'],
  },
  {
    name: 'requests split across many writes: one byte per write, multibulk and inline',
    steps: [
      { send: cmd('SET', 'split', 'va\r\nlue') + cmd('GET', 'split') + 'ECHO "in line"\r\n' + cmd('GET', 'split'), expect: 4, chunk: 1 },
      { send: cmd('MSET', 'a', 'x'.repeat(300), 'b', 'y') + cmd('MGET', 'a', 'b'), expect: 2, chunk: 7 },
    ],
    timeoutMs: 10_000,
    shows: ['+OK\r\n$7\r\nva\r\nlue\r\n$7\r\nin line\r\n'],
  },
  {
    name: 'pipeline of 10,000 commands (SET/GET/INCR on repeating keys) in one write',
    steps: [{ send: bigPipeline(), expect: 10_000 }, ...rt(['GET', 'counter'], ['DBSIZE'])],
    timeoutMs: 15_000,
    shows: ['$4\r\n2500\r\n:98\r\n'],
  },
  {
    name: 'binary keys and values containing CR LF, NUL and bytes that are not UTF-8 stay distinct',
    steps: rt(
      ['SET', 'k\r\n\0', 'v\r\n\0\xff'],
      ['GET', 'k\r\n\0'],
      ['GET', 'k\r\n'],
      ['GET', 'k'],
      ['SET', '\xff', 'ff'],
      ['SET', '\xfe', 'fe'],
      ['SET', '\xc3\x28', 'bad-utf8'],
      ['SET', '\xef\xbf\xbd', 'replacement-char'],
      ['GET', '\xff'],
      ['GET', '\xfe'],
      ['GET', '\xc3\x28'],
      ['GET', '\xef\xbf\xbd'],
      ['MGET', '\xff', '\xfe', 'k\r\n\0'],
      ['SET', '$-1\r\n', '*1\r\n$1\r\nx\r\n'],
      ['GET', '$-1\r\n'],
      ['HSET', 'h\0', 'f\r\n', '\0\0'],
      ['HGETALL', 'h\0'],
      ['STRLEN', 'k\r\n\0'],
      ['SET', '', 'empty-key'],
      ['GET', ''],
      ['SET', 'emptyval', ''],
      ['GET', 'emptyval'],
    ),
    shows: ['$5\r\nv\r\n\0\xff\r\n', '$2\r\nff\r\n$2\r\nfe\r\n$8\r\nbad-utf8\r\n$16\r\nreplacement-char\r\n', '$0\r\n\r\n'],
  },
  {
    name: 'a 1 MB value with every byte value: SET, GET twice, GETRANGE, APPEND, GET again',
    steps: rt(
      ['SET', 'big', ONE_MB.toString('latin1')],
      ['GET', 'big'],
      ['GET', 'big'],
      ['STRLEN', 'big'],
      ['GETRANGE', 'big', 500_000, 500_010],
      ['APPEND', 'big', '!'],
      ['GET', 'big'],
    ),
    timeoutMs: 10_000,
    shows: ['$1048576\r\n', ':1048577\r\n', '$1048577\r\n'],
  },

  // ---------------- protocol errors: reply then close
  {
    name: 'protocol error: invalid bulk length ($abc) replies an error and closes',
    steps: [['*1\r\n$abc\r\n', 'close']],
    shows: ['-ERR Protocol error: invalid bulk length\r\n'],
  },
  {
    name: 'protocol error: invalid multibulk length (*abc) replies an error and closes',
    steps: [['*abc\r\n', 'close']],
    shows: ['-ERR Protocol error: invalid multibulk length\r\n'],
  },
  {
    name: "protocol error: a multibulk element not starting with '$' replies an error and closes",
    steps: [['*2\r\n$4\r\nECHO\r\nfoo\r\n', 'close']],
    shows: ["-ERR Protocol error: expected '$', got 'f'\r\n"],
  },
  {
    name: 'protocol error: unbalanced quotes in an inline command replies an error and closes',
    steps: [
      ['SET k "abc\r\n', 'close'],
      { conn: 'b', send: 'SET k "a"b\r\n', expect: 'close' },
      { conn: 'c', send: "SET k 'abc\r\n", expect: 'close' },
    ],
    shows: ['-ERR Protocol error: unbalanced quotes in request\r\n-ERR Protocol error: unbalanced quotes in request\r\n-ERR Protocol error: unbalanced quotes in request\r\n'],
  },
  {
    name: 'protocol error: commands before the bad one in the same write are answered, those after it are dropped',
    steps: [
      ['SET k v\r\n' + cmd('GET', 'k') + '*1\r\n$abc\r\nPING\r\n' + cmd('SET', 'k', 'after'), 'close'],
      { conn: 'b', send: cmd('GET', 'k'), expect: 1 },
    ],
    shows: ['+OK\r\n$1\r\nv\r\n-ERR Protocol error: invalid bulk length\r\n$1\r\nv\r\n'],
  },
  {
    name: 'protocol error: bulk length above proto-max-bulk-len and multibulk length above INT_MAX close the connection',
    steps: [
      ['*1\r\n$536870913\r\n', 'close'],
      { conn: 'b', send: '*2147483648\r\n', expect: 'close' },
      { conn: 'c', send: '*1\r\n$-1\r\n', expect: 'close' },
    ],
    shows: ['-ERR Protocol error: invalid bulk length\r\n-ERR Protocol error: invalid multibulk length\r\n-ERR Protocol error: invalid bulk length\r\n'],
  },
  {
    name: 'protocol error: an inline request over 64 KB without a newline replies an error and closes',
    steps: [
      ['GET ' + 'a'.repeat(70_000), 'close'],
      { conn: 'b', send: '*' + '1'.repeat(70_000), expect: 'close' },
    ],
    shows: ['-ERR Protocol error: too big inline request\r\n-ERR Protocol error: too big mbulk count string\r\n'],
  },

  // ---------------- connection state
  {
    name: 'SELECT: the same key in databases 0 and 1 holds different values; MOVE and SWAPDB move them',
    steps: rt(
      ['SET', 'k', 'zero'],
      ['GET', 'k'],
      ['SELECT', 1],
      ['GET', 'k'],
      ['SET', 'k', 'one'],
      ['GET', 'k'],
      ['SELECT', 0],
      ['GET', 'k'],
      ['SET', 'm', 'moved'],
      ['GET', 'm'],
      ['MOVE', 'm', 1],
      ['GET', 'm'],
      ['SELECT', 1],
      ['GET', 'm'],
      ['SELECT', 0],
      ['SWAPDB', 0, 1],
      ['GET', 'k'],
      ['GET', 'm'],
      ['SELECT', 1],
      ['GET', 'k'],
      ['SELECT', 15],
      ['GET', 'k'],
      ['SELECT', 16],
    ),
    shows: ['$4\r\nzero\r\n+OK\r\n$-1\r\n+OK\r\n$3\r\none\r\n', '+OK\r\n$3\r\none\r\n$5\r\nmoved\r\n'],
  },
  {
    name: 'MULTI/EXEC/DISCARD: queued GETs answer QUEUED, EXEC returns all replies, errors inside and EXECABORT',
    steps: rt(
      ['SET', 'k', 'before'],
      ['GET', 'k'],
      ['MULTI'],
      ['GET', 'k'],
      ['SET', 'k', 'inside'],
      ['GET', 'k'],
      ['INCR', 'k'],
      ['LPUSH', 'k', 'x'],
      ['EXEC'],
      ['GET', 'k'],
      ['MULTI'],
      ['SET', 'k', 'discarded'],
      ['MULTI'],
      ['DISCARD'],
      ['GET', 'k'],
      ['MULTI'],
      ['SET', 'k', 'never'],
      ['NOSUCHCOMMAND'],
      ['GET'],
      ['EXEC'],
      ['GET', 'k'],
      ['DISCARD'],
      ['MULTI'],
      ['EXEC'],
    ),
    shows: [
      '+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*5\r\n$6\r\nbefore\r\n+OK\r\n$6\r\ninside\r\n-ERR value is not an integer',
      '-ERR MULTI calls can not be nested\r\n',
      '-EXECABORT Transaction discarded because of previous errors.\r\n',
      '*0\r\n',
    ],
  },
  {
    name: 'WATCH: EXEC returns nil (RESP2 *-1, RESP3 _) when another connection modified the key; succeeds otherwise',
    steps: [
      ...rt(['SET', 'w', '1'], ['GET', 'w'], ['WATCH', 'w']),
      ...on('b', ['SET', 'w', '2']),
      ...rt(['GET', 'w'], ['MULTI'], ['SET', 'w', 'from-a'], ['EXEC'], ['GET', 'w']),
      { conn: 'c', send: cmd('HELLO', '3'), expect: 1 },
      ...on('c', ['WATCH', 'w'], ['GET', 'w']),
      ...on('b', ['INCR', 'w']),
      ...on('c', ['MULTI'], ['GET', 'w'], ['EXEC'], ['GET', 'w']),
      ...rt(['WATCH', 'w'], ['MULTI'], ['SET', 'w', 'ok'], ['EXEC'], ['GET', 'w'], ['UNWATCH']),
    ],
    normalise: helloId,
    shows: ['$1\r\n2\r\n+OK\r\n+QUEUED\r\n*-1\r\n$1\r\n2\r\n', '+QUEUED\r\n_\r\n$1\r\n3\r\n', '*1\r\n+OK\r\n$2\r\nok\r\n'],
  },
  {
    name: 'pub/sub RESP2: SUBSCRIBE, PUBLISH from another connection, subscribed-mode PING and refused GET, UNSUBSCRIBE',
    steps: [
      { send: cmd('SUBSCRIBE', 'ch1', 'ch2'), expect: 2 },
      ...on('b', ['PUBLISH', 'ch1', 'hello'], ['PUBSUB', 'NUMSUB', 'ch1', 'ch2', 'ch3']),
      { send: '', expect: 1 },
      ...rt(['PING'], ['PING', 'x'], ['GET', 'k'], ['UNSUBSCRIBE', 'ch1']),
      ...on('b', ['PUBLISH', 'ch1', 'lost'], ['PUBLISH', 'ch2', 'bin\r\n\0']),
      { send: '', expect: 1 },
      { send: cmd('UNSUBSCRIBE'), expect: 1 },
      ...rt(['SET', 'k', 'v'], ['GET', 'k']),
    ],
    shows: [
      '*3\r\n$9\r\nsubscribe\r\n$3\r\nch1\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$3\r\nch2\r\n:2\r\n:1\r\n',
      '*3\r\n$7\r\nmessage\r\n$3\r\nch1\r\n$5\r\nhello\r\n',
      '*2\r\n$4\r\npong\r\n$0\r\n\r\n',
      "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
      ':0\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$3\r\nch2\r\n$6\r\nbin\r\n\0\r\n',
    ],
  },
  {
    name: 'pub/sub RESP3: push messages interleave with normal replies (GET works while subscribed)',
    steps: [
      HELLO3,
      ...rt(['SET', 'k', 'v'], ['SUBSCRIBE', 'ch']),
      ...on('b', ['PUBLISH', 'ch', 'one']),
      { send: '', expect: 1 },
      ...rt(['GET', 'k'], ['PING']),
      ...on('b', ['SET', 'k', 'v2'], ['PUBLISH', 'ch', 'two']),
      { send: cmd('GET', 'k'), expect: 2 },
      ...rt(['UNSUBSCRIBE', 'ch']),
      ...on('b', ['PUBLISH', 'ch', 'three']),
      ...rt(['GET', 'k']),
    ],
    normalise: helloId,
    shows: ['>3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n', '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\none\r\n$1\r\nv\r\n+PONG\r\n', '>3\r\n$11\r\nunsubscribe\r\n'],
  },
  {
    name: 'pub/sub: PSUBSCRIBE pattern messages and PUNSUBSCRIBE, RESP2 and RESP3 subscribers',
    steps: [
      { send: cmd('PSUBSCRIBE', 'news.*', 'x?'), expect: 2 },
      { conn: 'c', send: cmd('HELLO', '3') + cmd('PSUBSCRIBE', 'news.*'), expect: 2 },
      ...on('b', ['PUBLISH', 'news.tech', 'hi'], ['PUBLISH', 'xy', 'z'], ['PUBLISH', 'other', 'no']),
      { send: '', expect: 2 },
      { conn: 'c', expect: 1 },
      { send: cmd('PUNSUBSCRIBE', 'news.*'), expect: 1 },
      ...on('b', ['PUBLISH', 'news.tech', 'again']),
      { conn: 'c', expect: 1 },
      { send: cmd('PUNSUBSCRIBE'), expect: 1 },
      { conn: 'c', send: cmd('PUNSUBSCRIBE'), expect: 1 },
    ],
    normalise: helloId,
    shows: [
      '*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$9\r\nnews.tech\r\n$2\r\nhi\r\n*4\r\n$8\r\npmessage\r\n$2\r\nx?\r\n$2\r\nxy\r\n$1\r\nz\r\n',
      '>4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$9\r\nnews.tech\r\n$5\r\nagain\r\n',
    ],
  },
  {
    name: 'blocking: BLPOP served by an RPUSH from another connection; BLPOP and BLMOVE timeouts in RESP2 and RESP3',
    steps: [
      { send: cmd('BLPOP', 'q', 5), expect: 0 },
      { conn: 'b', send: cmd('RPUSH', 'q', 'x', 'y'), expect: 1, delayMs: 100 },
      { expect: 1 },
      ...on('b', ['LRANGE', 'q', 0, -1]),
      ...rt(['BLPOP', 'empty', '0.05'], ['BLMOVE', 'empty', 'dst', 'LEFT', 'LEFT', '0.05'], ['BRPOP', 'q', 1]),
      { conn: 'c', send: cmd('HELLO', '3'), expect: 1 },
      ...on('c', ['BLPOP', 'empty', '0.05'], ['BLPOP', 'q', '0.05']),
    ],
    normalise: helloId,
    shows: ['*2\r\n$1\r\nq\r\n$1\r\nx\r\n', '*-1\r\n*-1\r\n*2\r\n$1\r\nq\r\n$1\r\ny\r\n', '_\r\n'],
  },
  {
    name: 'CLIENT REPLY OFF/ON/SKIP: suppressed replies are never sent, including for GETs of present keys',
    steps: [
      ...rt(['SET', 'k', 'v'], ['GET', 'k'], ['GET', 'k']),
      { send: cmd('CLIENT', 'REPLY', 'OFF'), expect: 0 },
      { send: cmd('SET', 'k', 'v2'), expect: 0 },
      { send: cmd('GET', 'k'), expect: 0 },
      { send: cmd('GET', 'nosuch'), expect: 0 },
      { send: cmd('CLIENT', 'REPLY', 'ON'), expect: 1 },
      ...rt(['GET', 'k']),
      { send: cmd('CLIENT', 'REPLY', 'SKIP'), expect: 0 },
      { send: cmd('GET', 'k'), expect: 0 },
      ...rt(['GET', 'k']),
      { send: cmd('CLIENT', 'REPLY', 'SKIP') + cmd('GET', 'k') + cmd('PING'), expect: 1 },
      ...rt(['CLIENT', 'REPLY', 'MAYBE']),
    ],
    shows: ['$1\r\nv\r\n$1\r\nv\r\n+OK\r\n$2\r\nv2\r\n$2\r\nv2\r\n+PONG\r\n-ERR syntax error\r\n'],
  },
  {
    name: 'RESET: back to RESP2, database 0, no name, out of MULTI and pub/sub',
    steps: [
      ...rt(['SET', 'k', 'db0']),
      HELLO3,
      ...rt(['SELECT', 2], ['SET', 'k', 'db2'], ['GET', 'k'], ['GET', 'nosuch'], ['CLIENT', 'SETNAME', 'named'], ['MULTI'], ['GET', 'k'], ['RESET']),
      ...rt(['GET', 'k'], ['GET', 'nosuch'], ['CLIENT', 'GETNAME'], ['EXEC'], ['SUBSCRIBE', 'ch'], ['RESET'], ['GET', 'k']),
    ],
    normalise: helloId,
    shows: ['$3\r\ndb2\r\n_\r\n+OK\r\n+OK\r\n+QUEUED\r\n+RESET\r\n$3\r\ndb0\r\n$-1\r\n$-1\r\n-ERR EXEC without MULTI\r\n', '+RESET\r\n$3\r\ndb0\r\n'],
  },
  {
    name: 'QUIT: +OK then close; commands pipelined after QUIT are not answered',
    steps: [
      ...rt(['SET', 'k', 'v'], ['GET', 'k']),
      [cmd('QUIT'), 'close'],
      { conn: 'b', send: 'PING\r\nQUIT\r\n' + cmd('SET', 'k', 'after-quit'), expect: 'close' },
      { conn: 'c', send: cmd('GET', 'k'), expect: 1, delayMs: 50 },
    ],
    shows: ['+OK\r\n$1\r\nv\r\n+OK\r\n+PONG\r\n+OK\r\n$1\r\nv\r\n'],
  },

  // ---------------- cache coherence, as seen by clients of a plain Redis
  {
    name: 'coherence: a GET after another connection changed the key (SET, DEL, INCR, APPEND, RENAME, EXPIRE, Lua, MULTI) sees the change',
    steps: [
      ...rt(['SET', 'k', 'v1'], ['GET', 'k'], ['GET', 'k']),
      ...on('b', ['SET', 'k', 'v2']),
      ...rt(['GET', 'k']),
      ...on('b', ['APPEND', 'k', '+']),
      ...rt(['GET', 'k']),
      ...on('b', ['DEL', 'k']),
      ...rt(['GET', 'k']),
      ...on('b', ['INCR', 'k']),
      ...rt(['GET', 'k']),
      ...on('b', ['SET', 'other', 'o'], ['RENAME', 'other', 'k']),
      ...rt(['GET', 'k'], ['GET', 'other']),
      ...on('b', ['EVAL', "return redis.call('SET', KEYS[1], 'lua')", 1, 'k']),
      ...rt(['GET', 'k']),
      { conn: 'b', send: cmd('MULTI') + cmd('SET', 'k', 'multi') + cmd('EXEC'), expect: 3 },
      ...rt(['GET', 'k']),
      ...on('b', ['SET', 'k', 'str'], ['GET', 'k'], ['LPUSH', 'l', 'x'], ['RENAME', 'l', 'k']),
      ...rt(['GET', 'k']),
      ...on('b', ['SET', 'k', 'v'], ['GET', 'k'], ['PEXPIRE', 'k', 1]),
      { send: cmd('GET', 'k'), expect: 1, delayMs: 20 },
      ...on('b', ['SET', 'k', 'v'], ['GET', 'k'], ['SELECT', 1], ['SET', 'k', 'db1'], ['SELECT', 0], ['SWAPDB', 0, 1]),
      ...rt(['GET', 'k']),
    ],
    shows: ['$2\r\nv1\r\n$2\r\nv1\r\n+OK\r\n$2\r\nv2\r\n', '$3\r\nlua\r\n', '$5\r\nmulti\r\n', '-WRONGTYPE', '$3\r\ndb1\r\n'],
  },
  {
    name: 'coherence: FLUSHALL and FLUSHDB from another connection empty keys that were just read',
    steps: [
      ...rt(['SET', 'k', 'v'], ['GET', 'k'], ['GET', 'k']),
      ...on('b', ['FLUSHALL']),
      ...rt(['GET', 'k'], ['SET', 'k', 'v'], ['GET', 'k']),
      ...on('b', ['FLUSHDB', 'SYNC']),
      ...rt(['GET', 'k']),
    ],
    shows: ['$1\r\nv\r\n$1\r\nv\r\n+OK\r\n$-1\r\n+OK\r\n$1\r\nv\r\n+OK\r\n$-1\r\n'],
  },
  {
    name: 'coherence: a key that expires by its TTL reads as nil afterwards',
    steps: [...rt(['SET', 'k', 'v', 'PX', 150], ['GET', 'k'], ['GET', 'k']), { send: cmd('GET', 'k'), expect: 1, delayMs: 400 }],
    shows: ['+OK\r\n$1\r\nv\r\n$1\r\nv\r\n$-1\r\n'],
  },
  {
    name: "coherence: a client's own CLIENT TRACKING (RESP3) gets its invalidation push even for keys others read",
    steps: [
      ...on('b', ['SET', 'k', 'v'], ['GET', 'k'], ['GET', 'k']),
      HELLO3,
      ...rt(['CLIENT', 'TRACKING', 'ON'], ['GET', 'k']),
      ...on('b', ['SET', 'k', 'v2']),
      { expect: 1 },
      ...rt(['GET', 'k'], ['CLIENT', 'TRACKING', 'OFF']),
    ],
    normalise: helloId,
    shows: ['+OK\r\n$1\r\nv\r\n+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n$2\r\nv2\r\n'],
  },
];

// ---------------------------------------------------------------------------------------

const MARKER = /\n<<(step \d+ conn \w+: [^>]*|extra bytes on conn \w+)>>\n/;

async function flush(side: Side): Promise<void> {
  assert.equal(await adminCommand(side.admin, 'FLUSHALL'), '+OK\r\n');
}

for (const c of CASES) {
  test(c.name, { timeout: 30_000 }, async () => {
    const pair = await getPair(c.pair ?? 'main');
    await Promise.all([flush(pair.direct), flush(pair.proxied)]);
    // let a flush reach any cache in front of the server before the conversation starts
    // (the coherence conversations test tight timing on their own)
    await sleep(10);
    const opts = { timeoutMs: c.timeoutMs ?? 3000 };
    const [direct, proxied] = await Promise.all([
      conversation(pair.direct.port, c.steps, opts),
      conversation(pair.proxied.port, c.steps, opts),
    ]);
    if (process.env.DIFF_DUMP) console.log(`direct replies for ${c.name}:\n${escapeBytes(direct, 5000)}`);
    const d = c.normalise ? c.normalise(direct) : direct;
    const p = c.normalise ? c.normalise(proxied) : proxied;

    // the corpus itself must be right against Redis
    const m = MARKER.exec(d.toString('latin1'));
    assert.equal(m, null, `conversation is wrong against direct Redis: ${m?.[1]}`);
    for (const s of c.shows) {
      assert.ok(d.includes(Buffer.from(s, 'latin1')), `direct Redis replies lack ${JSON.stringify(s)}: the conversation does not show what it claims`);
    }

    if (!d.equals(p)) {
      assert.fail(`${AGAINST} replies differ from direct Redis:\n${describeDifference(d, p)}`);
    }
  });
}
