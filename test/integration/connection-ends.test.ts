// The end of a connection, through the proxy as on Redis (issue 13, parts 2 to 4):
// - a lost Redis connection closes the client's connection; the proxy never answers with an
//   error of its own, so client libraries reconnect, re-select, re-subscribe and resend;
// - CLIENT KILL ... SKIPME yes through the proxy closes the other clients, not the sender;
// - a client's FIN: replies Redis would have sent are delivered, a blocked command is
//   abandoned at once (nothing is consumed by it later), the connection closes;
// - QUIT and FIN compared byte for byte and close for close with a direct connection.
//
// Every scenario also runs against Redis itself where that makes sense (ENDS_AGAINST=redis runs
// the "proxy" side against Redis too), so a scenario that Redis does not pass is a broken test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import {
  cmd,
  escapeBytes,
  RawClient,
  ReadError,
  sleep,
  startProxy,
  startRedis,
  type ProxyProcess,
  type RedisServer,
} from '../helpers/index.js';

const T = { timeout: 30_000 };
const AGAINST = process.env.ENDS_AGAINST ?? 'proxy';

let redis: RedisServer;
let proxy: ProxyProcess;
/** the port a "through the proxy" scenario talks to (Redis itself with ENDS_AGAINST=redis) */
let proxyPort: number;
const cleanups: Array<() => void> = [];

before(async () => {
  redis = await startRedis({ args: ['--enable-debug-command', 'yes'] });
  proxy = await startProxy({ redisPort: redis.port });
  proxyPort = AGAINST === 'redis' ? redis.port : proxy.port;
});

after(async () => {
  for (const f of cleanups) f();
  adminConn?.destroy();
  await proxy?.stop();
  await redis?.stop();
});

async function connect(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  cleanups.push(() => c.destroy());
  return c;
}

// ---------------------------------------------------------------- direct admin connection

let adminConn: RawClient | undefined;

/** One command on a direct connection to Redis (reopened when a CLIENT KILL took it); the raw reply. */
async function direct(...args: string[]): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    if (!adminConn || adminConn.closedYet) adminConn = await RawClient.connect(redis.port);
    adminConn.write(cmd(...args));
    try {
      return (await adminConn.readFrame()).toString('latin1');
    } catch (err) {
      // (Redis closed it meanwhile, e.g. its own `timeout` while a test set one: once more on a new one)
      if (attempt > 0 || !adminConn.closedYet) throw err;
    }
  }
}

/** CLIENT LIST lines, from Redis directly. */
async function clientList(): Promise<string[]> {
  const r = await direct('CLIENT', 'LIST');
  return r
    .slice(r.indexOf('\r\n') + 2, -2)
    .split('\n')
    .filter((l) => l.trim() !== '');
}

async function idOfName(name: string): Promise<string> {
  const line = (await clientList()).find((l) => l.includes(` name=${name} `));
  assert.ok(line, `no connection named ${name} in CLIENT LIST`);
  return /^id=(\d+)/.exec(line)![1];
}

/** Kills, directly on Redis, the connection named `name`; returns the id it had. */
async function killByName(name: string): Promise<string> {
  const id = await idOfName(name);
  assert.equal(await direct('CLIENT', 'KILL', 'ID', id), ':1\r\n', `CLIENT KILL ID ${id} (${name})`);
  return id;
}

async function flushAll(): Promise<void> {
  assert.equal(await direct('FLUSHALL'), '+OK\r\n');
}

/** Waits until `cond()` holds, checking every few ms, at most `ms`; resolves with how long it took, or -1. */
async function waitFor(cond: () => Promise<boolean> | boolean, ms: number, every = 5): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - start;
    if (Date.now() - start > ms) return -1;
    await sleep(every);
  }
}

