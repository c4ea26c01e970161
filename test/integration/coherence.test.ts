import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startRedis, sleep, proxyStats, eventually, startAdminProxy, type RedisServer, type ProxyProcess, type AdminProxy } from '../helpers/index.js';
import { client, whileFrozen } from './cache-helpers.js';

// Writes made by anyone else reach the cache through Redis's CLIENT TRACKING.

/** A proxy with an admin port and --ttl 3600 (the fixture waits for its link). */
function proxyFor(redis: RedisServer, args: string[] = [], addr?: string): Promise<AdminProxy> {
  return startAdminProxy(redis.port, { args: ['--ttl', '3600', ...(addr ? ['--addr', addr] : []), ...args] });
}

/** Cache `key` through c and prove it is served from the cache. */
async function cached(redis: RedisServer, c: Redis, key: string): Promise<void> {
  const v = await c.get(key);
  await c.get(key);
  assert.equal(await whileFrozen(redis, () => c.get(key)), v, `${key} is cached`);
}

describe('foreign writes', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  let c: Redis;
  let direct: Redis;
  const windows: number[] = [];
  before(async () => {
    redis = await startRedis({ args: ['--enable-debug-command', 'yes'] });
    ({ proxy, admin } = await proxyFor(redis));
    c = client(proxy.port);
    direct = client(redis.port);
    await Promise.all([c.ping(), direct.ping()]);
  });
  after(async () => {
    console.log(`# staleness window for foreign writes (ms): ${windows.map((w) => w.toFixed(2)).join(' ')}`);
    c.disconnect();
    direct.disconnect();
    await proxy.stop();
    await redis.stop();
  });

  const cases: [string, (d: Redis) => Promise<unknown>, string | null][] = [
    ['SET', (d) => d.set('f', 'new'), 'new'],
    ['DEL', (d) => d.del('f'), null],
    ['EXPIRE 0', (d) => d.expire('f', 0), null],
    ['RENAME away', (d) => d.rename('f', 'g'), null],
    ['FLUSHDB', (d) => d.flushdb(), null],
    ['FLUSHALL', (d) => d.flushall(), null],
    ['a Lua script', (d) => d.eval("return redis.call('SET', KEYS[1], 'lua')", 1, 'f'), 'lua'],
    ['MULTI/EXEC', (d) => d.multi().set('f', 'tx').exec(), 'tx'],
  ];
  for (const [name, write, expected] of cases) {
    test(`a direct ${name} is seen through the proxy within a bounded window`, async () => {
      await direct.set('f', 'old');
      await cached(redis, c, 'f');
      await write(direct);
      const ms = await eventually('GET f through c is the expected value', async () => (await c.get('f')) === expected, 1000, 0, { rethrow: true });
      windows.push(ms);
    });
  }

  test('a write in another database invalidates the key name in every database', async () => {
    await direct.set('x', 'db0');
    await cached(redis, c, 'x');
    const before = (await proxyStats(admin)).cache.invalidations;
    await direct.select(3);
    await direct.set('x', 'db3');
    await direct.select(0);
    // tracking has one key namespace: the db 0 entry is dropped too (conservative, never wrong)
    await eventually('an invalidation is counted', async () => (await proxyStats(admin)).cache.invalidations > before, 1000, 1, { rethrow: true });
    assert.equal(await c.get('x'), 'db0');
  });

  test('a key set with PX 200 is never served after it expired, even with active expiry off', async () => {
    await direct.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
    try {
      // t0 is taken when the SET's reply is back, so Redis ran the SET before t0 and the key
      // is gone there by t0 + 201 ms (Redis counts whole milliseconds and expires a key once
      // its clock is past the deadline). A t0 taken before the SET bounded nothing: on a slow
      // machine the SET can reach Redis milliseconds later, and the key live that much longer.
      await direct.set('px', 'short', 'PX', 200);
      const t0 = performance.now();
      await cached(redis, c, 'px');
      let servedFresh = 0;
      while (performance.now() - t0 < 400) {
        // what counts is when the GET was sent: one sent before the expiry may be answered just after it
        const sentAt = performance.now() - t0;
        const v = await c.get('px');
        if (sentAt > 201) assert.equal(v, null, `a GET sent ${sentAt.toFixed(1)} ms after the reply to the SET of a 200 ms key was served`);
        else if (v !== null) servedFresh++;
        // back to back around the deadline, so an entry that outlives the key by a millisecond is seen
        if (sentAt < 190 || sentAt > 230) await sleep(5);
      }
      assert.ok(servedFresh > 0, 'the key was served from the cache while it lived');
    } finally {
      await direct.call('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
    }
  });

  test('a key without expiry costs no extra round trip: its GET hit is served', async () => {
    await direct.set('noexp', 'v');
    await cached(redis, c, 'noexp');
  });
});

