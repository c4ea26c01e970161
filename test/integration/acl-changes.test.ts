import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, sleep, RawClient, cmd, proxyStats, startAdminProxy, type RedisServer, type ProxyProcess } from '../helpers/index.js';

// Contract §2.3: a value is only served to a client Redis itself would serve it to. Redis
// checks permissions at every command, so a change of ACL rules (or of the default user's
// password) must reach the cache: through the proxy at once, made directly on Redis
// within about a second (the link reads ACL LIST every second).

describe('ACL and password changes', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  let direct: RawClient;
  /** fn with a client of the proxy; afterwards, whatever happened, Redis needs no password again */
  const withClientThenNoPassword = async (fn: (c: RawClient) => Promise<void>) => {
    const c = await RawClient.connect(proxy.port);
    try {
      await fn(c);
    } finally {
      await direct.ask('CONFIG', 'SET', 'requirepass', '');
      c.destroy();
    }
  };
  /** one command from a client that connects just now */
  const askNewClient = async (...args: string[]) => {
    const c = await RawClient.connect(proxy.port);
    try {
      return await c.ask(...args);
    } finally {
      c.destroy();
    }
  };
  /** until `want` comes back for GET key through a new read each time; returns the ms it took */
  const until = async (c: RawClient, key: string, want: RegExp, ms: number): Promise<number> => {
    const t0 = Date.now();
    for (;;) {
      const got = await c.ask('GET', key);
      if (want.test(got)) return Date.now() - t0;
      if (Date.now() - t0 > ms) assert.fail(`GET ${key} still answered ${JSON.stringify(got)} after ${ms} ms`);
      await sleep(25);
    }
  };
  before(async () => {
    redis = await startRedis();
    ({ proxy, admin } = await startAdminProxy(redis.port, { args: ['--ttl', '3600'] }));
    direct = await RawClient.connect(redis.port);
  });
  after(async () => {
    direct?.destroy();
    await proxy?.stop();
    await redis?.stop();
  });

  test('ACL SETUSER through the proxy: the next GET of a cached key gets NOPERM, as on Redis', async () => {
    const c = await RawClient.connect(proxy.port);
    try {
      assert.equal(await c.ask('SET', 'acl:k', 'v'), '+OK\r\n');
      assert.equal(await c.ask('GET', 'acl:k'), '$1\r\nv\r\n');
      const hits = (await proxyStats(admin)).cache.hits;
      assert.equal(await c.ask('GET', 'acl:k'), '$1\r\nv\r\n');
      assert.equal((await proxyStats(admin)).cache.hits, hits + 1, 'it was cached');
      assert.equal(await c.ask('ACL', 'SETUSER', 'default', '-get'), '+OK\r\n');
      assert.match(await c.ask('GET', 'acl:k'), /^-NOPERM /);
      assert.equal(await c.ask('ACL', 'SETUSER', 'default', '+get'), '+OK\r\n');
      assert.equal(await c.ask('GET', 'acl:k'), '$1\r\nv\r\n');
    } finally {
      c.destroy();
    }
  });

  test('ACL SETUSER made directly on Redis: within seconds the proxy stops serving what the user may no longer read', async () => {
    assert.equal(await direct.ask('ACL', 'SETUSER', 'alice', 'on', '>alicepw', '~acl:*', '+@all'), '+OK\r\n');
    const c = await RawClient.connect(proxy.port);
    try {
      assert.equal(await c.ask('AUTH', 'alice', 'alicepw'), '+OK\r\n');
      assert.equal(await c.ask('SET', 'acl:alice', 'secret'), '+OK\r\n');
      assert.equal(await c.ask('GET', 'acl:alice'), '$6\r\nsecret\r\n');
      assert.equal(await c.ask('GET', 'acl:alice'), '$6\r\nsecret\r\n');
      assert.equal(await direct.ask('ACL', 'SETUSER', 'alice', 'resetkeys', '~other:*'), '+OK\r\n');
      const ms = await until(c, 'acl:alice', /^-NOPERM /, 3000);
      console.log(`# a direct ACL change reached the cache in ${ms} ms`);
    } finally {
      c.destroy();
      await direct.ask('ACL', 'DELUSER', 'alice');
    }
  });

  test('CONFIG SET requirepass through the proxy: a client that connects right after is asked to AUTH, as on Redis', async () => {
    await withClientThenNoPassword(async (setter) => {
      assert.equal(await setter.ask('SET', 'acl:pw', 'v'), '+OK\r\n');
      assert.equal(await setter.ask('CONFIG', 'SET', 'requirepass', 'newpw'), '+OK\r\n');
      const fresh = await RawClient.connect(proxy.port);
      try {
        fresh.write(cmd('GET', 'acl:pw') + cmd('SET', 'acl:pw', 'w'));
        const [a, b] = (await fresh.readFrames(2)).map((f) => f.toString('latin1'));
        assert.match(a, /^-NOAUTH /);
        assert.match(b, /^-NOAUTH /);
      } finally {
        fresh.destroy();
      }
      // (a connection made before the change stays authenticated, on Redis as through the proxy)
      assert.equal(await direct.ask('GET', 'acl:pw'), '$1\r\nv\r\n', 'the refused SET did not run');
    });
  });

  test('a client let in before Redis required a password keeps working after, as its own connection to Redis would', async () => {
    await withClientThenNoPassword(async (early) => {
      assert.equal(await early.ask('SET', 'acl:early', 'v'), '+OK\r\n');
      assert.equal(await direct.ask('CONFIG', 'SET', 'requirepass', 'pw2'), '+OK\r\n');
      await sleep(1300); // past the pool's probe and the link's ACL LIST
      assert.equal(await early.ask('PING'), '+PONG\r\n');
      assert.equal(await early.ask('GET', 'acl:early'), '$1\r\nv\r\n');
      assert.equal(await early.ask('INCR', 'acl:n'), ':1\r\n');
      assert.match(await askNewClient('GET', 'acl:early'), /^-NOAUTH /, 'a new client must AUTH');
    });
  });

  test('a password set inside MULTI/EXEC through the proxy also applies at once to the next new client', async () => {
    await withClientThenNoPassword(async (setter) => {
      setter.write(cmd('MULTI') + cmd('CONFIG', 'SET', 'requirepass', 'pw3'));
      assert.deepEqual((await setter.readFrames(2)).map(String), ['+OK\r\n', '+QUEUED\r\n']);
      await sleep(100); // (the QUEUED reply must not be taken for the change)
      assert.equal(await setter.ask('EXEC'), '*1\r\n+OK\r\n');
      assert.match(await askNewClient('SET', 'acl:multi', 'w'), /^-NOAUTH /);
    });
  });

  test('many ACL changes in one pipeline make one or two probes, not a connection each', async () => {
    const info = async () => Number(/total_connections_received:(\d+)/.exec(await direct.ask('INFO', 'stats'))?.[1]);
    const before = await info();
    const c = await RawClient.connect(proxy.port);
    try {
      c.write(cmd('ACL', 'SETUSER', 'default', 'on').repeat(200));
      const replies = await c.readFrames(200);
      assert.ok(replies.every((r) => r.toString() === '+OK\r\n'));
      await sleep(300);
    } finally {
      c.destroy();
    }
    const opened = (await info()) - before;
    assert.ok(opened < 10, `${opened} connections to Redis for 200 ACL SETUSER`);
  });

  test('an ACL LIST answered -BUSY (a long script) does not stop the proxy watching ACL changes', async () => {
    assert.equal(await direct.ask('ACL', 'SETUSER', 'carol', 'on', '>carolpw', '~acl:*', '+@all'), '+OK\r\n');
    const c = await RawClient.connect(proxy.port);
    const busy = await RawClient.connect(redis.port);
    try {
      assert.equal(await c.ask('AUTH', 'carol', 'carolpw'), '+OK\r\n');
      assert.equal(await c.ask('SET', 'acl:carol', 'v'), '+OK\r\n');
      assert.equal(await c.ask('GET', 'acl:carol'), '$1\r\nv\r\n');
      assert.equal(await direct.ask('CONFIG', 'SET', 'busy-reply-threshold', '100'), '+OK\r\n');
      busy.write(cmd('EVAL', 'while true do end', '0'));
      await sleep(1500); // the link's ACL LIST gets -BUSY at least once
      assert.equal(await direct.ask('SCRIPT', 'KILL'), '+OK\r\n');
      assert.match((await busy.readFrame()).toString(), /^-ERR Error running script|^-ERR.*killed/i);
      assert.equal(await direct.ask('ACL', 'SETUSER', 'carol', 'resetkeys', '~other:*'), '+OK\r\n');
      await until(c, 'acl:carol', /^-NOPERM /, 4000);
    } finally {
      busy.destroy();
      c.destroy();
      await direct.ask('CONFIG', 'SET', 'busy-reply-threshold', '5000');
      await direct.ask('ACL', 'DELUSER', 'carol');
    }
  });
});