/** Everything until the server closes; '<still open after N ms>' appended when it does not. */
async function untilClosed(c: RawClient, ms = 2000): Promise<string> {
  try {
    return (await c.readUntilClosed(ms)).toString('latin1');
  } catch (e) {
    if (!(e instanceof ReadError)) throw e;
    return `${e.received.toString('latin1')}<still open after ${ms} ms>`;
  }
}

function noProxyError(bytes: string, what: string): void {
  assert.ok(!bytes.includes('RedisProxy'), `${what}: the proxy answered with its own error: "${escapeBytes(Buffer.from(bytes, 'latin1'))}"`);
}

// ---------------------------------------------------------------- 2. a lost Redis connection

/** A raw client with a Redis connection of its own (SELECT 1), named so that it can be killed. */
async function ownConnection(port: number, name: string): Promise<RawClient> {
  const c = await connect(port);
  c.write(cmd('SELECT', '1') + cmd('CLIENT', 'SETNAME', name));
  assert.deepEqual((await c.readFrames(2)).map(String), ['+OK\r\n', '+OK\r\n']);
  return c;
}

for (const [side, port] of [
  ['directly', () => redis.port],
  ['through the proxy', () => proxyPort],
] as const) {
  test(`lost Redis connection ${side}: a client with a command in flight sees EOF and nothing else`, T, async () => {
    await flushAll();
    const c = await ownConnection(port(), 'ends-inflight');
    c.write(cmd('BLPOP', 'ends:never', '0'));
    assert.ok((await waitFor(async () => (await clientList()).some((l) => l.includes('cmd=blpop')), 2000)) >= 0, 'BLPOP never blocked');
    await killByName('ends-inflight');
    const got = await untilClosed(c);
    noProxyError(got, 'in-flight BLPOP');
    assert.equal(got, '', 'after CLIENT KILL the client sees its connection closed, with no reply');
  });

  test(`lost Redis connection ${side}: an idle client sees EOF without sending anything`, T, async () => {
    const c = await ownConnection(port(), 'ends-idle');
    await killByName('ends-idle');
    const got = await untilClosed(c);
    noProxyError(got, 'idle client');
    assert.equal(got, '', 'the idle client is closed at once, as Redis closes it');
  });
}

test('lost Redis connection through the proxy: the killed client never gets a -ERR RedisProxy line, even if it writes', T, async () => {
  const c = await ownConnection(proxyPort, 'ends-writer');
  await killByName('ends-writer');
  // a client that has not noticed the close yet writes; whatever happens, no invented error
  c.write(cmd('PING'));
  const got = await untilClosed(c);
  noProxyError(got, 'PING after the kill');
  assert.ok(!got.includes('<still open'), `the connection must close, got "${escapeBytes(Buffer.from(got, 'latin1'))}"`);
});

test("Redis's own closes (its idle timeout, ACL DELUSER): the client sees EOF through the proxy as directly", T, async () => {
  assert.equal(await direct('ACL', 'SETUSER', 'ends-user', 'on', '>ends-pw', '~*', '&*', '+@all'), '+OK\r\n');
  const login = async (port: number) => {
    const c = await connect(port);
    c.write(cmd('AUTH', 'ends-user', 'ends-pw') + cmd('PING'));
    assert.deepEqual((await c.readFrames(2)).map(String), ['+OK\r\n', '+PONG\r\n']);
    return c;
  };
  const [d, p] = await Promise.all([login(redis.port), login(proxyPort)]);
  assert.equal(await direct('ACL', 'DELUSER', 'ends-user'), ':1\r\n');
  const [dGot, pGot] = await Promise.all([untilClosed(d), untilClosed(p)]);
  assert.equal(dGot, '', 'the case itself: Redis closes the deleted user\'s connection');
  noProxyError(pGot, 'ACL DELUSER');
  assert.equal(pGot, dGot, 'ACL DELUSER: through the proxy as directly');

  const [d2, p2] = await Promise.all([ownConnection(redis.port, 'ends-to-d'), ownConnection(proxyPort, 'ends-to-p')]);
  assert.equal(await direct('CONFIG', 'SET', 'timeout', '1'), '+OK\r\n');
  try {
    const [dTo, pTo] = await Promise.all([untilClosed(d2, 5000), untilClosed(p2, 5000)]);
    assert.equal(dTo, '', "the case itself: Redis's timeout closes the idle client");
    noProxyError(pTo, 'timeout');
    assert.equal(pTo, dTo, 'timeout: through the proxy as directly');
  } finally {
    assert.equal(await direct('CONFIG', 'SET', 'timeout', '0'), '+OK\r\n');
  }
  // the proxy's own idle connections may have gone the same way: it must still serve
  const c = await connect(proxyPort);
  c.write(cmd('PING') + cmd('SELECT', '1') + cmd('PING'));
  assert.deepEqual((await c.readFrames(3, 5000)).map(String), ['+PONG\r\n', '+OK\r\n', '+PONG\r\n']);
});