describe('losing the invalidation link', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  let direct: Redis;
  before(async () => {
    redis = await startRedis();
    ({ proxy, admin } = await proxyFor(redis));
    direct = client(redis.port);
    await direct.ping();
  });
  after(async () => {
    direct.disconnect();
    await proxy.stop();
    await redis.stop();
  });

  test('CLIENT KILL of the link empties the cache; a write meanwhile is never served stale', async () => {
    const c = client(proxy.port);
    await direct.set('l', 'old');
    await cached(redis, c, 'l');
    const list = (await direct.call('CLIENT', 'LIST')) as string;
    const line = list.split('\n').find((l) => l.includes('name=redisproxy-invalidation'));
    assert.ok(line, 'the link names itself');
    const id = /id=(\d+)/.exec(line)![1];
    await direct.call('CLIENT', 'KILL', 'ID', id);
    await direct.set('l', 'new');
    // The contract (§3.3, §3.5): a value may be stale only until the loss reaches the
    // proxy. The link's FIN and a GET sent right after can land in one poll of the event
    // loop, in either order, so the GET is asked once the proxy has seen the loss.
    await proxy.waitForOutput(/invalidation link lost/);
    assert.equal(await c.get('l'), 'new');
    await eventually('invalidation link up', async () => (await proxyStats(admin)).link!.state === 'up', 5000, 20, { rethrow: true });
    await cached(redis, c, 'l');
    await direct.set('l', 'newer');
    await eventually('GET l through c is newer', async () => (await c.get('l')) === 'newer', 1000, 1, { rethrow: true });
    c.disconnect();
  });

  test('a Redis restart (data gone) never lets the old value be served', async () => {
    const c = client(proxy.port);
    await direct.set('r', 'before-restart');
    await cached(redis, c, 'r');
    c.disconnect();
    const connects = (await proxyStats(admin)).link!.connects;
    await redis.kill();
    await redis.restart();
    // a link that is 'up' again, not the old one before the proxy noticed the kill
    await eventually('the link has reconnected and is up', async () => {
      const link = (await proxyStats(admin)).link!;
      return link.state === 'up' && link.connects > connects;
    }, 10_000, 50, { rethrow: true });
    const c2 = client(proxy.port);
    assert.equal(await c2.get('r'), null);
    c2.disconnect();
    await direct.ping().catch(() => undefined);
  });
});

describe('two proxies, one Redis', () => {
  let redis: RedisServer;
  let p1: ProxyProcess;
  let p2: ProxyProcess;
  before(async () => {
    redis = await startRedis();
    ({ proxy: p1 } = await proxyFor(redis));
    ({ proxy: p2 } = await proxyFor(redis));
  });
  after(async () => {
    await p1.stop();
    await p2.stop();
    await redis.stop();
  });

  test('a write through one proxy is seen through the other', async () => {
    const a = client(p1.port);
    const b = client(p2.port);
    await a.set('two', 'old');
    await cached(redis, b, 'two');
    await a.set('two', 'new');
    await eventually('GET two through b is new', async () => (await b.get('two')) === 'new', 1000, 0, { rethrow: true });
    a.disconnect();
    b.disconnect();
  });
});

