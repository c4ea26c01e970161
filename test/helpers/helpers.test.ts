// Checks the harness itself against a direct redis-server (no proxy involved).
import { readFileSync } from 'node:fs';
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  cmd,
  conversation,
  describeDifference,
  eventually,
  frameEnd,
  getFreePort,
  proxyStats,
  RawClient,
  startAdminProxy,
  RespFrameError,
  splitFrames,
  startRedis,
  withTimeout,
  type RedisServer,
} from './index.js';

let redis: RedisServer;
before(async () => {
  redis = await startRedis({ args: ['--enable-debug-command', 'yes'] });
});
after(async () => {
  await redis?.stop();
});

const SAMPLE_FRAMES = [
  '+OK\r\n',
  '-ERR bad\r\n',
  ':-42\r\n',
  '$5\r\nab\r\nc\r\n',
  '$0\r\n\r\n',
  '$-1\r\n',
  '*-1\r\n',
  '*0\r\n',
  '*2\r\n$1\r\na\r\n*1\r\n:1\r\n',
  '_\r\n',
  ',3.14\r\n',
  ',inf\r\n',
  '#t\r\n',
  '(3492890328409238509324850943850943825024385\r\n',
  '!9\r\nSYNTAX x\n\r\n',
  '=15\r\ntxt:Some string\r\n',
  '%2\r\n+a\r\n:1\r\n+b\r\n%1\r\n+c\r\n~1\r\n_\r\n',
  '~2\r\n:1\r\n:2\r\n',
  '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n',
  '|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.1923\r\n*2\r\n:2039123\r\n:9543892\r\n',
  '*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:7\r\n',
  '$?\r\n;4\r\nHell\r\n;1\r\no\r\n;0\r\n',
  '*?\r\n:1\r\n:2\r\n.\r\n',
  '%?\r\n+a\r\n:1\r\n.\r\n',
];

test('frame splitter: each sample frame is exactly one frame, at every split point', () => {
  for (const f of SAMPLE_FRAMES) {
    const b = Buffer.from(f, 'latin1');
    assert.equal(frameEnd(b, 0), b.length, `whole frame ${JSON.stringify(f)}`);
    for (let cut = 0; cut < b.length; cut++) {
      assert.equal(frameEnd(b.subarray(0, cut), 0), -1, `prefix of ${cut} bytes of ${JSON.stringify(f)} is incomplete`);
    }
  }
  const all = Buffer.from(SAMPLE_FRAMES.join(''), 'latin1');
  const { frames, rest } = splitFrames(all);
  assert.deepEqual(
    frames.map((f) => f.toString('latin1')),
    SAMPLE_FRAMES,
  );
  assert.equal(rest.length, 0);
});

test('frame splitter: rejects bytes that are not RESP', () => {
  assert.throws(() => frameEnd(Buffer.from('x\r\n'), 0), RespFrameError);
  assert.throws(() => frameEnd(Buffer.from('$abc\r\n'), 0), RespFrameError);
  assert.throws(() => frameEnd(Buffer.from('$1\r\nab\r\n'), 0), RespFrameError);
  assert.throws(() => frameEnd(Buffer.from('*-2\r\n'), 0), RespFrameError);
});

test('cmd() encodes byte strings as multibulk and refuses non-byte strings', () => {
  assert.equal(cmd('SET', 'k\r\n\0', '\xff'), '*3\r\n$3\r\nSET\r\n$4\r\nk\r\n\0\r\n$1\r\n\xff\r\n');
  assert.throws(() => cmd('é€'));
});

test('getFreePort returns a bindable port; withTimeout rejects late promises', async () => {
  const port = await getFreePort();
  assert.ok(port > 0 && port < 65536);
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  await new Promise<void>((r) => srv.close(() => r()));
  await assert.rejects(withTimeout(new Promise(() => {}), 20, 'never'), /never: timed out after 20 ms/);
  assert.equal(await withTimeout(Promise.resolve(7), 20, 'now'), 7);
});