// ---------------------------------------------------------------- 3. client libraries reconnect and resend

function ioredis(name: string, db: number): Redis {
  const c = new Redis({
    host: '127.0.0.1',
    port: proxyPort,
    db,
    connectionName: name,
    lazyConnect: true,
    retryStrategy: () => 50,
    maxRetriesPerRequest: 5,
  });
  c.on('error', () => {}); // the reconnect is the point; failures surface through the commands
  cleanups.push(() => c.disconnect());
  return c;
}

/** Holds writes (and scripts) from reaching Redis for `ms`: they stay in flight, unanswered. */
async function pauseWrites(ms: number): Promise<void> {
  assert.equal(await direct('CLIENT', 'PAUSE', String(ms), 'WRITE'), '+OK\r\n');
}

test('ioredis through the proxy: a command in flight when CLIENT KILL hits its connection is resent and runs once, in db 3', T, async () => {
  await flushAll();
  const c = ioredis('ends-io-inflight', 3);
  await c.connect();
  assert.equal(await c.ping(), 'PONG');
  const firstId = await idOfName('ends-io-inflight');
  await pauseWrites(1500);
  try {
    let settled = false;
    const incr = c.incr('ends:io:n').finally(() => (settled = true));
    await sleep(200);
    assert.equal(settled, false, 'INCR must still be in flight (held by CLIENT PAUSE WRITE) when its connection is killed');
    await killByName('ends-io-inflight');
    assert.equal(await incr, 1, 'the resent INCR succeeds, and ran once');
  } finally {
    await direct('CLIENT', 'UNPAUSE');
  }
  assert.notEqual(await idOfName('ends-io-inflight'), firstId, 'ioredis reconnected');
  assert.equal(await direct('SELECT', '3'), '+OK\r\n');
  assert.equal(await direct('GET', 'ends:io:n'), '$1\r\n1\r\n', 'the key is in db 3');
  assert.equal(await direct('SELECT', '0'), '+OK\r\n');
  assert.equal(await direct('EXISTS', 'ends:io:n'), ':0\r\n', 'and not in db 0');
  assert.equal(await c.get('ends:io:n'), '1');
});

