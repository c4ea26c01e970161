// The README's "Try it" walk-through, through a raw socket with inline commands as nc sends
// them (lines ending in "\n" only), checking the exact reply bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, startProxy, startRedis, type ProxyProcess, type RedisServer } from '../helpers/index.js';

let redis: RedisServer;
let proxy: ProxyProcess;

before(async () => {
  redis = await startRedis();
  proxy = await startProxy({ redisPort: redis.port });
});

after(async () => {
  await proxy?.stop();
  await redis?.stop();
});

/** sends one inline line and returns the reply frame as a latin1 string */
async function say(c: RawClient, line: string): Promise<string> {
  c.write(line);
  return (await c.readFrame(3000)).toString('latin1');
}

test('README walk-through, line by line as nc sends it: PING, SET name, GET name, GET age (nil), HSET/HGETALL myhash', { timeout: 20_000 }, async () => {
  assert.equal(await redis.cli('FLUSHALL'), 'OK\n');
  const c = await RawClient.connect(proxy.port);
  try {
    assert.equal(await say(c, 'PING\n'), '+PONG\r\n');
    assert.equal(await say(c, 'SET name alice\n'), '+OK\r\n');
    assert.equal(await say(c, 'GET name\n'), '$5\r\nalice\r\n');
    assert.equal(await say(c, 'GET age\n'), '$-1\r\n');
    assert.equal(await say(c, 'HSET myhash field1 hello field2 world\n'), ':2\r\n');
    assert.equal(await say(c, 'HGETALL myhash\n'), '*4\r\n$6\r\nfield1\r\n$5\r\nhello\r\n$6\r\nfield2\r\n$5\r\nworld\r\n');
    assert.equal((await c.readBytes(2000, 100)).length, 0, 'nothing else arrives');
  } finally {
    c.destroy();
  }
});

test('walk-through with name, age and myhash set up first: GET name, GET age, HGETALL myhash, twice, exact bytes', { timeout: 20_000 }, async () => {
  assert.equal(await redis.cli('FLUSHALL'), 'OK\n');
  const setup = await RawClient.connect(proxy.port);
  try {
    assert.equal(await say(setup, 'PING\r\n'), '+PONG\r\n');
    assert.equal(await say(setup, 'SET name alice\r\n'), '+OK\r\n');
    assert.equal(await say(setup, 'SET age 42\r\n'), '+OK\r\n');
    assert.equal(await say(setup, 'HSET myhash field1 hello field2 world\r\n'), ':2\r\n');
  } finally {
    setup.destroy();
  }

  const expected = ['$5\r\nalice\r\n', '$2\r\n42\r\n', '*4\r\n$6\r\nfield1\r\n$5\r\nhello\r\n$6\r\nfield2\r\n$5\r\nworld\r\n'];
  const c = await RawClient.connect(proxy.port);
  try {
    for (let round = 1; round <= 2; round++) {
      assert.deepEqual(
        [await say(c, 'GET name\r\n'), await say(c, 'GET age\r\n'), await say(c, 'HGETALL myhash\r\n')],
        expected,
        `round ${round}`,
      );
    }
    // the same three inline commands in one write give the same bytes, in order
    c.write('GET name\r\nGET age\r\nHGETALL myhash\r\n');
    assert.deepEqual(
      (await c.readFrames(3, 3000)).map((f) => f.toString('latin1')),
      expected,
    );
    assert.equal((await c.readBytes(2000, 100)).length, 0, 'nothing else arrives');
  } finally {
    c.destroy();
  }
});

test('README claim: a repeated GET name is answered from the cache (Redis frozen, the reply still comes)', { timeout: 20_000 }, async () => {
  const c = await RawClient.connect(proxy.port);
  try {
    // as in the README: the value is written through the proxy, then read twice
    assert.equal(await say(c, 'SET name alice\n'), '+OK\r\n');
    assert.equal(await say(c, 'GET name\n'), '$5\r\nalice\r\n');
    redis.freeze();
    try {
      assert.equal(await say(c, 'GET name\n'), '$5\r\nalice\r\n');
      // and a command the cache cannot answer really does wait for Redis
      c.write('INCR counter\n');
      await assert.rejects(c.readFrame(300), /timed out/);
    } finally {
      redis.thaw();
    }
    assert.equal((await c.readFrame(3000)).toString('latin1'), ':1\r\n');
  } finally {
    c.destroy();
  }
});