test('getFreePort: ports below the ephemeral range, never the same twice, never one in use', async () => {
  const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/)[0]);
  // hold many ports at once, as a cluster test does: each must be new and free
  const held: net.Server[] = [];
  const ports = new Set<number>();
  try {
    for (let i = 0; i < 200; i++) {
      const port = await getFreePort();
      assert.ok(port >= 15_000 && port < ephemeralStart, `port ${port} is below ${ephemeralStart}`);
      assert.ok(!ports.has(port), `port ${port} handed out twice`);
      ports.add(port);
      const srv = net.createServer();
      await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', resolve));
      held.push(srv);
    }
  } finally {
    await Promise.all(held.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  }
});

test('RawClient: exact frame counts from a pipelined write, RESP3 types and attributes', async () => {
  const c = await RawClient.connect(redis.port);
  c.write('PING\r\n' + cmd('SET', 'a', '1') + cmd('GET', 'a') + cmd('GET', 'missing') + cmd('MGET', 'a', 'missing'));
  const frames = await c.readFrames(5);
  assert.deepEqual(
    frames.map((f) => f.toString('latin1')),
    ['+PONG\r\n', '+OK\r\n', '$1\r\n1\r\n', '$-1\r\n', '*2\r\n$1\r\n1\r\n$-1\r\n'],
  );
  c.write(cmd('HELLO', '3'));
  const [hello] = await c.readFrames(1);
  assert.match(hello.toString('latin1'), /^%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n/);
  c.write(cmd('DEBUG', 'PROTOCOL', 'attrib') + cmd('DEBUG', 'PROTOCOL', 'bignum') + cmd('DEBUG', 'PROTOCOL', 'verbatim'));
  const [attrib, bignum, verbatim] = await c.readFrames(3);
  assert.match(attrib.toString('latin1'), /^\|1\r\n/);
  assert.match(bignum.toString('latin1'), /^\(\d+\r\n$/);
  assert.match(verbatim.toString('latin1'), /^=\d+\r\ntxt:/);
  c.end();
  await c.closed();
});

test('RawClient: a 2 MB reply split over many packets is one frame; nothing more is read', async () => {
  const c = await RawClient.connect(redis.port);
  const big = 'x'.repeat(2 * 1024 * 1024);
  c.write(cmd('SET', 'big', big) + cmd('GET', 'big'));
  const [ok, value] = await c.readFrames(2);
  assert.equal(ok.toString(), '+OK\r\n');
  assert.equal(value.length, `$${big.length}\r\n`.length + big.length + 2);
  assert.equal((await c.readBytes(1000, 50)).length, 0);
  c.destroy();
});

test('RawClient: readFrames times out with the partial bytes; readBytes and closed() after QUIT', async () => {
  const c = await RawClient.connect(redis.port);
  c.write('PING\r\n');
  await assert.rejects(c.readFrames(2, 200), /timed out after 200 ms with 1 of 2 frames.*\+PONG/s);
  c.write('QUIT\r\n');
  const rest = await c.readBytes(2000);
  assert.equal(rest.toString(), '+PONG\r\n+OK\r\n');
  await withTimeout(c.closed(), 2000, 'server closes after QUIT');
  assert.equal(c.closedYet, true);
});

test('conversation: counts replies, detects close, flags missing and extra bytes', async () => {
  const ok = await conversation(redis.port, [
    ['SET k v\r\nGET k\r\n', 2],
    { conn: 'b', send: 'GET k\r\n', expect: 1 },
    ['QUIT\r\n', 'close'],
  ]);
  assert.equal(ok.toString(), '+OK\r\n$1\r\nv\r\n$1\r\nv\r\n+OK\r\n');
  const extra = await conversation(redis.port, [['PING\r\nPING\r\n', 1]]);
  assert.equal(extra.toString(), '+PONG\r\n\n<<extra bytes on conn a>>\n+PONG\r\n');
  const missing = await conversation(redis.port, [['PING\r\n', 2]], { timeoutMs: 200 });
  assert.match(missing.toString(), /^\+PONG\r\n\n<<step 0 conn a: timed out/);
  const notClosed = await conversation(redis.port, [['PING\r\n', 'close']], { timeoutMs: 200 });
  assert.match(notClosed.toString(), /^\+PONG\r\n\n<<step 0 conn a: server did not close/);
  assert.match(describeDifference(ok, extra), /first difference at byte 1 \(expected 24 bytes, got 41\)/);
});

test('RedisServer: cli(), freeze/thaw, kill and restart on the same port', async () => {
  const r = await startRedis();
  try {
    assert.equal(await r.cli('SET', 'x', '1'), 'OK\n');
    assert.equal(await r.cli('GET', 'x'), '1\n');
    const port = r.port;
    const firstPid = r.pid;

    const c = await RawClient.connect(port);
    r.freeze();
    c.write('PING\r\n');
    await assert.rejects(c.readFrames(1, 300), /timed out/);
    r.thaw();
    assert.equal((await c.readFrames(1)).toString(), '+PONG\r\n');

    await r.kill();
    await withTimeout(c.closed(), 2000, 'client sees the killed server go');
    await assert.rejects(RawClient.connect(port), /ECONNREFUSED/);

    await r.restart();
    assert.equal(r.port, port);
    assert.notEqual(r.pid, firstPid);
    assert.equal(await r.cli('GET', 'x'), '\n', 'a restarted server (no persistence) is empty');
    await r.stop();
    await assert.rejects(RawClient.connect(port), /ECONNREFUSED/);
    await r.restart();
    assert.equal(await r.cli('PING'), 'PONG\n');
  } finally {
    await r.kill();
  }
});

test('startRedis passes extra args and reports a server that cannot start', async () => {
  const r = await startRedis({ args: ['--requirepass', 'sekret'] });
  try {
    assert.match(await r.cli('GET', 'x'), /NOAUTH/);
    assert.equal(await r.cli('-a', 'sekret', '--no-auth-warning', 'PING'), 'PONG\n');
  } finally {
    await r.stop();
  }
  await assert.rejects(startRedis({ args: ['--no-such-option', 'x'] }), /exited .*Output:[\s\S]*no-such-option/i);
});

test('eventually: resolves once true, names what did not happen, retries or rethrows errors', async () => {
  let n = 0;
  const ms = await eventually('third call', () => ++n >= 3, 1000, 1);
  assert.equal(n, 3);
  assert.ok(ms >= 0 && ms < 1000);
  await assert.rejects(eventually('never', () => false, 30, 5), /^Error: never: not true within 30 ms$/);
  let calls = 0;
  const flaky = () => {
    if (++calls < 3) throw new Error('not yet');
    return true;
  };
  await eventually('flaky', flaky, 1000, 1);
  assert.equal(calls, 3, 'errors count as "not yet" by default');
  calls = 0;
  await assert.rejects(eventually('flaky', flaky, 1000, 1, { rethrow: true }), /not yet/);
  assert.equal(calls, 1, 'rethrow: the first error fails at once');
  await assert.rejects(eventually('broken', () => { throw new Error('boom'); }, 30, 5), /broken: not true within 30 ms \(last error: boom\)/);
});

test('startAdminProxy: returns once the link is up; proxyStats reads /stats', async () => {
  const p = await startAdminProxy(redis.port, { args: ['--ttl', '60'] });
  try {
    const s = await proxyStats(p.admin);
    assert.equal(s.link?.state, 'up');
    assert.equal(typeof s.cache.hits, 'number');
    assert.equal(s.redis.reachable, true);
    assert.equal((await fetch(p.url('/readyz'))).status, 200);
  } finally {
    await p.proxy.stop();
  }
});