test('ioredis through the proxy: a pipeline with a script run by EVALSHA is re-run after a kill and succeeds', T, async () => {
  await flushAll();
  const c = ioredis('ends-io-script', 3) as Redis & { endsAdd(key: string, n: number): Promise<number> };
  c.defineCommand('endsAdd', { numberOfKeys: 1, lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])" });
  await c.connect();
  assert.equal(await c.endsAdd('ends:io:s', 1), 1); // loads the script: later calls are EVALSHA
  await pauseWrites(1500);
  let result: Array<[Error | null, unknown]> | null;
  try {
    let settled = false;
    const pipeline = c.pipeline() as ReturnType<Redis['pipeline']> & { endsAdd(key: string, n: number): unknown };
    pipeline.endsAdd('ends:io:s', 10);
    pipeline.set('ends:io:t', 'x');
    pipeline.get('ends:io:s');
    const p = pipeline.exec().finally(() => (settled = true));
    await sleep(200);
    assert.equal(settled, false, 'the pipeline must still be in flight when its connection is killed');
    await killByName('ends-io-script');
    result = await p;
  } finally {
    await direct('CLIENT', 'UNPAUSE');
  }
  assert.deepEqual(
    result?.map(([e, v]) => (e ? `ERR ${e.message}` : v)),
    [11, 'OK', '11'],
  );
  assert.equal(await direct('SELECT', '3'), '+OK\r\n');
  assert.equal(await direct('GET', 'ends:io:s'), '$2\r\n11\r\n', 'the script ran once, in db 3');
  assert.equal(await direct('SELECT', '0'), '+OK\r\n');
});

test('node-redis through the proxy: reconnects after a kill and its SUBSCRIBE is restored', T, async () => {
  const readies: number[] = [];
  const sub = createClient({ name: 'ends-nr-sub', socket: { host: '127.0.0.1', port: proxyPort, reconnectStrategy: () => 50 } });
  sub.on('error', () => {});
  sub.on('ready', () => readies.push(Date.now()));
  cleanups.push(() => void sub.destroy());
  const got: string[] = [];
  await sub.connect();
  await sub.subscribe('ends:ch', (msg) => got.push(msg));
  assert.equal(await direct('PUBLISH', 'ends:ch', 'before'), ':1\r\n');
  assert.ok((await waitFor(() => got.includes('before'), 2000)) >= 0, 'message before the kill');
  await killByName('ends-nr-sub');
  assert.ok((await waitFor(() => readies.length >= 2, 5000)) >= 0, 'node-redis must see the close and reconnect');
  // re-subscribing follows the reconnect: publish until it arrives
  const took = await waitFor(async () => {
    await direct('PUBLISH', 'ends:ch', 'after');
    return got.includes('after');
  }, 5000, 50);
  assert.ok(took >= 0, `a PUBLISH after the reconnect must reach the restored subscription; got ${JSON.stringify(got)}`);
  await sub.unsubscribe('ends:ch');
  sub.destroy();
});

// ---------------------------------------------------------------- 5. FIN with a blocked command

test('FIN with BLPOP pending through the proxy: +PONG, EOF, the block gone from Redis within 100 ms, a later LPUSH not consumed', T, async () => {
  await flushAll();
  const blocked = async () => (await clientList()).some((l) => / flags=[a-zA-Z]*b/.test(l) && l.includes('cmd=blpop'));
  assert.equal(await blocked(), false, 'nothing blocked before the test');
  const c = await connect(proxyPort);
  c.write(cmd('PING') + cmd('BLPOP', 'ends:fin', '0'));
  assert.ok((await waitFor(blocked, 2000)) >= 0, 'the BLPOP never blocked in Redis');
  c.end();
  const start = Date.now();
  const got = await untilClosed(c);
  assert.equal(got, '+PONG\r\n', 'the PING reply, then the connection closed');
  const gone = await waitFor(async () => !(await blocked()), 1000, 5);
  const ms = gone < 0 ? -1 : Date.now() - start;
  assert.ok(gone >= 0, 'a connection blocked in BLPOP is still in CLIENT LIST after 1 s');
  assert.ok(ms <= 100, `the blocked BLPOP left CLIENT LIST only after ${ms} ms (limit 100 ms)`);
  assert.equal(await direct('LPUSH', 'ends:fin', 'x'), ':1\r\n');
  assert.equal(await direct('LLEN', 'ends:fin'), ':1\r\n', 'nothing consumed the pushed element');
});

// ---------------------------------------------------------------- 6. differential: QUIT and FIN

