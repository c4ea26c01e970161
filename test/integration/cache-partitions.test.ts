import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { startRedis, startProxy, RawClient, cmd, proxyStats, startAdminProxy, type RedisServer, type ProxyProcess } from '../helpers/index.js';
import { client, whileFrozen, NOT_ANSWERED } from './cache-helpers.js';

// Whose entry is whose: databases, ACL users, and the connection states in which the
// cache must stand aside (MULTI, WATCH, the client's own tracking, replies off).

describe('partitions and connection state', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  let direct: Redis;
  before(async () => {
    redis = await startRedis();
    ({ proxy, admin } = await startAdminProxy(redis.port, { args: ['--ttl', '3600'] }));
    direct = client(redis.port);
    await direct.ping();
    await direct.call('ACL', 'SETUSER', 'alice', 'on', '>alicepw', '~allowed:*', '+@all');
    await direct.call('ACL', 'SETUSER', 'bob', 'on', '>bobpw', '~*', '+@all');
  });
  after(async () => {
    direct.disconnect();
    await proxy.stop();
    await redis.stop();
  });

  test("after SELECT 1 a client never sees db 0's entry for the same key name", async () => {
    await direct.set('same', 'db0');
    await direct.select(1);
    await direct.set('same', 'db1');
    await direct.select(0);
    const c = client(proxy.port);
    assert.equal(await c.get('same'), 'db0');
    assert.equal(await c.get('same'), 'db0');
    await c.select(1);
    assert.equal(await c.get('same'), 'db1');
    assert.equal(await c.get('same'), 'db1');
    await c.select(0);
    assert.equal(await c.get('same'), 'db0');
    // pipelined SELECT + GET: the GET must be answered for db 1
    const r = await c.pipeline().select(1).get('same').select(0).get('same').exec();
    assert.deepEqual(r?.map((x) => x[1]), ['OK', 'db1', 'OK', 'db0']);
    c.disconnect();
  });

  test('a failed SELECT does not move the client to another database', async () => {
    const c = client(proxy.port);
    await c.get('same');
    await assert.rejects(c.select(9999), /DB index/);
    assert.equal(await c.get('same'), 'db0');
    c.disconnect();
  });

  test('a user denied a key gets NOPERM even when another user cached it', async () => {
    await direct.set('secret:x', 'top');
    const bob = client(proxy.port, { username: 'bob', password: 'bobpw' });
    assert.equal(await bob.get('secret:x'), 'top');
    assert.equal(await bob.get('secret:x'), 'top');
    assert.equal(await whileFrozen(redis, () => bob.get('secret:x')), 'top', 'bob is served from the cache');
    const alice = client(proxy.port, { username: 'alice', password: 'alicepw' });
    await alice.ping();
    await assert.rejects(alice.get('secret:x'), /NOPERM/);
    await assert.rejects(alice.get('secret:x'), /NOPERM/);
    bob.disconnect();
    alice.disconnect();
  });

  test("after AUTH as another user, the client is only served that user's entries", async () => {
    await direct.set('allowed:1', 'a');
    const c = client(proxy.port); // default user
    assert.equal(await c.get('secret:x'), 'top');
    assert.equal(await c.get('secret:x'), 'top');
    await c.call('AUTH', 'alice', 'alicepw');
    await assert.rejects(c.get('secret:x'), /NOPERM/);
    assert.equal(await c.get('allowed:1'), 'a');
    // a failed AUTH keeps the current user
    await assert.rejects(c.call('AUTH', 'bob', 'wrong'), /WRONGPASS/);
    await assert.rejects(c.get('secret:x'), /NOPERM/);
    c.disconnect();
  });

  test('HELLO 3 ... AUTH switches user and protocol; a cached nil is sent as RESP3 null', async () => {
    const raw = await RawClient.connect(proxy.port);
    raw.write(cmd('GET', 'no-such-key'));
    assert.equal((await raw.readFrames(1))[0].toString(), '$-1\r\n');
    raw.write(cmd('GET', 'no-such-key'));
    assert.equal((await raw.readFrames(1))[0].toString(), '$-1\r\n');
    raw.write(cmd('HELLO', '3', 'AUTH', 'bob', 'bobpw'));
    await raw.readFrames(1);
    raw.write(cmd('GET', 'no-such-key'));
    assert.equal((await raw.readFrames(1))[0].toString(), '_\r\n');
    const r = await whileFrozen(redis, () => {
      raw.write(cmd('GET', 'no-such-key'));
      return raw.readFrames(1);
    });
    assert.notEqual(r, NOT_ANSWERED);
    assert.equal((r as Buffer[])[0].toString(), '_\r\n');
    raw.end();
  });

  test('RESET returns the client to db 0 and the default user', async () => {
    const c = client(proxy.port, { username: 'alice', password: 'alicepw' });
    await c.select(1);
    assert.equal(await c.call('RESET'), 'RESET');
    assert.equal(await c.get('same'), 'db0');
    assert.equal(await c.get('secret:x'), 'top');
    c.disconnect();
  });

  test('GET inside MULTI goes to Redis and does not fill', async () => {
    const c = client(proxy.port);
    await direct.set('tx', 'v1');
    const fills = (await proxyStats(admin)).cache.fills;
    const r = await c.multi().get('tx').get('tx').exec();
    assert.deepEqual(r, [
      [null, 'v1'],
      [null, 'v1'],
    ]);
    assert.equal((await proxyStats(admin)).cache.fills, fills);
    c.disconnect();
  });

  test('a client that WATCHes is not served from the cache', async () => {
    const c = client(proxy.port);
    await direct.set('w', '1');
    await c.get('w');
    await c.get('w');
    assert.equal(await whileFrozen(redis, () => c.get('w')), '1');
    await c.watch('w');
    assert.equal(await whileFrozen(redis, () => c.get('w')), NOT_ANSWERED);
    await c.unwatch();
    await c.get('w');
    assert.equal(await whileFrozen(redis, () => c.get('w')), '1', 'UNWATCH makes it cacheable again');
    c.disconnect();
  });

  test('WATCH + another connection modifying the key makes EXEC fail, as on Redis', async () => {
    const c = client(proxy.port);
    const other = client(proxy.port);
    await c.set('cas', '1');
    await c.watch('cas');
    assert.equal(await c.get('cas'), '1');
    await other.set('cas', '2');
    const r = await c.multi().set('cas', '3').exec();
    assert.equal(r, null);
    assert.equal(await c.get('cas'), '2');
    c.disconnect();
    other.disconnect();
  });

  test("a client with its own CLIENT TRACKING reads from Redis and gets its own invalidations", async () => {
    const raw = await RawClient.connect(proxy.port);
    raw.write(cmd('HELLO', '3'));
    await raw.readFrames(1);
    await direct.set('tk', 'a');
    raw.write(cmd('GET', 'tk'));
    await raw.readFrames(1); // fills the proxy cache
    raw.write(cmd('CLIENT', 'TRACKING', 'ON'));
    assert.equal((await raw.readFrames(1))[0].toString(), '+OK\r\n');
    raw.write(cmd('GET', 'tk'));
    assert.equal((await raw.readFrames(1))[0].toString(), '$1\r\na\r\n');
    await direct.set('tk', 'b');
    const push = (await raw.readFrames(1))[0].toString();
    assert.match(push, /^>2\r\n\$10\r\ninvalidate\r\n\*1\r\n\$2\r\ntk\r\n$/);
    let read: Promise<Buffer[]> | null = null;
    const r = await whileFrozen(redis, () => {
      raw.write(cmd('GET', 'tk'));
      read = raw.readFrames(1);
      return read;
    });
    assert.equal(r, NOT_ANSWERED, 'tracking client reads go to Redis');
    assert.equal(String((await read!)[0]), '$1\r\nb\r\n');
    raw.end();
  });

  test('CLIENT REPLY OFF / ON work and the cache is not used meanwhile', async () => {
    const raw = await RawClient.connect(proxy.port);
    raw.write(cmd('CLIENT', 'REPLY', 'OFF') + cmd('SET', 'ro', '1') + cmd('GET', 'ro') + cmd('CLIENT', 'REPLY', 'ON') + cmd('GET', 'ro'));
    const frames = await raw.readFrames(2);
    assert.deepEqual(frames.map(String), ['+OK\r\n', '$1\r\n1\r\n']);
    raw.write(cmd('CLIENT', 'REPLY', 'SKIP') + cmd('GET', 'ro') + cmd('PING'));
    assert.deepEqual((await raw.readFrames(1)).map(String), ['+PONG\r\n']);
    raw.end();
  });
});