describe('stress: readers through the proxy, writers directly on Redis', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    redis = await startRedis();
    ({ proxy, admin } = await proxyFor(redis, ['--capacity', '50']));
  });
  after(async () => {
    await proxy.stop();
    await redis.stop();
  });

  test('after writers stop and a short quiet period, every key read through the proxy equals Redis', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `hot:${i}`);
    const readers = Array.from({ length: 6 }, () => client(proxy.port));
    const writers = Array.from({ length: 3 }, () => client(redis.port));
    await Promise.all([...readers, ...writers].map((r) => r.ping()));
    let running = true;
    const deadline = Date.now() + 3000;
    const readLoops = readers.map(async (r) => {
      while (running) await r.get(keys[Math.floor(Math.random() * keys.length)]);
    });
    let writes = 0;
    const writeLoops = writers.map(async (w, wi) => {
      while (Date.now() < deadline) {
        const k = keys[Math.floor(Math.random() * keys.length)];
        const roll = Math.random();
        if (roll < 0.7) await w.set(k, `${wi}:${writes}`);
        else if (roll < 0.85) await w.del(k);
        else await w.incr(`${k}:n`).then(() => w.append(k, 'x'), () => undefined);
        writes++;
      }
    });
    await Promise.all(writeLoops);
    await sleep(200); // quiet period: invalidations in flight arrive
    running = false;
    await Promise.all(readLoops);
    const direct = writers[0];
    let stale = 0;
    for (const k of keys) {
      const want = await direct.get(k);
      for (const r of readers) if ((await r.get(k)) !== want) stale++;
    }
    const s = (await proxyStats(admin)).cache;
    console.log(`# stress: ${writes} direct writes, cache hits ${s.hits}, fills ${s.fills}, discarded fills ${s.fillsDiscarded}`);
    assert.equal(stale, 0, 'no stale entry survives');
    assert.ok(s.hits > 100, 'the cache was serving during the stress');
    [...readers, ...writers].forEach((r) => r.disconnect());
  });
});

describe('fallback when Redis will not track for the proxy', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  before(async () => {
    redis = await startRedis();
    await redis.cli('ACL', 'SETUSER', 'notrack', 'on', '>pw', '~*', '&*', '+@all', '-client');
    ({ proxy } = await proxyFor(redis, [], `redis://notrack:pw@127.0.0.1:${redis.port}`));
  });
  after(async () => {
    await proxy.stop();
    await redis.stop();
  });

  test('warns once, falls back to TTL-only coherence, and keeps serving', async () => {
    await proxy.waitForOutput(/falling back to TTL-only coherence/);
    assert.ok(!proxy.output().includes(':pw@'), 'the password never appears in logs');
    const c = client(proxy.port);
    await c.set('fb', 'v');
    await cached(redis, c, 'fb');
    c.disconnect();
  });
});

describe('the link survives Redis timeout', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  before(async () => {
    redis = await startRedis({ args: ['--timeout', '1'] });
    ({ proxy, admin } = await proxyFor(redis));
  });
  after(async () => {
    await proxy.stop();
    await redis.stop();
  });

  test('with timeout 1 the link stays up and keeps invalidating', async () => {
    await sleep(2500);
    assert.equal((await proxyStats(admin)).link!.state, 'up');
    assert.ok(!proxy.output().includes('invalidation link lost'));
    const c = client(proxy.port);
    const direct = client(redis.port);
    await direct.set('to', 'old');
    await cached(redis, c, 'to');
    await direct.set('to', 'new');
    await eventually('GET to through c is new', async () => (await c.get('to')) === 'new', 1000, 1, { rethrow: true });
    c.disconnect();
    direct.disconnect();
  });
});