interface EndCase {
  name: string;
  /** done before the conversation, on its own connection (e.g. to fill the proxy's cache) */
  prepare?: Array<[send: string, frames: number]>;
  /** each write, with the number of reply frames to read after it before the next one */
  steps: Array<[send: string, frames: number]>;
  /** shut down our sending side after the last step */
  fin: boolean;
  /** what Redis itself sends; checked on the direct run so that the case means what it says */
  expect: string;
  /** commands run directly on Redis afterwards, and their replies (the same on both sides) */
  check?: [commands: string[][], replies: string];
}

const inline = (...lines: string[]) => lines.map((l) => `${l}\r\n`).join('');

const CASES: EndCase[] = [
  { name: 'QUIT with PING pipelined after it: +OK, then close, no PONG', steps: [[inline('QUIT', 'PING'), 0]], fin: false, expect: '+OK\r\n<close>' },
  { name: 'PING then QUIT then PING, one write', steps: [[cmd('PING') + cmd('QUIT') + cmd('PING'), 0]], fin: false, expect: '+PONG\r\n+OK\r\n<close>' },
  { name: 'PING and FIN at once (printf | nc -N)', steps: [[inline('PING'), 0]], fin: true, expect: '+PONG\r\n<close>' },
  { name: 'SET k v, GET k, FIN', steps: [[cmd('SET', 'ends:k', 'v') + cmd('GET', 'ends:k'), 0]], fin: true, expect: '+OK\r\n$1\r\nv\r\n<close>' },
  {
    name: 'SET k v, GET k as separate writes, FIN after the replies',
    steps: [
      [cmd('SET', 'ends:k', 'v'), 1],
      [cmd('GET', 'ends:k'), 1],
    ],
    fin: true,
    expect: '+OK\r\n$1\r\nv\r\n<close>',
  },
  {
    name: 'a cached GET pipelined after QUIT is not answered',
    prepare: [[cmd('SET', 'ends:c', 'v') + cmd('GET', 'ends:c') + cmd('GET', 'ends:c'), 3]],
    steps: [[cmd('GET', 'ends:c') + cmd('QUIT') + cmd('GET', 'ends:c'), 0]],
    fin: false,
    expect: '$1\r\nv\r\n+OK\r\n<close>',
  },
  { name: 'SELECT 1, QUIT, PING in one write', steps: [[cmd('SELECT', '1') + cmd('QUIT') + cmd('PING'), 0]], fin: false, expect: '+OK\r\n+OK\r\n<close>' },
  { name: 'DEBUG SLEEP then PING, FIN: both replies, then close', steps: [[cmd('DEBUG', 'SLEEP', '0.2') + cmd('PING'), 0]], fin: true, expect: '+OK\r\n+PONG\r\n<close>' },
  {
    name: 'XREAD without BLOCK, FIN: its reply, then close (it carries the blocking flag, but does not block)',
    prepare: [[cmd('XADD', 'ends:x', '1-1', 'f', 'v'), 1]],
    steps: [[cmd('XREAD', 'STREAMS', 'ends:x', '0'), 0]],
    fin: true,
    expect: '*1\r\n*2\r\n$6\r\nends:x\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n<close>',
  },
  { name: 'PING, BLPOP, FIN: +PONG then close, the BLPOP abandoned', steps: [[cmd('PING') + cmd('BLPOP', 'ends:b', '0'), 0]], fin: true, expect: '+PONG\r\n<close>', check: [[['LPUSH', 'ends:b', 'x'], ['LLEN', 'ends:b']], ':1\r\n:1\r\n'] },
  {
    name: 'MULTI with a queued SET, FIN: the transaction is discarded',
    steps: [[cmd('MULTI') + cmd('SET', 'ends:m', 'v'), 2]],
    fin: true,
    expect: '+OK\r\n+QUEUED\r\n<close>',
    check: [[['EXISTS', 'ends:m']], ':0\r\n'],
  },
  { name: 'SUBSCRIBE then FIN', steps: [[cmd('SUBSCRIBE', 'ends:sub'), 1]], fin: true, expect: '*3\r\n$9\r\nsubscribe\r\n$8\r\nends:sub\r\n:1\r\n<close>' },
  { name: 'QUIT in a MULTI is answered at once and closes; the transaction is discarded', steps: [[cmd('MULTI') + cmd('SET', 'ends:q', 'v') + cmd('QUIT') + cmd('EXEC'), 0]], fin: false, expect: '+OK\r\n+QUEUED\r\n+OK\r\n<close>', check: [[['EXISTS', 'ends:q']], ':0\r\n'] },
];

