import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startRedis, sleep, proxyStats, startAdminProxy, type RedisServer, type ProxyProcess } from '../helpers/index.js';
import { client, whileFrozen, NOT_ANSWERED } from './cache-helpers.js';

// Writes through the proxy invalidate at once. These run with --coherence ttl so that
// Redis's tracking cannot rescue a missed invalidation: only the proxy's own count.

describe('writes through the proxy (no tracking)', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  let writer: Redis;
  let reader: Redis;
  let direct: Redis;
  before(async () => {
    redis = await startRedis();
    ({ proxy, admin } = await startAdminProxy(redis.port, { args: ['--coherence', 'ttl', '--ttl', '3600'] }));
    writer = client(proxy.port);
    reader = client(proxy.port);
    direct = client(redis.port);
    await Promise.all([writer.ping(), reader.ping(), direct.ping()]);
  });
  after(async () => {
    writer.disconnect();
    reader.disconnect();
    direct.disconnect();
    await proxy.stop();
    await redis.stop();
  });

  /** Cache `key` through the reader (and prove it is cached), run the write, then read through the reader. */
  async function afterWrite(keys: string[], setup: () => Promise<unknown>, write: () => Promise<unknown>): Promise<void> {
    await writer.flushall(); // through the proxy: in ttl-only mode a direct write would not reach its cache
    await setup();
    for (const k of keys) {
      await reader.get(k).catch(() => undefined);
      await reader.get(k).catch(() => undefined);
    }
    await write().catch(() => undefined);
    for (const k of keys) {
      const expected = await direct.get(k).then(
        (v) => v,
        (e: Error) => `error: ${e.message}`,
      );
      const got = await reader.get(k).then(
        (v) => v,
        (e: Error) => `error: ${e.message}`,
      );
      assert.equal(got, expected, `key ${k}`);
    }
  }

  test('the reader really is served from the cache before the write', async () => {
    await writer.set('k', 'old');
    await reader.get('k');
    assert.equal(await whileFrozen(redis, () => reader.get('k')), 'old');
  });

  const cases: [string, string[], (w: Redis) => Promise<unknown>][] = [
    ['SET', ['k'], (w) => w.set('k', 'new')],
    ['INCR', ['n'], (w) => w.incr('n')],
    ['APPEND', ['k'], (w) => w.append('k', '+')],
    ['DEL', ['k'], (w) => w.del('k')],
    ['UNLINK', ['k'], (w) => w.unlink('k')],
    ['EXPIRE 0 (deletes)', ['k'], (w) => w.expire('k', 0)],
    ['PEXPIRE then expiry', ['k'], async (w) => {
      await w.pexpire('k', 30);
      await sleep(60);
    }],
    ['RENAME (source)', ['k', 'k2'], (w) => w.rename('k', 'k2')],
    ['RENAME (destination)', ['k2'], (w) => w.rename('k', 'k2')],
    ['MSET', ['k', 'k2'], (w) => w.mset('k', 'm1', 'k2', 'm2')],
    ['GETDEL', ['k'], (w) => w.getdel('k')],
    ['GETEX PX', ['k'], async (w) => {
      await w.getex('k', 'PX', 30);
      await sleep(60);
    }],
    ['SETRANGE', ['k'], (w) => w.setrange('k', 1, 'XY')],
    ['LPUSH on a deleted string key', ['k'], async (w) => {
      await w.del('k');
      await w.lpush('k', 'x');
    }],
    ['EVAL with declared keys', ['k'], (w) => w.eval("return redis.call('SET', KEYS[1], 'lua')", 1, 'k')],
    ['EVAL without declared keys', ['k'], (w) => w.eval("return redis.call('SET', 'k', 'lua0')", 0)],
    ['MULTI/EXEC', ['k', 'n'], (w) => w.multi().set('k', 'tx').incr('n').exec()],
    ['FLUSHDB', ['k', 'k2'], (w) => w.flushdb()],
    ['FLUSHALL', ['k'], (w) => w.flushall()],
    ['SWAPDB', ['k'], async (w) => {
      const w1 = client(proxy.port, { db: 1 });
      await w1.set('k', 'from-db1');
      w1.disconnect();
      await w.swapdb(0, 1);
    }],
    ['MOVE', ['k'], (w) => w.move('k', 1)],
    ['COPY onto a cached key', ['k2'], (w) => w.copy('k', 'k2', 'REPLACE')],
    ['COPY ... DB', ['k'], async (w) => {
      await w.copy('k', 'k', 'DB', 1);
      await direct.select(1);
      const v = await direct.get('k');
      await direct.select(0);
      assert.equal(v, 'old');
    }],
    ['SORT ... STORE', ['k2'], async (w) => {
      await w.rpush('l', '3', '1');
      await w.sort('l', 'STORE', 'k2');
    }],
  ];
  for (const [name, keys, write] of cases) {
    test(`${name} through one connection is never followed by the old value on another`, async () => {
      await afterWrite(
        keys,
        async () => {
          await writer.mset('k', 'old', 'k2', 'old2', 'n', '5');
        },
        () => write(writer),
      );
    });
  }

  test('a SWAPDB through the proxy is seen by a reader of the other database', async () => {
    await writer.flushall();
    await writer.set('s', 'db0');
    const r1 = client(proxy.port, { db: 1 });
    await r1.ping();
    assert.equal(await r1.get('s'), null);
    await r1.get('s');
    await writer.swapdb(0, 1);
    assert.equal(await r1.get('s'), 'db0');
    r1.disconnect();
  });

  test('the writer itself reads its own writes, pipelined', async () => {
    await writer.set('own', '0');
    await writer.get('own');
    for (let i = 1; i <= 50; i++) {
      const r = await writer.pipeline().set('own', String(i)).get('own').incr('own').get('own').exec();
      assert.equal(r?.[1][1], String(i));
      assert.equal(r?.[3][1], String(i + 1));
    }
  });

  test('after the write reply, a GET started by any client returns the new value (many rounds)', async () => {
    await writer.set('race', '0');
    for (let i = 1; i <= 200; i++) {
      // the reader keeps the old value hot in the cache while the write is in flight
      const hammer = Promise.all([reader.get('race'), reader.get('race'), reader.get('race')]);
      await writer.set('race', String(i));
      assert.equal(await reader.get('race'), String(i));
      await hammer;
    }
    const s = (await proxyStats(admin)).cache;
    assert.ok(s.hits > 0, 'the cache was in use during the race');
  });

  test('the empty key is a key like any other: its writes drop it and release it', async () => {
    await writer.set('', 'e1');
    await reader.get('');
    assert.equal(await whileFrozen(redis, () => reader.get('')), 'e1', 'cached');
    await writer.set('', 'e2');
    assert.equal(await reader.get(''), 'e2');
    await reader.get('');
    assert.equal(await whileFrozen(redis, () => reader.get('')), 'e2', 'cached again once the write is answered');
  });

  test('a one-key write in any case, lower or mixed, drops the key', async () => {
    await writer.set('case', 'old');
    await reader.get('case');
    await writer.call('sEt', 'case', 'new');
    assert.equal(await reader.get('case'), 'new');
    await writer.call('incrby', 'case-n', '2');
    await reader.get('case-n');
    await writer.call('IncrBy', 'case-n', '3');
    assert.equal(await reader.get('case-n'), '5');
  });

  test('a write to an unrelated key does not drop a cached one', async () => {
    await writer.set('keep', 'v');
    await reader.get('keep');
    await writer.set('other', 'x');
    assert.equal(await whileFrozen(redis, () => reader.get('keep')), 'v');
  });

  test('a write made directly on Redis is NOT seen in ttl-only mode (documented weaker mode)', async () => {
    await writer.set('ttlmode', 'old');
    await reader.get('ttlmode');
    await direct.set('ttlmode', 'new');
    assert.equal(await reader.get('ttlmode'), 'old');
    assert.notEqual(await whileFrozen(redis, () => reader.get('ttlmode')), NOT_ANSWERED);
  });
});
