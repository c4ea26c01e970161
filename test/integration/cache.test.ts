import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startRedis, sleep, proxyStats, startAdminProxy, type RedisServer, type ProxyProcess } from '../helpers/index.js';
import { client, whileFrozen, NOT_ANSWERED } from './cache-helpers.js';

// The GET cache, black box: a hit is proven by an answer while Redis is frozen (SIGSTOP),
// a miss by no answer until it thaws.

describe('cache basics', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  let c: Redis;
  before(async () => {
    redis = await startRedis();
    ({ proxy, admin } = await startAdminProxy(redis.port, { args: ['--capacity', '3', '--ttl', '3600'] }));
    c = client(proxy.port);
    await c.ping();
  });
  after(async () => {
    c.disconnect();
    await proxy.stop();
    await redis.stop();
  });

  test('a repeated GET is answered from the cache while Redis is frozen', async () => {
    await c.set('hot', 'value');
    assert.equal(await c.get('hot'), 'value'); // fills
    const r = await whileFrozen(redis, () => c.get('hot'));
    assert.equal(r, 'value');
  });

  test('a GET for a key not in the cache waits for Redis', async () => {
    const r = await whileFrozen(redis, () => c.get('never-read'));
    assert.equal(r, NOT_ANSWERED);
    await c.ping();
  });

  test('a missing key is cached as nil too', async () => {
    assert.equal(await c.get('absent'), null);
    assert.equal(await whileFrozen(redis, () => c.get('absent')), null);
  });

  test('least recently used key is evicted at --capacity 3', async () => {
    await c.flushdb();
    await c.mset('a', '1', 'b', '2', 'c', '3', 'd', '4');
    await c.get('a');
    await c.get('b');
    await c.get('c');
    await c.get('a'); // b is now the least recently used
    await c.get('d'); // evicts b
    const before = (await proxyStats(admin)).cache;
    assert.equal(before.entries, 3);
    assert.equal(await whileFrozen(redis, () => c.get('a')), '1');
    assert.equal(await whileFrozen(redis, () => c.get('d')), '4');
    assert.equal(await whileFrozen(redis, () => c.get('b')), NOT_ANSWERED);
    await c.ping();
    assert.ok((await proxyStats(admin)).cache.evictions >= 1);
  });

  test('an error reply (WRONGTYPE) is never cached', async () => {
    await c.del('list');
    await c.lpush('list', 'x');
    await assert.rejects(c.get('list'), /WRONGTYPE/);
    const fills = (await proxyStats(admin)).cache.fills;
    await assert.rejects(c.get('list'), /WRONGTYPE/);
    assert.equal((await proxyStats(admin)).cache.fills, fills);
    assert.equal(await whileFrozen(redis, () => c.get('list').catch((e: Error) => e.message)), NOT_ANSWERED);
    await c.ping();
  });

  test('a pipelined SET then GET sees the SET, even when the old value was cached', async () => {
    await c.set('p', 'old');
    assert.equal(await c.get('p'), 'old');
    const res = await c.pipeline().set('p', 'new').get('p').exec();
    assert.deepEqual(res, [
      [null, 'OK'],
      [null, 'new'],
    ]);
  });

  test('a cache hit behind a slow command waits its turn', async () => {
    await c.set('h', 'v');
    await c.get('h');
    // BLPOP blocks 0.2 s; the hit queued behind it must come after it
    const order: string[] = [];
    const p1 = c.blpop('empty-list', 0.2).then(() => order.push('blpop'));
    const p2 = c.get('h').then(() => order.push('get'));
    await Promise.all([p1, p2]);
    assert.deepEqual(order, ['blpop', 'get']);
  });
});

describe('cache ttl', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let c: Redis;
  before(async () => {
    redis = await startRedis();
    ({ proxy } = await startAdminProxy(redis.port, { args: ['--capacity', '100', '--ttl', '0.2'] }));
    c = client(proxy.port);
    await c.ping();
  });
  after(async () => {
    c.disconnect();
    await proxy.stop();
    await redis.stop();
  });

  test('after --ttl 0.2 an entry is a miss and Redis is asked again', async () => {
    await c.set('t', '1');
    await c.get('t');
    assert.equal(await whileFrozen(redis, () => c.get('t'), 100), '1');
    await sleep(250);
    assert.equal(await whileFrozen(redis, () => c.get('t')), NOT_ANSWERED);
    await c.ping();
  });
});

describe('cache off', () => {
  let redis: RedisServer;
  let proxy: ProxyProcess;
  let admin: number;
  let c: Redis;
  before(async () => {
    redis = await startRedis();
    ({ proxy, admin } = await startAdminProxy(redis.port, { args: ['--capacity', '0'] }));
    c = client(proxy.port);
    await c.ping();
  });
  after(async () => {
    c.disconnect();
    await proxy.stop();
    await redis.stop();
  });

  test('--capacity 0 serves nothing from a cache and opens no invalidation link', async () => {
    await c.set('k', 'v');
    await c.get('k');
    await c.get('k');
    assert.equal(await whileFrozen(redis, () => c.get('k')), NOT_ANSWERED);
    await c.ping();
    const s = await proxyStats(admin);
    assert.equal((s.cache as unknown as { enabled: boolean }).enabled, false);
    assert.equal(s.link, null);
    const clients = await redis.cli('CLIENT', 'LIST');
    assert.ok(!clients.includes('redisproxy-invalidation'), 'no tracking connection');
  });
});