async function playEnd(port: number, c: EndCase): Promise<{ bytes: string; check?: string }> {
  await flushAll();
  if (c.prepare) {
    const p = await connect(port);
    for (const [send, n] of c.prepare) {
      p.write(send);
      await p.readFrames(n);
    }
    p.destroy();
  }
  const conn = await connect(port);
  let out = '';
  for (const [send, n] of c.steps) {
    conn.write(send);
    if (n > 0) out += (await conn.readFrames(n, 3000)).map((f) => f.toString('latin1')).join('');
  }
  if (c.fin) conn.end();
  const rest = await untilClosed(conn, 3000);
  out += rest.includes('<still open') ? rest : `${rest}<close>`;
  // a blocked command must not linger: wait for Redis to have forgotten the connection
  await waitFor(async () => !(await clientList()).some((l) => l.includes('cmd=blpop') && / flags=[a-zA-Z]*b/.test(l)), 1000);
  let check: string | undefined;
  if (c.check) {
    check = '';
    for (const args of c.check[0]) check += await direct(...args);
  }
  return { bytes: out, check };
}

for (const c of CASES) {
  test(`differential, direct vs proxy: ${c.name}`, T, async () => {
    const d = await playEnd(redis.port, c);
    assert.equal(d.bytes, c.expect, `the case itself: Redis sent "${escapeBytes(Buffer.from(d.bytes, 'latin1'))}"`);
    if (c.check) assert.equal(d.check, c.check[1], 'the case itself: state after the direct run');
    const p = await playEnd(proxyPort, c);
    assert.equal(
      escapeBytes(Buffer.from(p.bytes, 'latin1')),
      escapeBytes(Buffer.from(d.bytes, 'latin1')),
      'through the proxy, byte for byte and close for close',
    );
    if (c.check) assert.equal(p.check, d.check, 'state after the run through the proxy');
  });
}

test('a client reset with MULTI open or WATCH active leaves nothing behind for other clients', T, async () => {
  await flushAll();
  const multi = await connect(proxyPort);
  multi.write(cmd('MULTI') + cmd('SET', 'ends:mm', 'v'));
  assert.deepEqual((await multi.readFrames(2)).map(String), ['+OK\r\n', '+QUEUED\r\n']);
  const watch = await connect(proxyPort);
  watch.write(cmd('WATCH', 'ends:w'));
  assert.equal(String(await watch.readFrame()), '+OK\r\n');
  multi.destroy(); // RST-like: gone without QUIT
  watch.destroy();
  await sleep(50);
  assert.equal(await direct('SET', 'ends:w', 'changed'), '+OK\r\n');
  // several plain clients, so that every shared connection is likely used at least once
  for (let i = 0; i < 6; i++) {
    const c = await connect(proxyPort);
    c.write(cmd('PING') + cmd('MULTI') + cmd('SET', 'ends:after', String(i)) + cmd('EXEC'));
    assert.deepEqual((await c.readFrames(4)).map(String), ['+PONG\r\n', '+OK\r\n', '+QUEUED\r\n', '*1\r\n+OK\r\n'], `client ${i}`);
    c.destroy();
  }
  assert.equal(await direct('EXISTS', 'ends:mm'), ':0\r\n', 'the abandoned transaction never ran');
});