describe('model: only the proxy writes, so its replies equal a direct Redis', () => {
  let viaProxy: RedisServer;
  let reference: RedisServer;
  let proxy: ProxyProcess;
  before(async () => {
    [viaProxy, reference] = await Promise.all([startRedis(), startRedis()]);
    proxy = await startProxy({ redisPort: viaProxy.port, args: ['--capacity', '5', '--ttl', '3600'] });
  });
  after(async () => {
    await proxy.stop();
    await Promise.all([viaProxy.stop(), reference.stop()]);
  });

  test('random GET/SET/DEL/EXPIRE/SELECT across three clients', async () => {
    const N = 3;
    const pc = Array.from({ length: N }, () => client(proxy.port));
    const rc = Array.from({ length: N }, () => client(reference.port));
    await Promise.all([...pc, ...rc].map((c) => c.ping()));
    const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g');
    const op = fc.oneof(
      { weight: 5, arbitrary: fc.tuple(fc.constant('get'), key) },
      { weight: 2, arbitrary: fc.tuple(fc.constant('set'), key, fc.string({ maxLength: 4 })) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('del'), key) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('expire'), key, fc.constantFrom('0', '100', '-1')) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('select'), fc.constantFrom('0', '1')) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('incr'), key) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: N - 1 }), op), { minLength: 1, maxLength: 60 }), async (steps) => {
        for (const c of [pc[0], rc[0]]) await c.flushall();
        for (const c of [...pc, ...rc]) await c.select(0);
        for (const [who, [name, ...args]] of steps) {
          const run = (c: Redis) =>
            c.call(name, ...args).then(
              (v) => v,
              (e: Error) => `error: ${e.message}`,
            );
          const [got, want] = await Promise.all([run(pc[who]), run(rc[who])]);
          assert.deepEqual(got, want, `${name} ${args.join(' ')} on client ${who}`);
        }
      }),
      { numRuns: 40 },
    );
    [...pc, ...rc].forEach((c) => c.disconnect());
  });
});