// ---------------------------------------------------------------- 4. the proxy's own connections lost

/** ids of the unnamed connections on Redis other than the admin's: the proxy's shared connections (and any other of its unnamed ones) */
async function unnamedIds(): Promise<string[]> {
  const me = (await direct('CLIENT', 'ID')).slice(1, -2);
  return (await clientList())
    .filter((l) => l.includes(' name= ') && !l.startsWith(`id=${me} `))
    .map((l) => /^id=(\d+)/.exec(l)![1]);
}

test('a shared connection lost with a command in flight: that client sees EOF, an idle plain client is never given an error', T, async () => {
  await flushAll();
  const idle = await connect(proxyPort);
  idle.write(cmd('PING'));
  assert.equal(String(await idle.readFrame()), '+PONG\r\n');
  const busy = await connect(proxyPort);
  await pauseWrites(1500);
  try {
    busy.write(cmd('SET', 'ends:shared', 'v'));
    await sleep(200);
    assert.equal(busy.pending().length, 0, 'the SET must still be in flight');
    const ids = AGAINST === 'redis' ? [await idRunningSet()] : await unnamedIds();
    assert.ok(ids.length > 0, 'no shared connection found in CLIENT LIST');
    for (const id of ids) await direct('CLIENT', 'KILL', 'ID', id);
    const got = await untilClosed(busy);
    noProxyError(got, 'SET in flight on a shared connection');
    assert.equal(got, '', 'the client whose command was in flight sees EOF and nothing else');
  } finally {
    await direct('CLIENT', 'UNPAUSE');
  }
  assert.equal(await direct('EXISTS', 'ends:shared'), ':0\r\n', 'the killed SET never ran');
  if (!idle.closedYet) {
    idle.write(cmd('PING'));
    const r = await untilClosed(idle, 500);
    noProxyError(r, 'the idle plain client');
    if (r.includes('<still open')) assert.equal(r, '+PONG\r\n<still open after 500 ms>', 'the idle client, moved on, keeps working');
  }
});

/** ENDS_AGAINST=redis: the "shared connection" is the client's own, the one running SET */
async function idRunningSet(): Promise<string> {
  const line = (await clientList()).find((l) => l.includes('cmd=set'));
  assert.ok(line, 'no connection running SET');
  return /^id=(\d+)/.exec(line)![1];
}

test('CLIENT KILL of the invalidation link: a write made directly meanwhile is seen through the proxy once the link is back', T, async (t) => {
  if (AGAINST === 'redis') return t.skip('the proxy has a link; Redis has none');
  await flushAll();
  const c = await connect(proxyPort);
  c.write(cmd('SET', 'ends:link', 'one') + cmd('GET', 'ends:link') + cmd('GET', 'ends:link'));
  assert.deepEqual((await c.readFrames(3)).map(String), ['+OK\r\n', '$3\r\none\r\n', '$3\r\none\r\n']);
  const oldLink = await killByName('redisproxy-invalidation');
  assert.equal(await direct('SET', 'ends:link', 'two'), '+OK\r\n');
  const back = await waitFor(async () => {
    const line = (await clientList()).find((l) => l.includes(' name=redisproxy-invalidation '));
    return line !== undefined && !line.startsWith(`id=${oldLink} `);
  }, 5000, 20);
  assert.ok(back >= 0, 'the invalidation link did not come back within 5 s');
  let v = '';
  const seen = await waitFor(async () => {
    c.write(cmd('GET', 'ends:link'));
    v = String(await c.readFrame());
    return v === '$3\r\ntwo\r\n';
  }, 2000, 20);
  assert.ok(seen >= 0, `the proxy still serves ${JSON.stringify(v)} for a key written while its link was down`);
});

// ---------------------------------------------------------------- 4. CLIENT KILL ... SKIPME yes (last: it kills every normal connection)

test('CLIENT KILL TYPE normal SKIPME yes through the proxy: the other clients see EOF, the sender keeps working', T, async () => {
  await flushAll();
  const port = proxyPort;
  const plainA = await connect(port);
  plainA.write(cmd('PING'));
  assert.equal(String(await plainA.readFrame()), '+PONG\r\n');
  const plainB = await connect(port);
  plainB.write(cmd('SET', 'ends:kill', 'v') + cmd('GET', 'ends:kill'));
  assert.deepEqual((await plainB.readFrames(2)).map(String), ['+OK\r\n', '$1\r\nv\r\n']);
  const ownC = await connect(port);
  ownC.write(cmd('SELECT', '2') + cmd('PING'));
  assert.deepEqual((await ownC.readFrames(2)).map(String), ['+OK\r\n', '+PONG\r\n']);
  const ownD = await connect(port);
  ownD.write(cmd('SELECT', '1') + cmd('BLPOP', 'ends:kill:l', '0')); // blocked when the kill comes
  assert.equal(String(await ownD.readFrame()), '+OK\r\n');
  assert.ok((await waitFor(async () => (await clientList()).some((l) => l.includes('cmd=blpop')), 2000)) >= 0, 'BLPOP never blocked');

  const sender = await connect(port);
  sender.write(cmd('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
  const killed = String(await sender.readFrame());
  assert.match(killed, /^:\d+\r\n$/, 'CLIENT KILL answers with the number killed');
  assert.ok(Number(killed.slice(1)) >= 4, `at least the four other clients' connections were killed: ${killed}`);

  const others = await Promise.all([plainA, plainB, ownC, ownD].map((c) => untilClosed(c)));
  for (const [i, got] of others.entries()) {
    noProxyError(got, `client ${'ABCD'[i]}`);
    assert.equal(got, '', `client ${'ABCD'[i]} must see EOF and nothing else`);
  }
  sender.write(cmd('PING'));
  assert.equal(String(await sender.readFrame()), '+PONG\r\n', 'the sender keeps working');
  // and the proxy still serves new clients, reads and writes
  const fresh = await connect(port);
  fresh.write(cmd('SET', 'ends:kill', 'w') + cmd('GET', 'ends:kill') + cmd('GET', 'ends:kill'));
  assert.deepEqual((await fresh.readFrames(3)).map(String), ['+OK\r\n', '$1\r\nw\r\n', '$1\r\nw\r\n']);
});

// ---------------------------------------------------------------- Redis goes away (last: it stops Redis)

test('SHUTDOWN through the proxy: EOF and no reply, as directly; while Redis is down no invented error; then service resumes', T, async () => {
  const c = await connect(proxyPort);
  c.write(cmd('SHUTDOWN', 'NOSAVE'));
  const got = await untilClosed(c, 5000);
  noProxyError(got, 'SHUTDOWN');
  assert.equal(got, '', 'Redis closes the connection of a successful SHUTDOWN without a reply');
  // while Redis is down: refused, or accepted and closed, but never answered by the proxy itself
  for (let i = 0; i < 3; i++) {
    let c2: RawClient;
    try {
      c2 = await connect(proxyPort);
    } catch {
      continue; // refused: the client's own backoff applies
    }
    c2.write(cmd('PING'));
    const r = await untilClosed(c2, 3000);
    noProxyError(r, 'PING while Redis is down');
    assert.equal(r, '', 'a client while Redis is down sees its connection closed');
  }
  await redis.restart();
  adminConn = undefined;
  const up = await waitFor(async () => {
    try {
      const c3 = await connect(proxyPort);
      c3.write(cmd('SELECT', '1') + cmd('PING'));
      const r = (await c3.readFrames(2, 1000)).map(String);
      c3.destroy();
      return r[1] === '+PONG\r\n';
    } catch {
      return false;
    }
  }, 10_000, 100);
  assert.ok(up >= 0, 'the proxy serves again after Redis restarted');
});
